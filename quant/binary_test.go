package quant

import (
	"math/rand"
	"testing"
)

// unpacked returns lane's n values in {-1, +1}.
func unpacked(lane int64, n int) []int64 {
	v := make([]int64, n)
	for i := range v {
		v[i] = -1
		if lane>>uint(i)&1 == 1 {
			v[i] = 1
		}
	}
	return v
}

func TestXnorDot(t *testing.T) {
	// Worked example: a = +1 -1 +1 +1 (bits 1101, LSB first: 0b1101 = 13),
	// w = +1 +1 -1 +1 (0b1011 = 11): 1 - 1 - 1 + 1 = 0.
	if got := XnorDot(13, 11, 4); got != 0 {
		t.Errorf("XnorDot(13, 11, 4) = %d, want 0", got)
	}
	if got := XnorDot(-1, -1, 8); got != 8 {
		t.Errorf("all +1 with all +1: %d, want 8", got)
	}
	if got := XnorDot(0, -1, 8); got != -8 {
		t.Errorf("all -1 with all +1: %d, want -8", got)
	}
	r := rand.New(rand.NewSource(1))
	for _, n := range []int{1, 4, 8, 16} {
		for i := 0; i < 500; i++ {
			a, w := r.Int63n(1<<uint(n)), r.Int63n(1<<uint(n))
			var want int64
			ua, uw := unpacked(a, n), unpacked(w, n)
			for k := range ua {
				want += ua[k] * uw[k]
			}
			// The containers are signed: the same pattern sign-extended.
			if got := XnorDot(a-(a>>uint(n-1))<<uint(n), w, n); got != want {
				t.Fatalf("n %d: XnorDot(%#x, %#x) = %d, want %d", n, a, w, got, want)
			}
		}
	}
	for _, n := range []int{2, 4, 8, 16} {
		if got := XnorDot(0, BinaryPadLane(n), n); got != 0 {
			t.Errorf("pad lane %d bits: dot with 0 is %d, want 0", n, got)
		}
	}
}

func TestPackSignsFC(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	const depth, units, batches = 20, 3, 2
	x := make([]int8, batches*depth)
	w := make([]int8, units*depth)
	for _, v := range [][]int8{x, w} {
		for i := range v {
			v[i] = int8(2*r.Intn(2) - 1)
		}
	}
	var px, pw []int8
	for b := 0; b < batches; b++ {
		l, pads, err := PackSigns(x[b*depth:(b+1)*depth], 8)
		if err != nil || pads != 4 {
			t.Fatalf("PackSigns: pads %d err %v, want 4 pads", pads, err)
		}
		px = append(px, l...)
	}
	for u := 0; u < units; u++ {
		l, _, _ := PackSigns(w[u*depth:(u+1)*depth], 8)
		pw = append(pw, l...)
	}
	acc, err := BinaryFullyConnectedAccumulate(px, batches, pw, units, 8)
	if err != nil {
		t.Fatal(err)
	}
	for b := 0; b < batches; b++ {
		for u := 0; u < units; u++ {
			var want int32
			for d := 0; d < depth; d++ {
				want += int32(x[b*depth+d]) * int32(w[u*depth+d])
			}
			// The 4 padded bits are 0 in both lanes: each adds +1.
			if got := acc[b*units+u] - 4; got != want {
				t.Errorf("batch %d unit %d: %d, want %d", b, u, got, want)
			}
		}
	}
}
