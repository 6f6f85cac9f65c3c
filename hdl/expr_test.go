package hdl

import (
	"fmt"
	"math/big"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// nextLine returns "file:line" of the line after the call, where each error
// case puts its mistake.
func nextLine() string {
	_, file, line, _ := runtime.Caller(1)
	return fmt.Sprintf("%s:%d", filepath.Base(file), line+1)
}

// TestWidthRules checks the result shape of every operator (the table in
// the package doc), on signed and unsigned operands, and that building them
// reports nothing.
func TestWidthRules(t *testing.T) {
	m := NewModule("shapes")
	a := m.Input("a", U(8))
	b := m.Input("b", U(5))
	c := m.Input("c", S(8))
	d := m.Input("d", S(3))
	bit := m.Input("bit", U(1))
	tests := []struct {
		desc string
		e    *Expr
		want Shape
	}{
		{"add unsigned", a.Add(b), U(9)},
		{"add signed", c.Add(d), S(9)},
		{"add same width", b.Add(b), U(6)},
		{"sub unsigned", a.Sub(b), U(9)},
		{"sub signed", d.Sub(c), S(9)},
		{"mul unsigned", a.Mul(b), U(13)},
		{"mul signed", c.Mul(d), S(11)},
		{"mul 1x1", bit.Mul(bit), U(2)},
		{"neg unsigned", a.Neg(), S(9)},
		{"neg signed", d.Neg(), S(4)},
		{"and", a.And(a), U(8)},
		{"or signed", c.Or(c), S(8)},
		{"xor", d.Xor(d), S(3)},
		{"not unsigned", b.Not(), U(5)},
		{"not signed", c.Not(), S(8)},
		{"shl", a.Shl(3), U(11)},
		{"shl signed", c.Shl(2), S(10)},
		{"shl zero", c.Shl(0), S(8)},
		{"shr unsigned", a.Shr(3), U(5)},
		{"shr signed to one bit", c.Shr(7), S(1)},
		{"shr zero", b.Shr(0), U(5)},
		{"shlby keeps width", a.ShlBy(b), U(8)},
		{"shlby signed", c.ShlBy(bit), S(8)},
		{"shrby unsigned", b.ShrBy(a), U(5)},
		{"shrby signed", c.ShrBy(b), S(8)},
		{"eq", a.Eq(b), U(1)},
		{"ne signed", c.Ne(d), U(1)},
		{"lt", a.Lt(b), U(1)},
		{"le signed", c.Le(d), U(1)},
		{"gt", b.Gt(a), U(1)},
		{"ge signed", d.Ge(c), U(1)},
		{"eq const", c.EqConst(-1), U(1)},
		{"slice all", a.Slice(7, 0), U(8)},
		{"slice of signed is unsigned", c.Slice(3, 1), U(3)},
		{"bit", c.Bit(7), U(1)},
		{"msb", d.MSB(), U(1)},
		{"cat", Cat(a, c, b), U(21)},
		{"cat one signed", Cat(c), U(8)},
		{"repl", b.Repl(3), U(15)},
		{"repl signed once", c.Repl(1), U(8)},
		{"mux unsigned", Mux(bit, a, b), U(8)},
		{"mux signed", Mux(bit, d, c), S(8)},
		{"sext unsigned", SExt(a, 10), S(10)},
		{"sext same width", SExt(c, 8), S(8)},
		{"zext signed", ZExt(c, 10), U(10)},
		{"ext signed", c.Ext(10), S(10)},
		{"ext unsigned", b.Ext(8), U(8)},
		{"trunc unsigned", a.Trunc(3), U(3)},
		{"trunc signed", c.Trunc(1), S(1)},
		{"trunc same width", c.Trunc(8), S(8)},
		{"as signed", a.AsSigned(), S(8)},
		{"as unsigned", c.AsUnsigned(), U(8)},
		{"as signed of signed", c.AsSigned(), S(8)},
		{"any", c.AnyBits(), U(1)},
		{"all", a.AllBits(), U(1)},
		{"parity", d.XorBits(), U(1)},
		{"logical not", a.LogicalNot(), U(1)},
		{"logical not of a bit", bit.LogicalNot(), U(1)},
		{"const", m.Const(-3, S(3)), S(3)},
		{"lit", m.Lit(9, 4), U(4)},
		{"nested", c.Mul(d).Add(SExt(a, 11)).Shr(2), S(10)},
	}
	for _, tc := range tests {
		if got := tc.e.Shape(); got != tc.want {
			t.Errorf("%s: shape %s, want %s", tc.desc, got, tc.want)
		}
	}
	if len(*m.diags) > 0 {
		t.Errorf("legal expressions reported errors:\n%v", *m.diags)
	}
	if c.AsSigned() != c || a.AsUnsigned() != a {
		t.Error("no-op conversions should return their operand")
	}
}

// TestEvalSemantics pins down the values hdl.Eval gives the operators whose
// meaning depends on signedness, the reference the emitter is tested against.
func TestEvalSemantics(t *testing.T) {
	m := NewModule("values")
	u := m.Input("u", U(8))
	s := m.Input("s", S(8))
	amt := m.Input("amt", U(4))
	wide := m.Input("wide", U(70))
	env := map[*Signal]int64{u.sig: 0xf0, s.sig: -16, amt.sig: 3}
	wideVal := new(big.Int).Lsh(big.NewInt(1), 65) // an amount far beyond any width
	look := func(sig *Signal) *big.Int {
		if sig == wide.sig {
			return wideVal
		}
		return pattern(big.NewInt(env[sig]), sig.shape.Width)
	}
	tests := []struct {
		desc string
		e    *Expr
		want int64 // as a value of e's shape
	}{
		{"unsigned add", u.Add(u), 0x1e0},
		{"signed add", s.Add(s), -32},
		{"unsigned sub wraps", m.Lit(1, 8).Sub(u), 1 - 0xf0 + 0x200},
		{"signed sub", m.Const(1, S(8)).Sub(s), 17},
		{"unsigned mul", u.Mul(u), 0xf0 * 0xf0},
		{"signed mul", s.Mul(s), 256},
		{"signed mul by unsigned-looking", s.Mul(m.Const(-1, S(2))), 16},
		{"neg of unsigned", u.Neg(), -0xf0},
		{"not of signed", s.Not(), 15},
		{"shr signed is arithmetic", s.Shr(2), -4},
		{"shr unsigned is logical", u.Shr(2), 0x3c},
		{"shrby signed", s.ShrBy(amt), -2},
		{"shrby unsigned", u.ShrBy(amt), 0x1e},
		{"shlby loses bits", u.ShlBy(amt), 0x80},
		{"shrby signed by a huge amount", s.ShrBy(wide), -1},
		{"shlby by a huge amount", u.ShlBy(wide), 0},
		{"shl keeps bits", s.Shl(4), -256},
		{"signed lt", s.Lt(m.Const(0, S(8))), 1},
		{"unsigned lt", u.Lt(m.Lit(1, 8)), 0},
		{"sext of unsigned fills the top bit", SExt(u, 10), -16},
		{"zext of signed", ZExt(s, 10), 0xf0},
		{"ext signed", s.Ext(12), -16},
		{"trunc signed keeps the sign of the low bits", s.Trunc(4), 0},
		{"trunc signed", s.Trunc(5), -16},
		{"as signed", u.AsSigned(), -16},
		{"mux picks by select", Mux(s.MSB(), s, m.Const(1, S(2))), -16},
		{"mux extends the other arm", Mux(s.MSB().Not(), s, m.Const(-2, S(2))), -2},
		{"cat", Cat(u.Slice(7, 4), s.Slice(3, 0)), 0xf0},
		{"repl", amt.Slice(1, 0).Repl(3), 0x3f},
		{"parity", u.XorBits(), 0},
		{"all", u.Slice(7, 4).AllBits(), 1},
		{"compare of different widths extends by sign", m.Const(-1, S(3)).Eq(s.Shr(4)), 1},
	}
	for _, tc := range tests {
		got := toInt(Eval(tc.e, look), tc.e.shape)
		if !got.IsInt64() || got.Int64() != tc.want {
			t.Errorf("%s: Eval = %v, want %d", tc.desc, got, tc.want)
		}
	}
	if len(*m.diags) > 0 {
		t.Errorf("legal expressions reported errors:\n%v", *m.diags)
	}
}

// TestBuildErrors checks that each misuse of an operator is reported once, by
// Elaborate, at the line that made it.
func TestBuildErrors(t *testing.T) {
	tests := []struct {
		desc  string
		build func(m *Module) (pos string)
		pass  string
		want  string
	}{
		{"add mixed signedness", func(m *Module) string {
			a, c := m.Input("a", U(8)), m.Input("c", S(8))
			pos := nextLine()
			m.Set(m.Output("y", U(9)), a.Add(c).AsUnsigned())
			return pos
		}, "build", "add of u8 and s8: operands must agree in signedness"},
		{"sub mixed signedness", func(m *Module) string {
			a, c := m.Input("a", U(8)), m.Input("c", S(4))
			pos := nextLine()
			m.Set(m.Output("y", S(9)), c.Sub(a).AsSigned())
			return pos
		}, "build", "sub of s4 and u8"},
		{"mul mixed signedness", func(m *Module) string {
			a, c := m.Input("a", U(8)), m.Input("c", S(8))
			pos := nextLine()
			m.Set(m.Output("y", U(16)), a.Mul(c))
			return pos
		}, "build", "mul of u8 and s8"},
		{"compare mixed signedness", func(m *Module) string {
			a, c := m.Input("a", U(8)), m.Input("c", S(8))
			pos := nextLine()
			m.Set(m.Output("y", U(1)), a.Lt(c))
			return pos
		}, "build", "lt of u8 and s8"},
		{"mux mixed signedness", func(m *Module) string {
			a, c := m.Input("a", U(8)), m.Input("c", S(8))
			pos := nextLine()
			m.Set(m.Output("y", U(8)), Mux(a.Bit(0), a, c))
			return pos
		}, "build", "mux of u8 and s8"},
		{"mux select too wide", func(m *Module) string {
			a := m.Input("a", U(8))
			pos := nextLine()
			m.Set(m.Output("y", U(8)), Mux(a.Slice(1, 0), a, a))
			return pos
		}, "build", "mux select must be 1 bit, got u2"},
		{"bitwise shapes differ", func(m *Module) string {
			a, b := m.Input("a", U(8)), m.Input("b", U(7))
			pos := nextLine()
			m.Set(m.Output("y", U(8)), a.And(b))
			return pos
		}, "build", "and of u8 and u7: operands must have the same shape"},
		{"bitwise signedness differs", func(m *Module) string {
			a, c := m.Input("a", U(8)), m.Input("c", S(8))
			pos := nextLine()
			m.Set(m.Output("y", U(8)), a.Xor(c))
			return pos
		}, "build", "xor of u8 and s8"},
		{"slice above the top", func(m *Module) string {
			a := m.Input("a", U(8))
			pos := nextLine()
			m.Set(m.Output("y", U(1)), a.Slice(8, 8))
			return pos
		}, "build", "slice [8:8] out of range for u8"},
		{"slice reversed", func(m *Module) string {
			a := m.Input("a", U(8))
			pos := nextLine()
			m.Set(m.Output("y", U(1)), a.Slice(2, 3))
			return pos
		}, "build", "slice [2:3] out of range"},
		{"slice below zero", func(m *Module) string {
			a := m.Input("a", S(8))
			pos := nextLine()
			m.Set(m.Output("y", U(1)), a.Bit(-1))
			return pos
		}, "build", "slice [-1:-1] out of range for s8"},
		{"shr by the width", func(m *Module) string {
			a := m.Input("a", U(8))
			pos := nextLine()
			m.Set(m.Output("y", U(8)), a.Shr(8))
			return pos
		}, "build", "shift right of u8 by 8: amount must be in [0, 8)"},
		{"shr by a negative amount", func(m *Module) string {
			a := m.Input("a", S(4))
			pos := nextLine()
			m.Set(m.Output("y", S(4)), a.Shr(-1))
			return pos
		}, "build", "shift right of s4 by -1"},
		{"shl by a negative amount", func(m *Module) string {
			a := m.Input("a", U(4))
			pos := nextLine()
			m.Set(m.Output("y", U(4)), a.Shl(-2))
			return pos
		}, "build", "shift left by negative amount -2"},
		{"shift by a signed amount", func(m *Module) string {
			a, c := m.Input("a", U(8)), m.Input("c", S(3))
			pos := nextLine()
			m.Set(m.Output("y", U(8)), a.ShrBy(c))
			return pos
		}, "build", "shift amount must be unsigned, got s3"},
		{"unsigned constant too big", func(m *Module) string {
			pos := nextLine()
			m.Set(m.Output("y", U(8)), m.Const(256, U(8)))
			return pos
		}, "build", "constant 256 does not fit in u8"},
		{"negative unsigned constant", func(m *Module) string {
			pos := nextLine()
			m.Set(m.Output("y", U(8)), m.Lit(-1, 8))
			return pos
		}, "build", "constant -1 does not fit in u8"},
		{"signed constant too big", func(m *Module) string {
			pos := nextLine()
			m.Set(m.Output("y", S(8)), m.Const(128, S(8)))
			return pos
		}, "build", "constant 128 does not fit in s8"},
		{"signed constant too small", func(m *Module) string {
			pos := nextLine()
			m.Set(m.Output("y", S(8)), m.Const(-129, S(8)))
			return pos
		}, "build", "constant -129 does not fit in s8"},
		{"wide constant too big", func(m *Module) string {
			v := new(big.Int).Lsh(big.NewInt(1), 69)
			pos := nextLine()
			m.Set(m.Output("y", S(70)), m.ConstBig(v, S(70)))
			return pos
		}, "build", "constant 590295810358705651712 does not fit in s70"},
		{"zero-width constant", func(m *Module) string {
			pos := nextLine()
			m.Set(m.Output("y", U(1)), m.Const(0, U(0)))
			return pos
		}, "build", "constant width 0 must be at least 1"},
		{"equality with a constant out of range", func(m *Module) string {
			a := m.Input("a", U(4))
			pos := nextLine()
			m.Set(m.Output("y", U(1)), a.EqConst(16))
			return pos
		}, "build", "constant 16 does not fit in u4"},
		{"trunc to zero bits", func(m *Module) string {
			a := m.Input("a", U(8))
			pos := nextLine()
			m.Set(m.Output("y", U(8)), a.Trunc(0))
			return pos
		}, "build", "truncation of u8 to 0 bits: must be in [1, 8]"},
		{"trunc wider", func(m *Module) string {
			a := m.Input("a", S(8))
			pos := nextLine()
			m.Set(m.Output("y", S(8)), a.Trunc(9))
			return pos
		}, "build", "truncation of s8 to 9 bits"},
		{"sext narrows", func(m *Module) string {
			a := m.Input("a", S(8))
			pos := nextLine()
			m.Set(m.Output("y", S(8)), SExt(a, 4))
			return pos
		}, "build", "sign extension of s8 to 4 bits would narrow it"},
		{"zext narrows", func(m *Module) string {
			a := m.Input("a", U(8))
			pos := nextLine()
			m.Set(m.Output("y", U(8)), a.Ext(7))
			return pos
		}, "build", "zero extension of u8 to 7 bits would narrow it"},
		{"replicate zero times", func(m *Module) string {
			a := m.Input("a", U(8))
			pos := nextLine()
			m.Set(m.Output("y", U(8)), a.Repl(0))
			return pos
		}, "build", "replicate count 0 must be at least 1"},
		{"reset value out of range", func(m *Module) string {
			pos := nextLine()
			r := m.Reg("r", S(4), ResetTo(8))
			m.Set(r, r)
			m.Set(m.Output("y", S(4)), r)
			return pos
		}, "build", `reset value 8 does not fit register "r" of shape s4`},
		{"case value out of range", func(m *Module) string {
			a := m.Input("a", U(2))
			y := m.Output("y", U(2))
			m.Set(y, a)
			var pos string
			m.Switch(a, func(sw *SwitchBuilder) {
				pos = nextLine()
				sw.Case([]int64{4}, func() { m.Set(y, m.Lit(0, 2)) })
			})
			return pos
		}, "build", "case value 4 does not fit switch subject u2"},
		{"memory initial value out of range", func(m *Module) string {
			a := m.Input("a", U(1))
			pos := nextLine()
			mem := m.Memory("mem", S(4), 2, []int64{7, -9})
			m.Set(m.Output("y", S(4)), mem.Read("rd", a, nil))
			return pos
		}, "build", `memory "mem": initial value -9 at 1 does not fit s4`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			m := NewModule("bad")
			pos := tc.build(m)
			ds := elabErr(t, m)
			expectDiag(t, ds, tc.pass, pos, tc.want)
			if n := len(ds); n != 1 {
				t.Errorf("got %d diagnostics, want exactly 1:\n%s", n, ds)
			}
		})
	}
}

func TestMulAcc(t *testing.T) {
	m := NewModule("mac")
	acc, a, b := m.Input("acc", S(19)), m.Input("a", S(8)), m.Input("b", S(8))
	e := MulAcc(acc, a, b)
	if e.Shape() != S(19) {
		t.Errorf("MulAcc shape %s, want s19", e.Shape())
	}
	env := func(s *Signal) *big.Int {
		return map[string]*big.Int{"acc": pattern(big.NewInt(-262144), 19), "a": pattern(big.NewInt(-128), 8), "b": pattern(big.NewInt(-128), 8)}[s.Name()]
	}
	// -2^18 + 16384 wraps to nothing: the same bits as the unfused form.
	want := Eval(acc.Add(a.Mul(b).Ext(19)).Trunc(19), env)
	if got := Eval(e, env); got.Cmp(want) != 0 {
		t.Errorf("MulAcc = %v, want %v", got, want)
	}
	pos := nextLine()
	MulAcc(m.Input("u", U(8)), a, b)
	if ds := m.diags; len(*ds) != 2 || !strings.Contains((*ds)[0].Msg, "must agree in signedness") || (*ds)[0].Pos.String() != pos {
		t.Errorf("mixed signedness: diagnostics %v, want two at %s", *ds, pos)
	}
	*m.diags = nil
	pos = nextLine()
	MulAcc(m.Input("small", S(4)), a, b)
	if ds := m.diags; len(*ds) != 1 || !strings.Contains((*ds)[0].Msg, "no wider than the accumulator") || (*ds)[0].Pos.String() != pos {
		t.Errorf("narrow accumulator: diagnostics %v, want one at %s", *ds, pos)
	}
}
