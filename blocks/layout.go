package blocks

import (
	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/hdl"
)

// Field and StreamPort are the manifest's payload layouts (arch), so the
// generator writes exactly what drivers read.
type (
	Field      = arch.Field
	StreamPort = arch.Layout
)

// layout accumulates fields from bit 0 upwards.
type layout struct {
	fields []Field
	next   int
}

// payloadField is a field as a builder keeps it: layout.add returns it and
// the builder slices payloads by it, so no field is ever looked up by name
// (a misspelt name would only fail when the hardware is built). A field the
// configuration leaves out is the zero payloadField; slicing by it is a
// builder error that Elaborate reports.
type payloadField struct{ Field }

func (l *layout) add(name string, width, lanes int, signed bool) payloadField {
	f := Field{Name: name, LSB: l.next, Width: width, Lanes: lanes, Signed: signed}
	l.fields = append(l.fields, f)
	l.next += width * lanes
	return payloadField{f}
}

// lane returns lane k of the field in data, signed if the field is.
func (f payloadField) lane(data *hdl.Expr, k int) *hdl.Expr {
	lo := f.LSB + k*f.Width
	e := data.Slice(lo+f.Width-1, lo)
	if f.Signed {
		e = e.AsSigned()
	}
	return e
}

// of returns a one-lane field in data, signed if the field is.
func (f payloadField) of(data *hdl.Expr) *hdl.Expr { return f.lane(data, 0) }

// bits returns the field's bits in data (every lane) as they are, unsigned.
func (f payloadField) bits(data *hdl.Expr) *hdl.Expr {
	return data.Slice(f.LSB+f.Width*f.Lanes-1, f.LSB)
}
