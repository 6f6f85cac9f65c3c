package hdl

import (
	"fmt"
	"math/big"
)

// Op is the kind of an expression node.
type Op int

// Expression operators. The emitter switches on these; see the package doc for
// the width rule of each.
const (
	OpConst Op = iota
	OpSignal
	OpAdd
	OpSub
	OpMul
	OpNeg
	OpAnd
	OpOr
	OpXor
	OpNot
	OpShl   // by constant Amount
	OpShr   // by constant Amount
	OpShlBy // by Args[1]
	OpShrBy // by Args[1]
	OpEq
	OpNe
	OpLt
	OpLe
	OpGt
	OpGe
	OpSlice // Args[0][Hi:Lo]
	OpCat   // Args[0] in the most significant bits
	OpRepl  // Amount copies of Args[0]
	OpMux   // Args[0] ? Args[1] : Args[2]
	OpExt   // widen Args[0] to Shape.Width; sign-fill when Shape.Signed
	OpTrunc // low Shape.Width bits of Args[0]
	OpCast  // same bits, Shape.Signed changes
	OpAnyBits
	OpAllBits
	OpXorBits
	OpMulAcc // Args[0] + Args[1]*Args[2], wrapped to Args[0]'s width
)

// Expr is a node of a hardware expression tree. Signals are expressions too
// (Op() == OpSignal). Exprs are immutable once built.
type Expr struct {
	op     Op
	shape  Shape
	args   []*Expr
	sig    *Signal
	val    *big.Int // OpConst: the bit pattern, 0 <= val < 2^width
	amount int      // OpShl/OpShr/OpRepl
	hi, lo int      // OpSlice
	pos    Pos
	m      *Module
}

// Op returns the node kind.
func (e *Expr) Op() Op { return e.op }

// Shape returns the node's result shape.
func (e *Expr) Shape() Shape { return e.shape }

// Width is Shape().Width.
func (e *Expr) Width() int { return e.shape.Width }

// Signed is Shape().Signed.
func (e *Expr) Signed() bool { return e.shape.Signed }

// Args returns the operands.
func (e *Expr) Args() []*Expr { return e.args }

// Signal returns the signal of an OpSignal node, or nil.
func (e *Expr) Signal() *Signal { return e.sig }

// Value returns the bit pattern of an OpConst node.
func (e *Expr) Value() *big.Int { return e.val }

// Amount returns the constant shift or replication count.
func (e *Expr) Amount() int { return e.amount }

// Bounds returns the slice bounds of an OpSlice node.
func (e *Expr) Bounds() (hi, lo int) { return e.hi, e.lo }

// Pos returns where the expression was built.
func (e *Expr) Pos() Pos { return e.pos }

// Const returns a constant of the given shape. Values outside the shape's
// range are an error (reported at elaboration), not a silent truncation.
func (m *Module) Const(v int64, s Shape) *Expr {
	return m.ConstBig(big.NewInt(v), s)
}

// ConstBig is Const for values that do not fit in int64.
func (m *Module) ConstBig(v *big.Int, s Shape) *Expr {
	pos := callerPos()
	e := &Expr{op: OpConst, shape: s, pos: pos, m: m}
	if s.Width < 1 {
		m.errorf(pos, "build", "constant width %d must be at least 1", s.Width)
		e.shape.Width = 1
		e.val = new(big.Int)
		return e
	}
	if !fits(v, s) {
		m.errorf(pos, "build", "constant %s does not fit in %s", v, s)
	}
	e.val = pattern(v, e.shape.Width)
	return e
}

// Lit is a convenience for small unsigned constants.
func (m *Module) Lit(v int64, width int) *Expr { return m.Const(v, U(width)) }

func fits(v *big.Int, s Shape) bool {
	lo, hi := rangeOf(s)
	return v.Cmp(lo) >= 0 && v.Cmp(hi) <= 0
}

// rangeOf returns the smallest and largest value a shape can hold.
func rangeOf(s Shape) (lo, hi *big.Int) {
	one := big.NewInt(1)
	if s.Signed {
		hi = new(big.Int).Lsh(one, uint(s.Width-1))
		lo = new(big.Int).Neg(hi)
		hi.Sub(hi, one)
		return lo, hi
	}
	hi = new(big.Int).Lsh(one, uint(s.Width))
	hi.Sub(hi, one)
	return new(big.Int), hi
}

// pattern returns v modulo 2^width as a non-negative bit pattern.
func pattern(v *big.Int, width int) *big.Int {
	mod := new(big.Int).Lsh(big.NewInt(1), uint(width))
	p := new(big.Int).Mod(v, mod)
	return p
}

func (e *Expr) node(op Op, s Shape, args ...*Expr) *Expr {
	return &Expr{op: op, shape: s, args: args, pos: callerPos(), m: e.m}
}

func (e *Expr) errorf(format string, a ...any) {
	e.m.errorf(callerPos(), "build", format, a...)
}

func (e *Expr) sameSign(op string, b *Expr) {
	if e.shape.Signed != b.shape.Signed {
		e.errorf("%s of %s and %s: operands must agree in signedness (use AsSigned/ZExt)", op, e.shape, b.shape)
	}
}

func max(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// Add returns e + b, one bit wider than the wider operand.
func (e *Expr) Add(b *Expr) *Expr {
	e.sameSign("add", b)
	return e.node(OpAdd, Shape{max(e.Width(), b.Width()) + 1, e.Signed()}, e, b)
}

// Sub returns e - b, one bit wider than the wider operand. The result of
// subtracting unsigned values is unsigned and wraps; convert first for a sign.
func (e *Expr) Sub(b *Expr) *Expr {
	e.sameSign("sub", b)
	return e.node(OpSub, Shape{max(e.Width(), b.Width()) + 1, e.Signed()}, e, b)
}

// Mul returns e * b, wa+wb bits wide.
func (e *Expr) Mul(b *Expr) *Expr {
	e.sameSign("mul", b)
	return e.node(OpMul, Shape{e.Width() + b.Width(), e.Signed()}, e, b)
}

// Neg returns -e as a signed value one bit wider.
func (e *Expr) Neg() *Expr {
	return e.node(OpNeg, S(e.Width()+1), e)
}

func (e *Expr) bitwise(op Op, name string, b *Expr) *Expr {
	if e.shape != b.shape {
		e.errorf("%s of %s and %s: operands must have the same shape", name, e.shape, b.shape)
	}
	return e.node(op, e.shape, e, b)
}

// And returns the bitwise and.
func (e *Expr) And(b *Expr) *Expr { return e.bitwise(OpAnd, "and", b) }

// Or returns the bitwise or.
func (e *Expr) Or(b *Expr) *Expr { return e.bitwise(OpOr, "or", b) }

// Xor returns the bitwise exclusive or.
func (e *Expr) Xor(b *Expr) *Expr { return e.bitwise(OpXor, "xor", b) }

// Not returns the bitwise complement.
func (e *Expr) Not() *Expr { return e.node(OpNot, e.shape, e) }

// Shl shifts left by a constant, growing the width by k.
func (e *Expr) Shl(k int) *Expr {
	if k < 0 {
		e.errorf("shift left by negative amount %d", k)
		k = 0
	}
	n := e.node(OpShl, Shape{e.Width() + k, e.Signed()}, e)
	n.amount = k
	return n
}

// Shr shifts right by a constant (arithmetic for signed), dropping k bits.
func (e *Expr) Shr(k int) *Expr {
	if k < 0 || k >= e.Width() {
		e.errorf("shift right of %s by %d: amount must be in [0, %d)", e.shape, k, e.Width())
		k = 0
	}
	n := e.node(OpShr, Shape{e.Width() - k, e.Signed()}, e)
	n.amount = k
	return n
}

// ShlBy shifts left by an unsigned signal amount; the width is kept.
func (e *Expr) ShlBy(amt *Expr) *Expr {
	if amt.Signed() {
		e.errorf("shift amount must be unsigned, got %s", amt.shape)
	}
	return e.node(OpShlBy, e.shape, e, amt)
}

// ShrBy shifts right by an unsigned signal amount (arithmetic for signed); the width is kept.
func (e *Expr) ShrBy(amt *Expr) *Expr {
	if amt.Signed() {
		e.errorf("shift amount must be unsigned, got %s", amt.shape)
	}
	return e.node(OpShrBy, e.shape, e, amt)
}

func (e *Expr) compare(op Op, name string, b *Expr) *Expr {
	e.sameSign(name, b)
	return e.node(op, U(1), e, b)
}

// Eq compares for equality (operands are extended to the wider width).
func (e *Expr) Eq(b *Expr) *Expr { return e.compare(OpEq, "eq", b) }

// Ne compares for inequality.
func (e *Expr) Ne(b *Expr) *Expr { return e.compare(OpNe, "ne", b) }

// Lt compares e < b (signed or unsigned per the operands).
func (e *Expr) Lt(b *Expr) *Expr { return e.compare(OpLt, "lt", b) }

// Le compares e <= b.
func (e *Expr) Le(b *Expr) *Expr { return e.compare(OpLe, "le", b) }

// Gt compares e > b.
func (e *Expr) Gt(b *Expr) *Expr { return e.compare(OpGt, "gt", b) }

// Ge compares e >= b.
func (e *Expr) Ge(b *Expr) *Expr { return e.compare(OpGe, "ge", b) }

// EqConst compares with a constant of e's shape.
func (e *Expr) EqConst(v int64) *Expr { return e.Eq(e.m.Const(v, e.shape)) }

// Slice returns bits hi..lo (inclusive) as an unsigned value.
func (e *Expr) Slice(hi, lo int) *Expr {
	if lo < 0 || hi < lo || hi >= e.Width() {
		e.errorf("slice [%d:%d] out of range for %s", hi, lo, e.shape)
		hi, lo = 0, 0
	}
	n := e.node(OpSlice, U(hi-lo+1), e)
	n.hi, n.lo = hi, lo
	return n
}

// Bit returns bit i.
func (e *Expr) Bit(i int) *Expr { return e.Slice(i, i) }

// MSB returns the most significant bit (the sign bit of a signed value).
func (e *Expr) MSB() *Expr { return e.Slice(e.Width()-1, e.Width()-1) }

// Cat concatenates parts, the first in the most significant bits.
func Cat(parts ...*Expr) *Expr {
	if len(parts) == 0 {
		panic("hdl.Cat: no parts") // a programming error in tpugen itself, not user input
	}
	w := 0
	for _, p := range parts {
		w += p.Width()
	}
	return parts[0].node(OpCat, U(w), parts...)
}

// Repl returns n copies of e concatenated.
func (e *Expr) Repl(n int) *Expr {
	if n < 1 {
		e.errorf("replicate count %d must be at least 1", n)
		n = 1
	}
	r := e.node(OpRepl, U(n*e.Width()), e)
	r.amount = n
	return r
}

// Mux returns a when sel is 1, else b.
func Mux(sel, a, b *Expr) *Expr {
	if sel.Width() != 1 {
		sel.errorf("mux select must be 1 bit, got %s", sel.shape)
	}
	a.sameSign("mux", b)
	return sel.node(OpMux, Shape{max(a.Width(), b.Width()), a.Signed()}, sel, a, b)
}

// Ext widens e to n bits, filling by e's own signedness.
func (e *Expr) Ext(n int) *Expr {
	if e.Signed() {
		return SExt(e, n)
	}
	return ZExt(e, n)
}

// SExt reinterprets e as signed and sign-extends it to n bits.
func SExt(e *Expr, n int) *Expr {
	if n < e.Width() {
		e.errorf("sign extension of %s to %d bits would narrow it (use Trunc)", e.shape, n)
		n = e.Width()
	}
	return e.node(OpExt, S(n), e)
}

// ZExt reinterprets e as unsigned and zero-extends it to n bits.
func ZExt(e *Expr, n int) *Expr {
	if n < e.Width() {
		e.errorf("zero extension of %s to %d bits would narrow it (use Trunc)", e.shape, n)
		n = e.Width()
	}
	return e.node(OpExt, U(n), e)
}

// Trunc keeps the low n bits, with e's signedness.
func (e *Expr) Trunc(n int) *Expr {
	if n < 1 || n > e.Width() {
		e.errorf("truncation of %s to %d bits: must be in [1, %d]", e.shape, n, e.Width())
		n = e.Width()
	}
	return e.node(OpTrunc, Shape{n, e.Signed()}, e)
}

// AsSigned reinterprets the bits as signed.
func (e *Expr) AsSigned() *Expr {
	if e.Signed() {
		return e
	}
	return e.node(OpCast, S(e.Width()), e)
}

// AsUnsigned reinterprets the bits as unsigned.
func (e *Expr) AsUnsigned() *Expr {
	if !e.Signed() {
		return e
	}
	return e.node(OpCast, U(e.Width()), e)
}

// MulAcc returns acc + a*b wrapped to acc's width (two's complement): the
// multiply-accumulate of a PE. It computes the same bits as adding the
// product a.Mul(b), brought to acc's width w (extended or truncated), to
// acc and keeping the low w bits, but is printed as one fused
// expression, the form FPGA synthesis (Yosys synth_ice40 -dsp) packs whole
// into a DSP block with its adder. a and b must agree with acc in
// signedness and be no wider than acc.
func MulAcc(acc, a, b *Expr) *Expr {
	acc.sameSign("mulacc", a)
	acc.sameSign("mulacc", b)
	if a.Width() > acc.Width() || b.Width() > acc.Width() {
		acc.errorf("mulacc of %s and %s into %s: operands must be no wider than the accumulator", a.shape, b.shape, acc.shape)
	}
	return acc.node(OpMulAcc, acc.shape, acc, a, b)
}

// AnyBits is the or-reduction.
func (e *Expr) AnyBits() *Expr { return e.node(OpAnyBits, U(1), e) }

// AllBits is the and-reduction.
func (e *Expr) AllBits() *Expr { return e.node(OpAllBits, U(1), e) }

// XorBits is the parity.
func (e *Expr) XorBits() *Expr { return e.node(OpXorBits, U(1), e) }

// LogicalNot is 1 when e is zero.
func (e *Expr) LogicalNot() *Expr {
	if e.Width() == 1 {
		return e.Not()
	}
	return e.AnyBits().Not()
}

func (e *Expr) String() string {
	switch e.op {
	case OpSignal:
		return e.sig.name
	case OpConst:
		return fmt.Sprintf("%s'%s", e.shape, e.val)
	}
	return fmt.Sprintf("<op %d %s>", e.op, e.shape)
}
