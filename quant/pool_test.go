package quant

import (
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRoundedAverage(t *testing.T) {
	cases := []struct{ sum, count, want int32 }{
		{3, 2, 2}, {-3, 2, -2}, // ties away from zero
		{5, 4, 1}, {-5, 4, -1}, {6, 4, 2}, {-6, 4, -2}, {7, 4, 2}, {-7, 4, -2},
		{0, 9, 0}, {-4, 9, 0}, {-5, 9, -1}, {4, 9, 0}, {5, 9, 1},
	}
	for _, c := range cases {
		if got := RoundedAverage(c.sum, c.count); got != c.want {
			t.Errorf("RoundedAverage(%d, %d) = %d, want %d", c.sum, c.count, got, c.want)
		}
	}
}

func TestPoolHandComputed(t *testing.T) {
	// 1×2×4×1 input, 2×2 windows, stride 2.
	in := []int8{1, 2, -3, -4, 3, 4, -5, -5}
	s := Shape{N: 1, H: 2, W: 4, C: 1}
	p := PoolParams{Window: Window{StrideH: 2, StrideW: 2, Padding: PaddingValid}, FilterH: 2, FilterW: 2}
	avg, shape, err := AveragePool(in, s, p)
	if err != nil {
		t.Fatal(err)
	}
	// (1+2+3+4)/4 = 2.5 → 3; (−3−4−5−5)/4 = −4.25 → −4.
	if shape != (Shape{N: 1, H: 1, W: 2, C: 1}) || !cmp.Equal(avg, []int8{3, -4}) {
		t.Errorf("avg = %v %v, want [3 -4]", shape, avg)
	}
	mx, _, err := MaxPool(in, s, p)
	if err != nil || !cmp.Equal(mx, []int8{4, -3}) {
		t.Errorf("max = %v, %v; want [4 -3]", mx, err)
	}
	// SAME 3×3 stride 1 at a corner: only the 4 taps inside count.
	corner, _, err := AveragePool([]int8{10, 20, 30, 41}, Shape{N: 1, H: 2, W: 2, C: 1},
		PoolParams{Window: Window{StrideH: 1, StrideW: 1, Padding: PaddingSame}, FilterH: 3, FilterW: 3})
	if err != nil || corner[0] != 25 { // 101/4 = 25.25
		t.Errorf("corner avg = %v, %v; want 25", corner, err)
	}
	// A fused ReLU6-like clamp.
	clamped, _, _ := MaxPool(in, s, PoolParams{Window: p.Window, FilterH: 2, FilterW: 2, ActMin: 0, ActMax: 3})
	if !cmp.Equal(clamped, []int8{3, 0}) {
		t.Errorf("clamped max = %v, want [3 0]", clamped)
	}
}

func TestPoolMatchesFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for trial := 0; trial < 40; trial++ {
		s := Shape{N: 1 + r.IntN(2), H: 2 + r.IntN(7), W: 2 + r.IntN(7), C: 1 + r.IntN(4)}
		p := PoolParams{Window: Window{StrideH: 1 + r.IntN(3), StrideW: 1 + r.IntN(3), Padding: Padding(r.IntN(2))},
			FilterH: 1 + r.IntN(3), FilterW: 1 + r.IntN(3)}
		x := randInt8(r, s.Len(), -128, 127)
		xr := make([]float32, len(x))
		for i, v := range x {
			xr[i] = float32(v) // codes as reals: pooling is scale-free
		}
		avg, _, err1 := AveragePool(x, s, p)
		ref, _, err2 := AveragePoolFloat(xr, s, p)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("trial %d: errors %v vs %v", trial, err1, err2)
		}
		if err1 != nil {
			continue
		}
		id := Params{Scale: 1, DType: Int8}
		for i := range avg {
			if int32(avg[i]) != id.Quantize(ref[i]) { // exact: half away from zero
				t.Fatalf("trial %d: avg[%d] = %d, float %v", trial, i, avg[i], ref[i])
			}
		}
		mx, _, _ := MaxPool(x, s, p)
		mref, _, _ := MaxPoolFloat(xr, s, p)
		for i := range mx {
			if float32(mx[i]) != mref[i] {
				t.Fatalf("trial %d: max[%d] = %d, float %v", trial, i, mx[i], mref[i])
			}
		}
	}
}
