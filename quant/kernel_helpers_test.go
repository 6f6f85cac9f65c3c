package quant

import (
	"math"
	"math/rand/v2"
)

// randInt8 returns n codes in [lo, hi].
func randInt8(r *rand.Rand, n int, lo, hi int) []int8 {
	out := make([]int8, n)
	for i := range out {
		out[i] = int8(lo + r.IntN(hi-lo+1))
	}
	return out
}

// withinOneLSB compares int8 results with the TFLite quantization of a
// float reference and returns the index of the first miss, or −1.
func withinOneLSB(got []int8, ref []float32, out Params, lo, hi int32) int {
	for i, g := range got {
		want := clamp32(out.Quantize(ref[i]), lo, hi)
		if d := int32(g) - want; d > 1 || d < -1 {
			return i
		}
	}
	return -1
}

func absDiff(a, b float64) float64 { return math.Abs(a - b) }
