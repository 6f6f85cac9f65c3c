package blocks

import "github.com/tpugen/tpugen/arch"

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

func (l *layout) add(name string, width, lanes int, signed bool) Field {
	f := Field{Name: name, LSB: l.next, Width: width, Lanes: lanes, Signed: signed}
	l.fields = append(l.fields, f)
	l.next += width * lanes
	return f
}
