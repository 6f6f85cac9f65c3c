package quant

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkConv2DFloat is the float reference on the shape of
// BenchmarkConv2D, for the int8/float ratio.
func BenchmarkConv2DFloat(b *testing.B) {
	r := rand.New(rand.NewPCG(29, 30))
	in := Shape{N: 1, H: 32, W: 32, C: 32}
	f := Shape{N: 32, H: 3, W: 3, C: 32}
	x := make([]float32, in.Len())
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	w := make([]float32, f.Len())
	for i := range w {
		w[i] = float32(r.NormFloat64())
	}
	win := Window{StrideH: 1, StrideW: 1, Padding: PaddingSame}
	macs := float64(in.H * in.W * f.N * f.H * f.W * f.C)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := Conv2DFloat(x, in, w, f, nil, win); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds(), "MACs/s")
}
