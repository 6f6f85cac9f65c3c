package rtltest

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"

	"github.com/tpugen/tpugen/hdl"
)

// ExprGen builds random well-formed expressions over a module's inputs, for
// differential tests of the emitter against hdl.Eval. Every operator of hdl
// appears, with operands of legal shapes; no node is wider than MaxWidth.
type ExprGen struct {
	M        *hdl.Module
	R        *rand.Rand
	Inputs   []*hdl.Expr // leaves; at least one
	MaxWidth int         // widest node (and constant) built
}

// Expr returns a random expression at most depth operators deep.
func (g *ExprGen) Expr(depth int) *hdl.Expr {
	if depth <= 0 || g.R.IntN(6) == 0 {
		return g.leaf()
	}
	d := depth - 1
	m, r := g.M, g.R
	switch r.IntN(28) {
	case 27:
		acc := g.Expr(d)
		fitAcc := func(x *hdl.Expr) *hdl.Expr {
			x = g.signAs(x, acc.Signed())
			if x.Width() > acc.Width() {
				x = x.Trunc(acc.Width())
			}
			return x
		}
		return hdl.MulAcc(acc, fitAcc(g.Expr(d)), fitAcc(g.Expr(d)))
	case 0:
		a := g.Expr(d)
		return g.fit(a.Add(g.signAs(g.Expr(d), a.Signed())))
	case 1:
		a := g.Expr(d)
		return g.fit(a.Sub(g.signAs(g.Expr(d), a.Signed())))
	case 2:
		a := g.Expr(d)
		return g.fit(a.Mul(g.signAs(g.Expr(d), a.Signed())))
	case 3:
		return g.fit(g.Expr(d).Neg())
	case 4:
		a := g.Expr(d)
		b := g.shapeAs(g.Expr(d), a.Shape())
		switch r.IntN(3) {
		case 0:
			return a.And(b)
		case 1:
			return a.Or(b)
		}
		return a.Xor(b)
	case 5:
		return g.Expr(d).Not()
	case 6:
		a := g.Expr(d)
		if a.Width() >= g.MaxWidth {
			return a.Shl(0)
		}
		return a.Shl(r.IntN(min(9, g.MaxWidth-a.Width()+1)))
	case 7:
		a := g.Expr(d)
		return a.Shr(r.IntN(a.Width()))
	case 8:
		return g.Expr(d).ShlBy(g.amount(d))
	case 9:
		return g.Expr(d).ShrBy(g.amount(d))
	case 10, 11:
		a := g.Expr(d)
		b := g.signAs(g.Expr(d), a.Signed())
		switch r.IntN(6) {
		case 0:
			return a.Eq(b)
		case 1:
			return a.Ne(b)
		case 2:
			return a.Lt(b)
		case 3:
			return a.Le(b)
		case 4:
			return a.Gt(b)
		}
		return a.Ge(b)
	case 12:
		a := g.Expr(d)
		lo := r.IntN(a.Width())
		hi := lo + r.IntN(a.Width()-lo)
		return a.Slice(hi, lo)
	case 13:
		a := g.Expr(d)
		if r.IntN(2) == 0 {
			return a.MSB()
		}
		return a.Bit(r.IntN(a.Width()))
	case 14:
		parts := []*hdl.Expr{g.Expr(d)}
		w := parts[0].Width()
		for n := r.IntN(3); n > 0; n-- {
			p := g.Expr(d)
			if w+p.Width() > g.MaxWidth {
				break
			}
			parts = append(parts, p)
			w += p.Width()
		}
		return g.fit(hdl.Cat(parts...))
	case 15:
		a := g.Expr(d)
		n := 1 + r.IntN(max(1, min(4, g.MaxWidth/a.Width())))
		return g.fit(a.Repl(n))
	case 16, 17:
		sel := g.bit(g.Expr(d))
		a := g.Expr(d)
		return hdl.Mux(sel, a, g.signAs(g.Expr(d), a.Signed()))
	case 18:
		a := g.Expr(d)
		return hdl.SExt(a, g.wider(a))
	case 19:
		a := g.Expr(d)
		return hdl.ZExt(a, g.wider(a))
	case 20:
		a := g.Expr(d)
		return a.Ext(g.wider(a))
	case 21:
		a := g.Expr(d)
		return a.Trunc(1 + r.IntN(a.Width()))
	case 22:
		a, n := g.Expr(d), 1+r.IntN(g.MaxWidth)
		return toWidth(a, n)
	case 23:
		a := g.Expr(d)
		if r.IntN(2) == 0 {
			return a.AsSigned()
		}
		return a.AsUnsigned()
	case 24:
		a := g.Expr(d)
		switch r.IntN(3) {
		case 0:
			return a.AnyBits()
		case 1:
			return a.AllBits()
		}
		return a.XorBits()
	case 25:
		return g.Expr(d).LogicalNot()
	}
	a := g.Expr(d)
	v := randValue(r, a.Shape())
	if a.Signed() {
		if v.Bit(a.Width()-1) == 1 {
			v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(a.Width())))
		}
	}
	if !v.IsInt64() {
		return a.Eq(m.ConstBig(v, a.Shape()))
	}
	return a.EqConst(v.Int64())
}

// leaf returns an input or a constant.
func (g *ExprGen) leaf() *hdl.Expr {
	if g.R.IntN(4) != 0 {
		return g.Inputs[g.R.IntN(len(g.Inputs))]
	}
	s := hdl.Shape{Width: 1 + g.R.IntN(g.MaxWidth), Signed: g.R.IntN(2) == 0}
	v := randValue(g.R, s)
	if s.Signed && v.Bit(s.Width-1) == 1 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(s.Width)))
	}
	return g.M.ConstBig(v, s)
}

// fit truncates e when an operator made it wider than MaxWidth.
func (g *ExprGen) fit(e *hdl.Expr) *hdl.Expr {
	if e.Width() <= g.MaxWidth {
		return e
	}
	return e.Trunc(1 + g.R.IntN(g.MaxWidth))
}

// wider returns a width in [e.Width(), MaxWidth] (at least e's own width).
func (g *ExprGen) wider(e *hdl.Expr) int {
	if e.Width() >= g.MaxWidth {
		return e.Width()
	}
	return e.Width() + g.R.IntN(g.MaxWidth-e.Width()+1)
}

// signAs converts e to the given signedness by a reinterpretation or an
// extension.
func (g *ExprGen) signAs(e *hdl.Expr, signed bool) *hdl.Expr {
	if e.Signed() == signed {
		return e
	}
	switch g.R.IntN(3) {
	case 0:
		if signed {
			return hdl.SExt(e, g.wider(e))
		}
		return hdl.ZExt(e, g.wider(e))
	}
	if signed {
		return e.AsSigned()
	}
	return e.AsUnsigned()
}

// shapeAs converts e to exactly shape s.
func (g *ExprGen) shapeAs(e *hdl.Expr, s hdl.Shape) *hdl.Expr {
	if e.Signed() != s.Signed {
		if s.Signed {
			e = e.AsSigned()
		} else {
			e = e.AsUnsigned()
		}
	}
	return toWidth(e, s.Width)
}

// toWidth widens (Ext) or narrows (Trunc) e to n bits.
func toWidth(e *hdl.Expr, n int) *hdl.Expr {
	switch {
	case n > e.Width():
		return e.Ext(n)
	case n < e.Width():
		return e.Trunc(n)
	}
	return e
}

// amount returns an unsigned shift amount, mostly small enough to shift by
// less than the width, sometimes wide.
func (g *ExprGen) amount(depth int) *hdl.Expr {
	a := g.signAs(g.Expr(depth), false)
	if a.Width() > 7 && g.R.IntN(4) != 0 {
		a = a.Trunc(1 + g.R.IntN(7))
	}
	return a
}

// bit reduces e to one bit in one of several ways.
func (g *ExprGen) bit(e *hdl.Expr) *hdl.Expr {
	if e.Width() == 1 && g.R.IntN(2) == 0 {
		return e
	}
	switch g.R.IntN(3) {
	case 0:
		return e.Bit(g.R.IntN(e.Width()))
	case 1:
		return e.AnyBits()
	}
	return e.MSB()
}

// RandValue returns a random bit pattern of shape s, biased towards the
// edge cases of arithmetic: zero, all ones, the signed extremes, small
// values and single bits.
func RandValue(r *rand.Rand, s hdl.Shape) *big.Int { return randValue(r, s) }

func randValue(r *rand.Rand, s hdl.Shape) *big.Int {
	w := s.Width
	one := big.NewInt(1)
	all := new(big.Int).Sub(new(big.Int).Lsh(one, uint(w)), one)
	switch r.IntN(10) {
	case 0:
		return new(big.Int)
	case 1:
		return all
	case 2: // most negative signed: 100..0
		return new(big.Int).Lsh(one, uint(w-1))
	case 3: // most positive signed: 011..1
		return new(big.Int).Rsh(all, 1)
	case 4:
		return new(big.Int).And(big.NewInt(int64(r.IntN(4))), all)
	case 5:
		return new(big.Int).Lsh(one, uint(r.IntN(w)))
	case 6: // small negative
		return new(big.Int).Sub(all, new(big.Int).And(big.NewInt(int64(r.IntN(4))), all))
	}
	v := new(big.Int)
	for i := 0; i < w; i += 32 {
		v.Lsh(v, 32).Or(v, big.NewInt(int64(r.Uint32())))
	}
	return v.And(v, all)
}

// Describe prints e as a nested term with the shape of every node, for
// failure messages.
func Describe(e *hdl.Expr) string {
	var b strings.Builder
	describe(&b, e)
	return b.String()
}

var opNames = map[hdl.Op]string{
	hdl.OpAdd: "add", hdl.OpSub: "sub", hdl.OpMul: "mul", hdl.OpNeg: "neg", hdl.OpMulAcc: "mulacc",
	hdl.OpAnd: "and", hdl.OpOr: "or", hdl.OpXor: "xor", hdl.OpNot: "not",
	hdl.OpShl: "shl", hdl.OpShr: "shr", hdl.OpShlBy: "shlby", hdl.OpShrBy: "shrby",
	hdl.OpEq: "eq", hdl.OpNe: "ne", hdl.OpLt: "lt", hdl.OpLe: "le", hdl.OpGt: "gt", hdl.OpGe: "ge",
	hdl.OpSlice: "slice", hdl.OpCat: "cat", hdl.OpRepl: "repl", hdl.OpMux: "mux",
	hdl.OpExt: "ext", hdl.OpTrunc: "trunc", hdl.OpCast: "cast",
	hdl.OpAnyBits: "any", hdl.OpAllBits: "all", hdl.OpXorBits: "parity",
}

func describe(b *strings.Builder, e *hdl.Expr) {
	switch e.Op() {
	case hdl.OpSignal:
		fmt.Fprintf(b, "%s:%s", e.Signal().Name(), e.Shape())
		return
	case hdl.OpConst:
		fmt.Fprintf(b, "%s'h%s", e.Shape(), e.Value().Text(16))
		return
	}
	fmt.Fprintf(b, "%s:%s(", opNames[e.Op()], e.Shape())
	switch e.Op() {
	case hdl.OpShl, hdl.OpShr, hdl.OpRepl:
		fmt.Fprintf(b, "%d, ", e.Amount())
	case hdl.OpSlice:
		hi, lo := e.Bounds()
		fmt.Fprintf(b, "%d:%d, ", hi, lo)
	}
	for i, a := range e.Args() {
		if i > 0 {
			b.WriteString(", ")
		}
		describe(b, a)
	}
	b.WriteString(")")
}
