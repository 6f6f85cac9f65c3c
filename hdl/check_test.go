package hdl

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// lineHere returns the line after the call, where each test puts its mistake.
func lineHere() string {
	_, _, line, _ := runtime.Caller(1)
	return fmt.Sprintf("check_test.go:%d", line+1)
}

func elabErr(t *testing.T, m *Module) Diagnostics {
	t.Helper()
	_, err := Elaborate(m)
	if err == nil {
		t.Fatalf("Elaborate(%s) succeeded; want errors", m.Name())
	}
	var ds Diagnostics
	if !errors.As(err, &ds) {
		t.Fatalf("error is %T, want Diagnostics", err)
	}
	return ds
}

// expectDiag asserts one diagnostic of pass at pos whose message contains want.
func expectDiag(t *testing.T, ds Diagnostics, pass, pos, want string) {
	t.Helper()
	for _, d := range ds {
		if d.Pass == pass && d.Pos.String() == pos && strings.Contains(d.Msg, want) {
			return
		}
	}
	t.Errorf("no %s diagnostic at %s containing %q; got:\n%s", pass, pos, want, ds)
}

func TestCheckPasses(t *testing.T) {
	tests := []struct {
		desc  string
		build func() (m *Module, pos string)
		pass  string
		want  string
	}{
		{"width mismatch", func() (*Module, string) {
			m := NewModule("w")
			a := m.Input("a", U(8))
			y := m.Output("y", U(8))
			pos := lineHere()
			m.Set(y, a.Add(a))
			return m, pos
		}, "widths", `assignment to output "y" of shape u8 from an expression of shape u9`},
		{"signedness mismatch", func() (*Module, string) {
			m := NewModule("w")
			a := m.Input("a", S(8))
			y := m.Output("y", U(8))
			pos := lineHere()
			m.Set(y, a)
			return m, pos
		}, "widths", "shape u8 from an expression of shape s8"},
		{"if condition not one bit", func() (*Module, string) {
			m := NewModule("w")
			a := m.Input("a", U(2))
			y := m.Output("y", U(1))
			m.Set(y, m.Lit(0, 1))
			pos := lineHere()
			m.If(a, func() { m.Set(y, m.Lit(1, 1)) })
			return m, pos
		}, "widths", "if condition is u2, want u1"},
		{"two unconditional drivers", func() (*Module, string) {
			m := NewModule("d")
			a := m.Input("a", U(4))
			y := m.Output("y", U(4))
			m.Set(y, a)
			pos := lineHere()
			m.Set(y, a.Not())
			return m, pos
		}, "drivers", `output "y" has multiple drivers: assigned unconditionally at check_test.go:`},
		{"instance output and assignment", func() (*Module, string) {
			sub := NewModule("sub")
			si := sub.Input("i", U(1))
			so := sub.Output("o", U(1))
			sub.Set(so, si)
			m := NewModule("top")
			a := m.Input("a", U(1))
			y := m.Output("y", U(1))
			inst := m.Instance("u", sub)
			inst.In(si, a)
			w := inst.Out(so)
			m.Set(y, w)
			pos := lineHere()
			m.Set(w, a)
			return m, pos
		}, "drivers", `wire "u_o" has multiple drivers: instance "u" output "o"`},
		{"assigning an input", func() (*Module, string) {
			m := NewModule("d")
			a := m.Input("a", U(4))
			y := m.Output("y", U(4))
			m.Set(y, a)
			pos := lineHere()
			m.Set(a, y)
			return m, pos
		}, "drivers", `input "a" is driven from outside the module`},
		{"undriven output", func() (*Module, string) {
			m := NewModule("u")
			pos := lineHere()
			m.Output("y", U(4))
			return m, pos
		}, "undriven", `output "y" is never assigned`},
		{"undriven wire", func() (*Module, string) {
			m := NewModule("u")
			y := m.Output("y", U(4))
			pos := lineHere()
			w := m.Wire("w", U(4))
			m.Set(y, w)
			return m, pos
		}, "undriven", `wire "w" is never assigned`},
		{"unbound instance input", func() (*Module, string) {
			sub := NewModule("sub")
			si := sub.Input("i", U(1))
			so := sub.Output("o", U(1))
			sub.Set(so, si)
			m := NewModule("top")
			y := m.Output("y", U(1))
			pos := lineHere()
			inst := m.Instance("u", sub)
			m.Set(y, inst.Out(so))
			return m, pos
		}, "undriven", `instance "u" of "sub": input "i" is not bound`},
		{"instance reset not u1", func() (*Module, string) {
			sub := NewModule("sub")
			so := sub.RegOutput("o", U(1), ResetTo(0))
			sub.Set(so, so.Not())
			m := NewModule("top")
			r := m.Input("r", U(2))
			y := m.Output("y", U(1))
			inst := m.Instance("u", sub)
			pos := lineHere()
			inst.Reset(r)
			m.Set(y, inst.Out(so))
			return m, pos
		}, "widths", `instance "u": reset is u1 but the bound value is u2`},
		{"instance reset on a module without one", func() (*Module, string) {
			sub := NewModule("sub")
			si := sub.Input("i", U(1))
			so := sub.Output("o", U(1))
			sub.Set(so, si)
			m := NewModule("top")
			r := m.Input("r", U(1))
			y := m.Output("y", U(1))
			inst := m.Instance("u", sub)
			inst.In(si, r)
			pos := lineHere()
			inst.Reset(r)
			m.Set(y, inst.Out(so))
			return m, pos
		}, "build", `instance "u": Reset on module "sub", which has no reset`},
		{"latch from if without else", func() (*Module, string) {
			m := NewModule("l")
			c := m.Input("c", U(1))
			a := m.Input("a", U(8))
			y := m.Output("y", U(8))
			var pos string
			m.If(c, func() {
				pos = lineHere()
				m.Set(y, a) // the first assignment is where the latch is reported
			})
			return m, pos
		}, "latches", `combinational output "y" is not assigned on every path`},
		{"latch from switch without default", func() (*Module, string) {
			m := NewModule("l")
			s := m.Input("s", U(2))
			a := m.Input("a", U(8))
			y := m.Wire("y", U(8))
			o := m.Output("o", U(8))
			m.Set(o, y)
			var pos string
			m.Switch(s, func(sw *SwitchBuilder) {
				sw.Case([]int64{0}, func() {
					pos = lineHere()
					m.Set(y, a)
				})
				sw.Case([]int64{1, 2, 3}, func() { m.Set(y, a.Not()) })
			})
			return m, pos
		}, "latches", `combinational wire "y" is not assigned on every path`},
		{"combinational loop", func() (*Module, string) {
			m := NewModule("loop")
			a := m.Input("a", U(4))
			x := m.Wire("x", U(4))
			y := m.Wire("y", U(4))
			o := m.Output("o", U(4))
			pos := lineHere()
			m.Set(x, y.Xor(a))
			m.Set(y, x)
			m.Set(o, y)
			return m, pos
		}, "loops", "combinational loop in module \"loop\": x (check_test.go:"},
		{"combinational loop through an instance", func() (*Module, string) {
			sub := NewModule("pass")
			si := sub.Input("i", U(4))
			so := sub.Output("o", U(4))
			sub.Set(so, si.Not())
			m := NewModule("top")
			o := m.Output("o", U(4))
			inst := m.Instance("u", sub)
			w := inst.Out(so)
			pos := lineHere()
			inst.In(si, w)
			m.Set(o, w)
			return m, pos
		}, "loops", `combinational loop in module "top": u_o`},
		{"cross-module signal", func() (*Module, string) {
			other := NewModule("other")
			oa := other.Input("a", U(1))
			m := NewModule("m")
			y := m.Output("y", U(1))
			pos := lineHere()
			m.Set(y, oa)
			return m, pos
		}, "scope", `signal "a" of module "other" used in module "m"`},
		{"constant out of range", func() (*Module, string) {
			m := NewModule("c")
			y := m.Output("y", U(4))
			pos := lineHere()
			m.Set(y, m.Const(16, U(4)))
			return m, pos
		}, "build", "constant 16 does not fit in u4"},
		{"mixed signedness", func() (*Module, string) {
			m := NewModule("c")
			a := m.Input("a", U(4))
			b := m.Input("b", S(4))
			y := m.Output("y", U(5))
			pos := lineHere()
			m.Set(y, a.Add(b).AsUnsigned())
			return m, pos
		}, "build", "operands must agree in signedness"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			m, pos := tc.build()
			ds := elabErr(t, m)
			expectDiag(t, ds, tc.pass, pos, tc.want)
		})
	}
}

func TestUnusedIsAWarning(t *testing.T) {
	m := NewModule("u")
	a := m.Input("a", U(4))
	y := m.Output("y", U(4))
	m.Set(y, a)
	pos := lineHere()
	m.Input("spare", U(2))
	d, err := Elaborate(m)
	if err != nil {
		t.Fatalf("Elaborate: %v", err)
	}
	expectDiag(t, d.Warnings, "unused", pos, `input "spare" is never read`)
}

func TestAllErrorsAreCollected(t *testing.T) {
	m := NewModule("many")
	a := m.Input("a", U(4))
	y := m.Output("y", U(4))
	z := m.Output("z", U(4))
	m.Set(y, a.Add(a)) // width
	m.Set(z, a.Mul(a)) // width
	ds := elabErr(t, m)
	if len(ds) != 2 {
		t.Fatalf("got %d diagnostics, want 2:\n%s", len(ds), ds)
	}
}

func TestCleanDesignHasNoDiagnostics(t *testing.T) {
	m := NewModule("clean")
	a := m.Input("a", S(8))
	b := m.Input("b", S(8))
	c := m.Input("c", U(1))
	y := m.Output("y", S(17))
	r := m.Reg("r", S(17), ResetTo(-1))
	m.If(c, func() { m.Set(r, a.Mul(b).Ext(17)) })
	m.Set(y, r)
	d, err := Elaborate(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Warnings) != 0 {
		t.Fatalf("warnings: %s", d.Warnings)
	}
}
