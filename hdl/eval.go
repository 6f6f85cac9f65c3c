package hdl

import (
	"fmt"
	"math/big"
)

// Eval computes e's bit pattern (0 <= v < 2^width) from the patterns of the
// signals it reads. It is the reference meaning of the width rules, written
// independently of any Verilog text, so tests can check the emitter against it.
func Eval(e *Expr, env func(*Signal) *big.Int) *big.Int {
	val := func(x *Expr) *big.Int { return toInt(Eval(x, env), x.shape) }
	a := e.args
	var v *big.Int
	switch e.op {
	case OpConst:
		return new(big.Int).Set(e.val)
	case OpSignal:
		return pattern(env(e.sig), e.Width())
	case OpAdd:
		v = new(big.Int).Add(val(a[0]), val(a[1]))
	case OpSub:
		v = new(big.Int).Sub(val(a[0]), val(a[1]))
	case OpMul:
		v = new(big.Int).Mul(val(a[0]), val(a[1]))
	case OpMulAcc:
		v = new(big.Int).Add(val(a[0]), new(big.Int).Mul(val(a[1]), val(a[2])))
	case OpNeg:
		v = new(big.Int).Neg(val(a[0]))
	case OpAnd:
		v = new(big.Int).And(Eval(a[0], env), Eval(a[1], env))
	case OpOr:
		v = new(big.Int).Or(Eval(a[0], env), Eval(a[1], env))
	case OpXor:
		v = new(big.Int).Xor(Eval(a[0], env), Eval(a[1], env))
	case OpNot:
		v = new(big.Int).Not(Eval(a[0], env))
	case OpShl:
		v = new(big.Int).Lsh(val(a[0]), uint(e.amount))
	case OpShr:
		v = new(big.Int).Rsh(val(a[0]), uint(e.amount)) // floor division: arithmetic for negatives
	case OpShlBy, OpShrBy:
		// Shifting by the width or more gives the same result as by the
		// width; clamping keeps huge amounts from allocating huge numbers.
		sh := Eval(a[1], env)
		if !sh.IsUint64() || sh.Uint64() > uint64(e.Width()) {
			sh = big.NewInt(int64(e.Width()))
		}
		if e.op == OpShlBy {
			v = new(big.Int).Lsh(val(a[0]), uint(sh.Uint64()))
		} else {
			v = new(big.Int).Rsh(val(a[0]), uint(sh.Uint64()))
		}
	case OpEq, OpNe, OpLt, OpLe, OpGt, OpGe:
		c := val(a[0]).Cmp(val(a[1]))
		ok := map[Op]bool{OpEq: c == 0, OpNe: c != 0, OpLt: c < 0, OpLe: c <= 0, OpGt: c > 0, OpGe: c >= 0}[e.op]
		if ok {
			return big.NewInt(1)
		}
		return new(big.Int)
	case OpSlice:
		v = new(big.Int).Rsh(Eval(a[0], env), uint(e.lo))
	case OpCat:
		v = new(big.Int)
		for _, p := range a {
			v.Lsh(v, uint(p.Width()))
			v.Or(v, Eval(p, env))
		}
	case OpRepl:
		v = new(big.Int)
		p := Eval(a[0], env)
		for i := 0; i < e.amount; i++ {
			v.Lsh(v, uint(a[0].Width()))
			v.Or(v, p)
		}
	case OpMux:
		if Eval(a[0], env).Sign() != 0 {
			v = val(a[1])
		} else {
			v = val(a[2])
		}
	case OpExt:
		v = toInt(Eval(a[0], env), Shape{a[0].Width(), e.Signed()})
	case OpTrunc, OpCast:
		v = Eval(a[0], env)
	case OpAnyBits:
		return b2i(Eval(a[0], env).Sign() != 0)
	case OpAllBits:
		return b2i(Eval(a[0], env).Cmp(pattern(big.NewInt(-1), a[0].Width())) == 0)
	case OpXorBits:
		p := Eval(a[0], env)
		n := 0
		for i := 0; i < a[0].Width(); i++ {
			n ^= int(p.Bit(i))
		}
		return big.NewInt(int64(n))
	default:
		panic(fmt.Sprintf("hdl.Eval: unknown op %d", e.op))
	}
	return pattern(v, e.Width())
}

func b2i(b bool) *big.Int {
	if b {
		return big.NewInt(1)
	}
	return new(big.Int)
}

// toInt interprets a bit pattern as a value of shape s.
func toInt(p *big.Int, s Shape) *big.Int {
	if s.Signed && p.Bit(s.Width-1) == 1 {
		return new(big.Int).Sub(p, new(big.Int).Lsh(big.NewInt(1), uint(s.Width)))
	}
	return new(big.Int).Set(p)
}
