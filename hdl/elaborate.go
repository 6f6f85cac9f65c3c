package hdl

// Design is an elaborated, checked module hierarchy.
type Design struct {
	Top *Module
	// Modules lists every distinct module once, submodules before their parents.
	Modules []*Module
	// Warnings are diagnostics that do not stop elaboration (unused signals).
	Warnings Diagnostics

	combPaths map[*Module]map[*Signal][]*Signal // output port -> inputs it depends on combinationally
}

// Pass is one check run over every module of an elaborated design.
type Pass interface {
	Name() string
	Check(d *Design, m *Module) Diagnostics
}

// Passes returns the default check passes in the order they run.
func Passes() []Pass {
	return []Pass{scopePass{}, widthPass{}, driverPass{}, undrivenPass{}, latchPass{}, loopPass{}, unusedPass{}}
}

// Elaborate collects the hierarchy under top and runs the default passes. It
// returns every error found (as Diagnostics); warnings go to Design.Warnings.
func Elaborate(top *Module) (*Design, error) {
	return ElaborateWith(top, Passes())
}

// ElaborateWith is Elaborate with an explicit pass list.
func ElaborateWith(top *Module, passes []Pass) (*Design, error) {
	d := &Design{Top: top, combPaths: map[*Module]map[*Signal][]*Signal{}}
	seen := map[*Module]bool{}
	var visit func(m *Module)
	visit = func(m *Module) {
		if seen[m] {
			return
		}
		seen[m] = true
		for _, inst := range m.instances {
			visit(inst.sub)
		}
		// Submodules with registers need the parent to provide clock and reset.
		for _, inst := range m.instances {
			if inst.sub.clock != nil {
				m.ensureClock()
			}
			if inst.sub.reset != nil && inst.rst == nil {
				m.ensureReset()
			}
			if inst.rst != nil && inst.sub.reset == nil {
				m.errorf(inst.rstAt, "build", "instance %q: Reset on module %q, which has no reset", inst.name, inst.sub.name)
			}
		}
		d.Modules = append(d.Modules, m)
	}
	visit(top)

	var all Diagnostics
	for _, m := range d.Modules {
		all = append(all, *m.diags...)
	}
	if len(all.Errors()) == 0 {
		for _, p := range passes {
			for _, m := range d.Modules {
				all = append(all, p.Check(d, m)...)
			}
			if len(all.Errors()) > 0 {
				// Later passes assume earlier invariants (e.g. loops assume
				// well-formed drivers), so stop at the first failing pass.
				break
			}
		}
	}
	d.Warnings = all.Warnings().sorted()
	if errs := all.Errors(); len(errs) > 0 {
		return d, errs.sorted()
	}
	return d, nil
}

// walkExpr calls f on every signal read by e.
func walkExpr(e *Expr, f func(*Signal)) {
	if e == nil {
		return
	}
	if e.op == OpSignal {
		f(e.sig)
		return
	}
	for _, a := range e.args {
		walkExpr(a, f)
	}
}

// WalkExpr calls f on every signal read by e (each occurrence).
func WalkExpr(e *Expr, f func(*Signal)) { walkExpr(e, f) }

// walkStmts visits every statement, passing the conditions that guard it
// (if conditions and switch subjects), outermost first.
func walkStmts(stmts []*Stmt, guards []*Expr, f func(s *Stmt, guards []*Expr)) {
	for _, s := range stmts {
		f(s, guards)
		switch s.Kind {
		case StmtIf:
			g := guards
			for i, b := range s.Blocks {
				if i < len(s.Conds) {
					g = append(g[:len(g):len(g)], s.Conds[i])
				}
				walkStmts(b, g, f)
			}
		case StmtSwitch:
			g := append(guards[:len(guards):len(guards)], s.Subject)
			for _, b := range s.Blocks {
				walkStmts(b, g, f)
			}
		}
	}
}

// walkReads calls f on every signal the statement itself reads (not its
// nested statements): sources, conditions, subjects, memory operands.
func (s *Stmt) walkReads(f func(*Signal)) {
	for _, e := range []*Expr{s.Src, s.Subject, s.Addr, s.Data} {
		walkExpr(e, f)
	}
	for _, c := range s.Conds {
		walkExpr(c, f)
	}
}

// reads calls f on every signal module m reads anywhere.
func (m *Module) reads(f func(*Signal)) {
	walkStmts(m.body, nil, func(s *Stmt, _ []*Expr) { s.walkReads(f) })
	for _, mem := range m.mems {
		for _, r := range mem.reads {
			walkExpr(r.Addr, f)
			walkExpr(r.En, f)
		}
	}
	for _, inst := range m.instances {
		for _, p := range inst.order {
			walkExpr(inst.ins[p], f)
		}
		if inst.rst != nil {
			walkExpr(inst.rst, f)
		}
	}
}
