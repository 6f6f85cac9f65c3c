package sparse

import (
	"fmt"

	"github.com/tpugen/tpugen/compile"
)

// MACCount splits a layer's multiply-accumulates by what they multiply.
type MACCount struct {
	Total int64
	// ZeroActivation counts the MACs whose activation is the input zero
	// point: a real zero (after ReLU, or a convolution's padding), which
	// adds nothing however the weight reads.
	ZeroActivation int64
	// ZeroWeight counts the MACs whose weight is zero.
	ZeroWeight int64
	// Both counts the MACs where both are.
	Both int64
}

// Add sums counts.
func (c *MACCount) Add(o MACCount) {
	c.Total += o.Total
	c.ZeroActivation += o.ZeroActivation
	c.ZeroWeight += o.ZeroWeight
	c.Both += o.Both
}

// Share is part / Total (0 for no MACs).
func (c MACCount) Share(part int64) float64 {
	if c.Total == 0 {
		return 0
	}
	return float64(part) / float64(c.Total)
}

// CountMACs classifies the MACs of a layer bound to its input (as
// compile.Op.Bind gives it, a batch in its rows): every element of the
// GEMM's A (the im2col matrix, padded taps holding the zero point) meets
// every weight of its row of B. It is what a zero-skipping datapath could
// save on this input; the matrix unit computes all of them.
func CountMACs(l *compile.Layer) (MACCount, error) {
	a, b, _, err := l.Lower()
	if err != nil {
		return MACCount{}, fmt.Errorf("count MACs: %w", err)
	}
	M, K := a.Dims()
	_, N := b.Dims()
	zw := make([]int64, K) // zero weights per row of B
	for k := 0; k < K; k++ {
		for _, v := range b[k] {
			if v == 0 {
				zw[k]++
			}
		}
	}
	zp := int64(l.InputZP)
	c := MACCount{Total: int64(M) * int64(K) * int64(N)}
	for i := 0; i < M; i++ {
		for k, v := range a[i] {
			c.ZeroWeight += zw[k]
			if v == zp {
				c.ZeroActivation += int64(N)
				c.Both += zw[k]
			}
		}
	}
	return c, nil
}
