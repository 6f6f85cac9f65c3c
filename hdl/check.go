package hdl

import (
	"fmt"
	"strings"
)

func diag(pos Pos, sev Severity, pass, format string, a ...any) Diagnostic {
	return Diagnostic{Pos: pos, Severity: sev, Pass: pass, Msg: fmt.Sprintf(format, a...)}
}

// scopePass: every signal a module reads or assigns belongs to that module.
type scopePass struct{}

func (scopePass) Name() string { return "scope" }

func (scopePass) Check(d *Design, m *Module) Diagnostics {
	var ds Diagnostics
	reported := map[*Signal]bool{}
	check := func(pos Pos) func(*Signal) {
		return func(s *Signal) {
			if s.m != m && !reported[s] {
				reported[s] = true
				ds = append(ds, diag(pos, Error, "scope", "signal %q of module %q used in module %q", s.name, s.m.name, m.name))
			}
		}
	}
	walkStmts(m.body, nil, func(s *Stmt, _ []*Expr) { s.walkReads(check(s.Pos)) })
	for _, inst := range m.instances {
		for _, p := range inst.order {
			walkExpr(inst.ins[p], check(inst.pos))
		}
		if inst.rst != nil {
			walkExpr(inst.rst, check(inst.rstAt))
		}
	}
	return ds
}

// widthPass: assignments and conditions have exactly the shapes they need.
type widthPass struct{}

func (widthPass) Name() string { return "widths" }

func (widthPass) Check(d *Design, m *Module) Diagnostics {
	var ds Diagnostics
	walkStmts(m.body, nil, func(s *Stmt, _ []*Expr) {
		switch s.Kind {
		case StmtSet:
			if s.Dst.shape != s.Src.shape {
				ds = append(ds, diag(s.Pos, Error, "widths", "assignment to %s %q of shape %s from an expression of shape %s (widen or narrow explicitly: Ext, Trunc, AsSigned)", s.Dst.kind, s.Dst.name, s.Dst.shape, s.Src.shape))
			}
		case StmtIf:
			for _, c := range s.Conds {
				if c.Width() != 1 {
					ds = append(ds, diag(s.Pos, Error, "widths", "if condition is %s, want u1", c.shape))
				}
			}
		}
	})
	return ds
}

// driverPass: each signal has exactly one kind of driver.
type driverPass struct{}

func (driverPass) Name() string { return "drivers" }

func (driverPass) Check(d *Design, m *Module) Diagnostics {
	var ds Diagnostics
	top := map[*Signal]*Stmt{}    // first unconditional top-level assignment
	anySet := map[*Signal]*Stmt{} // first assignment anywhere
	for _, s := range m.body {
		if s.Kind != StmtSet {
			continue
		}
		if prev, ok := top[s.Dst]; ok {
			ds = append(ds, diag(s.Pos, Error, "drivers", "%s %q has multiple drivers: assigned unconditionally at %s and again here", s.Dst.kind, s.Dst.name, prev.Pos))
			continue
		}
		top[s.Dst] = s
	}
	walkStmts(m.body, nil, func(s *Stmt, _ []*Expr) {
		if s.Kind != StmtSet {
			return
		}
		if s.Dst.kind == Input {
			ds = append(ds, diag(s.Pos, Error, "drivers", "input %q is driven from outside the module and cannot be assigned", s.Dst.name))
		}
		if s.Dst.mem != nil {
			ds = append(ds, diag(s.Pos, Error, "drivers", "%q is driven by memory %q's read port and cannot be assigned", s.Dst.name, s.Dst.mem.name))
		}
		if _, ok := anySet[s.Dst]; !ok {
			anySet[s.Dst] = s
		}
	})
	instDriven := map[*Signal]*Instance{}
	for _, inst := range m.instances {
		for _, p := range inst.order {
			w, ok := inst.outs[p]
			if !ok {
				continue
			}
			if prev, dup := instDriven[w]; dup {
				ds = append(ds, diag(inst.pos, Error, "drivers", "wire %q has multiple drivers: instances %q (%s) and %q", w.name, prev.name, prev.pos, inst.name))
			}
			instDriven[w] = inst
			if s, ok := anySet[w]; ok {
				ds = append(ds, diag(s.Pos, Error, "drivers", "wire %q has multiple drivers: instance %q output %q (%s) and this assignment", w.name, inst.name, p.name, inst.pos))
			}
		}
	}
	return ds
}

// undrivenPass: outputs, wires and registers are assigned; instance inputs are bound.
type undrivenPass struct{}

func (undrivenPass) Name() string { return "undriven" }

func (undrivenPass) Check(d *Design, m *Module) Diagnostics {
	var ds Diagnostics
	driven := map[*Signal]bool{}
	walkStmts(m.body, nil, func(s *Stmt, _ []*Expr) {
		if s.Kind == StmtSet {
			driven[s.Dst] = true
		}
	})
	for _, inst := range m.instances {
		for _, w := range inst.outs {
			driven[w] = true
		}
		for _, p := range inst.sub.Ports() {
			if p.kind == Input && p != inst.sub.clock && p != inst.sub.reset {
				if _, ok := inst.ins[p]; !ok {
					ds = append(ds, diag(inst.pos, Error, "undriven", "instance %q of %q: input %q is not bound", inst.name, inst.sub.name, p.name))
				}
			}
		}
	}
	for _, s := range m.signals {
		if s.kind == Input || s.mem != nil || driven[s] {
			continue
		}
		ds = append(ds, diag(s.pos, Error, "undriven", "%s %q is never assigned", s.kind, s.name))
	}
	return ds
}

// latchPass: a combinational signal assigned procedurally must be assigned on
// every path, otherwise synthesis infers a latch.
type latchPass struct{}

func (latchPass) Name() string { return "latches" }

func assignedOnAllPaths(stmts []*Stmt, sig *Signal) bool {
	for _, s := range stmts {
		switch s.Kind {
		case StmtSet:
			if s.Dst == sig {
				return true
			}
		case StmtIf, StmtSwitch:
			if !s.HasElse {
				continue
			}
			all := true
			for _, b := range s.Blocks {
				if !assignedOnAllPaths(b, sig) {
					all = false
					break
				}
			}
			if all {
				return true
			}
		}
	}
	return false
}

func (latchPass) Check(d *Design, m *Module) Diagnostics {
	var ds Diagnostics
	first := map[*Signal]*Stmt{}
	var order []*Signal
	walkStmts(m.body, nil, func(s *Stmt, _ []*Expr) {
		if s.Kind == StmtSet && !s.Dst.reg {
			if _, ok := first[s.Dst]; !ok {
				first[s.Dst] = s
				order = append(order, s.Dst)
			}
		}
	})
	for _, sig := range order {
		if !assignedOnAllPaths(m.body, sig) {
			ds = append(ds, diag(first[sig].Pos, Error, "latches", "combinational %s %q is not assigned on every path (a latch); assign a default before the If/Switch or add Else/Default", sig.kind, sig.name))
		}
	}
	return ds
}

// loopPass: no combinational cycles, including through instances.
type loopPass struct{}

func (loopPass) Name() string { return "loops" }

func (loopPass) Check(d *Design, m *Module) Diagnostics {
	deps := map[*Signal][]*Signal{} // signal -> signals it depends on combinationally
	where := map[*Signal]Pos{}
	add := func(dst *Signal, pos Pos, e *Expr) {
		if _, ok := where[dst]; !ok {
			where[dst] = pos
		}
		walkExpr(e, func(s *Signal) { deps[dst] = append(deps[dst], s) })
	}
	walkStmts(m.body, nil, func(s *Stmt, guards []*Expr) {
		if s.Kind != StmtSet || s.Dst.reg {
			return
		}
		add(s.Dst, s.Pos, s.Src)
		for _, g := range guards {
			add(s.Dst, s.Pos, g)
		}
	})
	for _, inst := range m.instances {
		paths := d.combPaths[inst.sub]
		for _, p := range inst.order {
			w, ok := inst.outs[p]
			if !ok {
				continue
			}
			for _, in := range paths[p] {
				add(w, inst.inPos[in], inst.ins[in])
			}
		}
	}

	var ds Diagnostics
	const (
		white = iota
		grey
		black
	)
	color := map[*Signal]int{}
	var stack []*Signal
	var visit func(s *Signal) bool
	visit = func(s *Signal) bool {
		color[s] = grey
		stack = append(stack, s)
		for _, t := range deps[s] {
			switch color[t] {
			case grey:
				var names []string
				start := 0
				for i, x := range stack {
					if x == t {
						start = i
					}
				}
				for _, x := range stack[start:] {
					names = append(names, fmt.Sprintf("%s (%s)", x.name, where[x]))
				}
				names = append(names, t.name)
				ds = append(ds, diag(where[t], Error, "loops", "combinational loop in module %q: %s", m.name, strings.Join(names, " -> ")))
				return true
			case white:
				if visit(t) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[s] = black
		return false
	}
	for _, s := range m.signals {
		if color[s] == white && visit(s) {
			return ds // one loop per module is enough to act on
		}
	}

	// Summarize which inputs reach each output, for the parents' check.
	summary := map[*Signal][]*Signal{}
	for _, out := range m.signals {
		if out.kind != Output {
			continue
		}
		seen := map[*Signal]bool{}
		var walk func(s *Signal)
		walk = func(s *Signal) {
			for _, t := range deps[s] {
				if !seen[t] {
					seen[t] = true
					if t.kind == Input {
						summary[out] = append(summary[out], t)
					}
					walk(t)
				}
			}
		}
		walk(out)
	}
	d.combPaths[m] = summary
	return nil
}

// unusedPass warns about signals nothing reads.
type unusedPass struct{}

func (unusedPass) Name() string { return "unused" }

func (unusedPass) Check(d *Design, m *Module) Diagnostics {
	used := map[*Signal]bool{}
	m.reads(func(s *Signal) { used[s] = true })
	var ds Diagnostics
	for _, s := range m.signals {
		if used[s] || s.kind == Output || s == m.clock || s == m.reset {
			continue
		}
		ds = append(ds, diag(s.pos, Warning, "unused", "%s %q is never read", s.kind, s.name))
	}
	return ds
}
