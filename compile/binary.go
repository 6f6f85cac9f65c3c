package compile

import (
	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/quant"
)

// padBinaryK pads K to a multiple of rows for a binary (mac "xnor")
// weight-stationary unit. A zero lane is not a zero there (it packs n
// values of -1), so the padded rows get activation lane 0 and the weight
// lane whose dot product with it is 0 (quant.BinaryPadLane) instead of the
// zero padding that an integer unit's products make vanish.
func padBinaryK(cfg arch.Config, a, b Matrix) (Matrix, Matrix) {
	M, K := a.Dims()
	_, N := b.Dims()
	R := cfg.Rows
	if !cfg.MAC.IsBinary() || cfg.Dataflow.IsOS() || K%R == 0 {
		return a, b
	}
	kp := (K + R - 1) / R * R
	pa := NewMatrix(M, kp)
	for i := range pa {
		copy(pa[i], a[i])
	}
	pb := NewMatrix(kp, N)
	pad := quant.BinaryPadLane(cfg.WeightBits)
	for k := range pb {
		if k < K {
			copy(pb[k], b[k])
			continue
		}
		for j := range pb[k] {
			pb[k][j] = pad
		}
	}
	return pa, pb
}
