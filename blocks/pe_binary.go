package blocks

import (
	"errors"
	"fmt"

	"github.com/tpugen/tpugen/hdl"
)

// Binary PEs (mac "xnor"): an input lane and a weight lane each pack
// InputBits values in {-1, +1}, bit i of the lane holding one value (1 is
// +1, 0 is -1). Two equal bits multiply to +1 and two different bits to
// -1, so the lanes' dot product is (number of equal bits) - (number of
// different bits) = 2*popcount(xnor(act, w)) - InputBits. The PE adds it
// where an integer PE adds act*w; the array, the skew, the accumulators and
// the pipeline are those of the integer unit.

// binaryDotBits is the width of one binary dot product: a signed value in
// [-n, n].
func binaryDotBits(n int) int { return hdl.Clog2(n+1) + 1 }

// binaryDot returns 2*popcount(xnor(act, w)) - n for two n-bit lanes,
// signed, binaryDotBits(n) wide, on wires of m. The popcount is a balanced tree of exact
// adds, so its depth grows with log2(n).
func binaryDot(m *hdl.Module, act, w *hdl.Expr) *hdl.Expr {
	n := act.Width()
	eq := m.Wire("agree", hdl.U(n))
	m.Set(eq, act.AsUnsigned().Xor(w.AsUnsigned()).Not())
	level := make([]*hdl.Expr, n)
	for i := range level {
		level[i] = eq.Bit(i)
	}
	for len(level) > 1 {
		var next []*hdl.Expr
		for i := 0; i+1 < len(level); i += 2 {
			next = append(next, level[i].Add(level[i+1]))
		}
		if len(level)%2 == 1 {
			next = append(next, level[len(level)-1])
		}
		level = next
	}
	pw := binaryDotBits(n)
	pop := m.Wire("popcount", hdl.U(pw-1))
	m.Set(pop, hdl.ZExt(level[0], pw-1))
	dot := m.Wire("dot", hdl.S(pw))
	p := hdl.ZExt(pop, pw).AsSigned()
	m.Set(dot, p.Add(p).Sub(m.Const(int64(n), hdl.S(pw))).Trunc(pw))
	return dot
}

// validateBinary reports what a binary (mac "xnor") unit cannot be built
// with, one error per problem.
func (c MatrixConfig) validateBinary() []error {
	var errs []error
	if c.InputBits != c.WeightBits {
		errs = append(errs, fmt.Errorf("mac \"xnor\" packs as many values in an input lane as in a weight lane: input_bits %d and weight_bits %d must be equal", c.InputBits, c.WeightBits))
	}
	if !c.InputSigned || !c.WeightSigned {
		errs = append(errs, errors.New("mac \"xnor\" needs input_signed and weight_signed true: a lane is a bit pattern carried in a signed container, and the dot products are signed"))
	}
	if c.MACStages > 0 {
		errs = append(errs, fmt.Errorf("mac \"xnor\" and mac_stages %d exclude each other: the stages split a multiplier, and a binary PE has none", c.MACStages))
	}
	return errs
}
