package quant

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestFloat16Vectors(t *testing.T) {
	cases := []struct {
		f    float32
		want uint16
	}{
		{0, 0x0000}, {float32(math.Copysign(0, -1)), 0x8000},
		{1, 0x3c00}, {-2, 0xc000}, {0.5, 0x3800}, {65504, 0x7bff},
		{65519, 0x7bff}, {65520, 0x7c00}, // half-way to 2^16 rounds to Inf
		{float32(math.Inf(1)), 0x7c00}, {float32(math.Inf(-1)), 0xfc00},
		{6.103515625e-05, 0x0400},        // smallest normal 2^−14
		{5.960464477539063e-08, 0x0001},  // smallest subnormal 2^−24
		{2.9802322387695312e-08, 0x0000}, // 2^−25: tie, to even (0)
		{4.470348358154297e-08, 0x0001},  // 1.5·2^−25
		{8.940696716308594e-08, 0x0002},  // 1.5·2^−24: tie, to even (2)
		{6.100535392761230e-05, 0x0400},  // largest subnormal + ½ulp: tie rounds up into the normals
		{1.00048828125, 0x3c00},          // 1 + 2^−11: tie, to even
		{1.00146484375, 0x3c02},          // 1 + 3·2^−11: tie, to even (up)
		{float32(math.SmallestNonzeroFloat32), 0},
		{3.4028235e38, 0x7c00},
	}
	for _, c := range cases {
		if got := Float32ToFloat16(c.f); got != c.want {
			t.Errorf("Float32ToFloat16(%g) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
	if h := Float32ToFloat16(float32(math.NaN())); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Errorf("NaN → %#04x, not a NaN", h)
	}
	if h := Float32ToFloat16(math.Float32frombits(0xff800001)); h&0x7fff <= 0x7c00 || h&0x8000 == 0 {
		t.Errorf("negative NaN with low payload → %#04x, not a negative NaN", h)
	}
}

// TestFloat16Exhaustive: every binary16 value converts to float32 and back
// unchanged (NaNs stay NaN), and every float32 between two adjacent halves
// rounds to the nearer, ties to even.
func TestFloat16Exhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := Float16ToFloat32(h)
		back := Float32ToFloat16(f)
		if math.IsNaN(float64(f)) {
			if back&0x7c00 != 0x7c00 || back&0x3ff == 0 {
				t.Fatalf("NaN %#04x → %#04x", h, back)
			}
			continue
		}
		if back != h {
			t.Fatalf("%#04x → %g → %#04x", h, f, back)
		}
	}
	// Midpoints and their neighbours between consecutive finite positives.
	for i := 0; i < 0x7bff; i++ {
		lo, hi := float64(Float16ToFloat32(uint16(i))), float64(Float16ToFloat32(uint16(i+1)))
		mid := float32((lo + hi) / 2) // exact in float32
		even := uint16(i)
		if i&1 == 1 {
			even = uint16(i + 1)
		}
		if got := Float32ToFloat16(mid); got != even {
			t.Fatalf("midpoint %g of %#04x,%#04x → %#04x, want %#04x", mid, i, i+1, got, even)
		}
		if got := Float32ToFloat16(math.Nextafter32(mid, float32(lo))); got != uint16(i) {
			t.Fatalf("below midpoint %g → %#04x, want %#04x", mid, got, i)
		}
		if got := Float32ToFloat16(math.Nextafter32(mid, float32(hi))); got != uint16(i+1) {
			t.Fatalf("above midpoint %g → %#04x, want %#04x", mid, got, i+1)
		}
		if got := Float32ToFloat16(-mid); got != even|0x8000 {
			t.Fatalf("negative midpoint %g → %#04x", -mid, got)
		}
	}
}

func TestBFloat16(t *testing.T) {
	cases := []struct {
		bits uint32
		want uint16
	}{
		{0x3f800000, 0x3f80}, // 1
		{0x3f808000, 0x3f80}, // tie, to even (down)
		{0x3f818000, 0x3f82}, // tie, to even (up)
		{0x3f808001, 0x3f81}, // above the tie
		{0x7f7fffff, 0x7f80}, // max float rounds to Inf
		{0x00000001, 0x0000}, // tiny subnormal to zero
		{0x807fffff, 0x8080}, // subnormal rounds up into the normals
		{0x7f800000, 0x7f80}, {0xff800000, 0xff80},
	}
	for _, c := range cases {
		if got := Float32ToBFloat16(math.Float32frombits(c.bits)); got != c.want {
			t.Errorf("Float32ToBFloat16(%#08x) = %#04x, want %#04x", c.bits, got, c.want)
		}
	}
	for _, nan := range []uint32{0x7fc00000, 0x7f800001, 0xff800001} {
		if got := Float32ToBFloat16(math.Float32frombits(nan)); got&0x7f80 != 0x7f80 || got&0x7f == 0 {
			t.Errorf("NaN %#08x → %#04x, not a NaN", nan, got)
		}
	}
	for i := 0; i < 1<<16; i++ {
		f := BFloat16ToFloat32(uint16(i))
		if math.IsNaN(float64(f)) {
			continue
		}
		if back := Float32ToBFloat16(f); back != uint16(i) {
			t.Fatalf("%#04x → %g → %#04x", i, f, back)
		}
	}
	r := rand.New(rand.NewPCG(11, 12))
	for i := 0; i < 100000; i++ {
		f := math.Float32frombits(r.Uint32() & 0x7f7fffff)
		h := Float32ToBFloat16(f)
		got := float64(BFloat16ToFloat32(h))
		if math.IsInf(got, 1) {
			// IEEE overflow: only at or beyond max + ½ulp = (2 − 2^−8)·2^127.
			if float64(f) < (2-1.0/256)*math.Ldexp(1, 127) {
				t.Fatalf("%g rounded to Inf below the overflow threshold", f)
			}
			continue
		}
		for _, n := range []uint16{h - 1, h + 1} {
			alt := float64(BFloat16ToFloat32(n))
			if math.IsInf(alt, 0) || math.IsNaN(alt) {
				continue
			}
			if math.Abs(alt-float64(f)) < math.Abs(got-float64(f)) {
				t.Fatalf("%g → %#04x (%g) but %#04x (%g) is nearer", f, h, got, n, alt)
			}
		}
	}
}
