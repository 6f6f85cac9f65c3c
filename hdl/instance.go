package hdl

// Instance is a submodule placed in a parent module. Ports are bound by
// signal, never by name string.
type Instance struct {
	name  string
	sub   *Module
	pos   Pos
	m     *Module
	ins   map[*Signal]*Expr // sub input port -> parent expression
	inPos map[*Signal]Pos
	outs  map[*Signal]*Signal // sub output port -> parent wire
	order []*Signal           // binding order, for deterministic emission
	rst   *Expr               // the sub's reset, when not the parent's own
	rstAt Pos
}

// Name returns the instance name.
func (i *Instance) Name() string { return i.name }

// Module returns the instantiated module.
func (i *Instance) Module() *Module { return i.sub }

// Pos returns where the instance was created.
func (i *Instance) Pos() Pos { return i.pos }

// Input returns the parent expression bound to a sub input port, or nil.
func (i *Instance) Input(port *Signal) *Expr { return i.ins[port] }

// Output returns the parent wire driven by a sub output port, or nil.
func (i *Instance) Output(port *Signal) *Signal { return i.outs[port] }

// ResetExpr returns the expression driving the sub's reset, or nil when the
// sub takes the parent's reset.
func (i *Instance) ResetExpr() *Expr { return i.rst }

// Reset drives the sub's reset from value (a u1 of the parent) instead of
// the parent's own reset, so part of a design can be reset on its own.
func (i *Instance) Reset(value *Expr) {
	pos := callerPos()
	if i.rst != nil {
		i.m.errorf(pos, "drivers", "instance %q: reset bound twice", i.name)
		return
	}
	if value.shape != U(1) {
		i.m.errorf(pos, "widths", "instance %q: reset is u1 but the bound value is %s", i.name, value.shape)
		return
	}
	i.rst, i.rstAt = value, pos
}

// Instance places sub in m under name.
func (m *Module) Instance(name string, sub *Module) *Instance {
	pos := callerPos()
	if !validIdent(name) {
		m.errorf(pos, "build", "instance name %q is not a valid identifier", name)
	}
	inst := &Instance{name: name, sub: sub, pos: pos, m: m, ins: map[*Signal]*Expr{}, inPos: map[*Signal]Pos{}, outs: map[*Signal]*Signal{}}
	m.instances = append(m.instances, inst)
	return inst
}

// In binds the sub input port to value (shapes must match).
func (i *Instance) In(port, value *Expr) {
	pos := callerPos()
	if port.op != OpSignal || port.sig.m != i.sub || port.sig.kind != Input {
		i.m.errorf(pos, "build", "instance %q: In needs an input port of module %q", i.name, i.sub.name)
		return
	}
	if _, dup := i.ins[port.sig]; dup {
		i.m.errorf(pos, "drivers", "instance %q: input %q bound twice", i.name, port.sig.name)
		return
	}
	if port.shape != value.shape {
		i.m.errorf(pos, "widths", "instance %q: input %q is %s but the bound value is %s", i.name, port.sig.name, port.shape, value.shape)
	}
	i.ins[port.sig] = value
	i.inPos[port.sig] = pos
	i.order = append(i.order, port.sig)
}

// Out returns a parent wire driven by the sub output port.
func (i *Instance) Out(port *Expr) *Expr {
	pos := callerPos()
	if port.op != OpSignal || port.sig.m != i.sub || port.sig.kind != Output {
		i.m.errorf(pos, "build", "instance %q: Out needs an output port of module %q", i.name, i.sub.name)
		return i.m.Const(0, port.shape)
	}
	if w, ok := i.outs[port.sig]; ok {
		return w.ref
	}
	w := i.m.newSignal(i.name+"_"+port.sig.name, Wire, port.shape, pos)
	i.outs[port.sig] = w
	i.order = append(i.order, port.sig)
	return w.ref
}
