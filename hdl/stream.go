package hdl

// Stream is a valid/ready handshake carrying Data: a transfer happens on a
// clock edge where Valid and Ready are both 1 (Fire).
type Stream struct {
	Valid, Ready, Data *Expr
}

// Fire is Valid && Ready.
func (s Stream) Fire() *Expr { return s.Valid.And(s.Ready) }

// InStream declares an input stream: name_valid and name_data are inputs,
// name_ready is a combinational output.
func (m *Module) InStream(name string, s Shape) Stream {
	pos := callerPos()
	return Stream{
		Valid: m.newSignal(name+"_valid", Input, U(1), pos).ref,
		Ready: m.newSignal(name+"_ready", Output, U(1), pos).ref,
		Data:  m.newSignal(name+"_data", Input, s, pos).ref,
	}
}

// OutStream declares an output stream: name_valid and name_data are
// combinational outputs, name_ready is an input.
func (m *Module) OutStream(name string, s Shape) Stream {
	pos := callerPos()
	return Stream{
		Valid: m.newSignal(name+"_valid", Output, U(1), pos).ref,
		Ready: m.newSignal(name+"_ready", Input, U(1), pos).ref,
		Data:  m.newSignal(name+"_data", Output, s, pos).ref,
	}
}
