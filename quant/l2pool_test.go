package quant

import (
	"math"
	"testing"
)

// TestRoundedSqrt checks the exact root against float64's correctly
// rounded sqrt for every sum a 7×7 window of int8 differences can reach
// (up to 49·255²), where float64 cannot land on a half.
func TestRoundedSqrt(t *testing.T) {
	for n := uint64(0); n <= 49*255*255; n++ {
		want := uint64(math.Round(math.Sqrt(float64(n))))
		if got := RoundedSqrt(n); got != want {
			t.Fatalf("RoundedSqrt(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestL2Pool(t *testing.T) {
	s := Shape{N: 1, H: 2, W: 2, C: 2}
	prm := PoolParams{Window: Window{StrideH: 2, StrideW: 2, Padding: PaddingValid}, FilterH: 2, FilterW: 2}
	for _, c := range []struct {
		desc string
		in   []int8
		zp   int32
		want []int8
	}{
		// channel 0: 3,4,0,0 → 5; channel 1: 1,1,1,1 → 2.
		{"pythagoras", []int8{3, 1, 4, 1, 0, 1, 0, 1}, 0, []int8{5, 2}},
		// the zero point is subtracted first and added back: d = 3,4,0,0.
		{"zero point", []int8{-7, -10, -6, -10, -10, -10, -10, -10}, -10, []int8{-5, -10}},
		// 1,1,1,0: sqrt 3 = 1.73 → 2; 1,1,0,0: sqrt 2 = 1.41 → 1.
		{"rounding", []int8{1, 1, 1, 1, 1, 0, 0, 0}, 0, []int8{2, 1}},
		// all -128 with zp 127: d = -255, sqrt(4·255²) = 510 → saturates.
		{"saturate", []int8{-128, -128, -128, -128, -128, -128, -128, -128}, 127, []int8{127, 127}},
		// all 127 with zp -128: d = 255 → -128 + 510 saturates too.
		{"all 127", []int8{127, 127, 127, 127, 127, 127, 127, 127}, -128, []int8{127, 127}},
		// all -128 at zp -128: every difference is 0.
		{"all zero point", []int8{-128, -128, -128, -128, -128, -128, -128, -128}, -128, []int8{-128, -128}},
	} {
		got, _, err := L2Pool(c.in, s, prm, c.zp)
		if err != nil {
			t.Fatalf("%s: %v", c.desc, err)
		}
		if string(bytesOf(got)) != string(bytesOf(c.want)) {
			t.Errorf("%s: got %v, want %v", c.desc, got, c.want)
		}
	}
	if _, _, err := L2Pool(make([]int8, 8), s, prm, 200); err == nil {
		t.Error("zero point 200 accepted")
	}
}

func bytesOf(v []int8) []byte {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x)
	}
	return b
}
