package blocks

// Field is one part of a stream payload: Lanes consecutive elements of Width
// bits starting at bit LSB (lane k at LSB + k*Width).
type Field struct {
	Name   string `json:"name"`
	LSB    int    `json:"lsb"`
	Width  int    `json:"width"`
	Lanes  int    `json:"lanes"`
	Signed bool   `json:"signed"`
}

// StreamPort describes a valid/ready stream of a top module and how its
// payload is laid out, so drivers outside Go can pack and unpack it.
type StreamPort struct {
	Name   string  `json:"name"`
	Dir    string  `json:"dir"` // "in" (driven by the host) or "out"
	Valid  string  `json:"valid"`
	Ready  string  `json:"ready"`
	Data   string  `json:"data"`
	Width  int     `json:"width"`
	Fields []Field `json:"fields"`
}

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
