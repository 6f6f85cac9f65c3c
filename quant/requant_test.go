package quant

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// bigFloorDiv returns floor(n / 2^k).
func bigFloorDiv(n *big.Int, k uint) *big.Int {
	d := new(big.Int).Lsh(big.NewInt(1), k)
	return new(big.Int).Div(n, d) // Euclidean: floor for d > 0
}

// refSRDHM is the definition of SaturatingRoundingDoublingHighMul in exact
// integers: floor(a·b/2^31 + 1/2), saturated.
func refSRDHM(a, b int32) int32 {
	if a == math.MinInt32 && b == math.MinInt32 {
		return math.MaxInt32
	}
	p := new(big.Int).Mul(big.NewInt(int64(a)), big.NewInt(int64(b)))
	p.Add(p, big.NewInt(1<<30))
	return int32(bigFloorDiv(p, 31).Int64())
}

// refRDBPOT is round-half-away-from-zero of x/2^e in exact integers.
func refRDBPOT(x int32, e int) int32 {
	if e == 0 {
		return x
	}
	n := big.NewInt(int64(x))
	neg := n.Sign() < 0
	n.Abs(n)
	n.Add(n, new(big.Int).Lsh(big.NewInt(1), uint(e-1)))
	r := bigFloorDiv(n, uint(e)).Int64()
	if neg {
		r = -r
	}
	return int32(r)
}

// refMBQMDouble composes the two exact roundings of the double-rounding
// form; refMBQMSingle is the one exact round-half-up of x·m·2^(shift−31).
func refMBQMDouble(x, m int32, shift int) int32 {
	left, right := max(shift, 0), max(-shift, 0)
	return refRDBPOT(refSRDHM(x*(int32(1)<<left), m), right)
}

func refMBQMSingle(x, m int32, shift int) int32 {
	p := new(big.Int).Mul(big.NewInt(int64(x)), big.NewInt(int64(m)))
	t := uint(31 - shift)
	p.Add(p, new(big.Int).Lsh(big.NewInt(1), t-1))
	return int32(bigFloorDiv(p, t).Int64())
}

func TestSaturatingRoundingDoublingHighMul(t *testing.T) {
	cases := []struct{ a, b, want int32 }{
		{math.MinInt32, math.MinInt32, math.MaxInt32}, // the only overflow
		{math.MinInt32, math.MaxInt32, -math.MaxInt32},
		{math.MaxInt32, math.MaxInt32, math.MaxInt32 - 1},
		{1 << 30, 1, 1},  // +0.5 → 1
		{-1 << 30, 1, 0}, // −0.5 → 0: ties go up, not away from zero
		{3 << 29, 1, 1},  // 0.75
		{-3 << 29, 1, -1},
		{7984, 1583594044, 5888},
	}
	for _, c := range cases {
		if got := SaturatingRoundingDoublingHighMul(c.a, c.b); got != c.want {
			t.Errorf("SRDHM(%d, %d) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		a, b := int32(r.Uint32()), int32(r.Uint32())
		if i%4 == 0 {
			b = int32(r.IntN(1 << 16))
		}
		if got, want := SaturatingRoundingDoublingHighMul(a, b), refSRDHM(a, b); got != want {
			t.Fatalf("SRDHM(%d, %d) = %d, exact %d", a, b, got, want)
		}
	}
}

func TestRoundingDivideByPOT(t *testing.T) {
	cases := []struct {
		x    int32
		e    int
		want int32
	}{
		{5, 1, 3}, {-5, 1, -3}, {4, 1, 2}, {-4, 1, -2},
		{6, 2, 2}, {-6, 2, -2}, {5, 2, 1}, {-5, 2, -1},
		{math.MaxInt32, 31, 1}, {math.MinInt32, 31, -1}, {-1 << 30, 31, -1}, {1 << 30, 31, 1},
		{5888, 9, 12}, {123, 0, 123},
	}
	for _, c := range cases {
		if got := RoundingDivideByPOT(c.x, c.e); got != c.want {
			t.Errorf("RoundingDivideByPOT(%d, %d) = %d, want %d", c.x, c.e, got, c.want)
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 20000; i++ {
		x, e := int32(r.Uint32()), r.IntN(32)
		if got, want := RoundingDivideByPOT(x, e), refRDBPOT(x, e); got != want {
			t.Fatalf("RoundingDivideByPOT(%d, %d) = %d, exact %d", x, e, got, want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("RoundingDivideByPOT(1, 32) did not panic")
		}
	}()
	RoundingDivideByPOT(1, 32)
}

// Published vectors: tensorflow/lite/kernels/internal/quantization_util_test.cc
// (QuantizeMultiplierSmallerThanOneExp, QuantizeMultiplierGreaterThanOne,
// QuantizeMultiplierUnderflow, QuantizeMultiplierArray).
func TestQuantizeMultiplierPublished(t *testing.T) {
	cases := []struct {
		real  float64
		m     int32
		shift int
	}{
		{0, 0, 0},
		{0.25, 1073741824, -1},
		{0.50 - 5e-9, 2147483627, -1},
		{0.50 - 1e-10, 1073741824, 0}, // rounds to 2^31: halved, shift+1
		{0.50, 1073741824, 0},
		{0.75, 1610612736, 0},
		{1 - 1e-9, 2147483646, 0},
		{1 + 1e-11, 1073741824, 1},
		{1.25, 1342177280, 1},
		{1.50, 1610612736, 1},
		{1.75, 1879048192, 1},
		{2 - 1e-9, 2147483647, 1},
		{2 - 1e-11, 1073741824, 2},
		{2, 1073741824, 2},
		{math.Ldexp(1, -31), 1073741824, -30},
		{math.Ldexp(1, -32), 1073741824, -31},
		{float64(float32(math.Ldexp(0.99, -32))), 0, 0}, // flushed to zero
		{math.Ldexp(1, -33), 0, 0},
		{-4, -1073741824, 3}, {-0.125, -1073741824, -2}, {0.125, 1073741824, -2}, {4, 1073741824, 3},
	}
	for _, c := range cases {
		m, s := QuantizeMultiplier(c.real)
		if m != c.m || s != c.shift {
			t.Errorf("QuantizeMultiplier(%v) = (%d, %d), want (%d, %d)", c.real, m, s, c.m, c.shift)
		}
	}
}

// TestIssue25087 is the discriminating case of tensorflow/tensorflow issue
// 25087: the two roundings of the classic form give 12 where one rounding of
// the exact product 11.4989… gives 11.
func TestIssue25087(t *testing.T) {
	const x, m, shift = 7984, 1583594044, -9
	if got := MultiplyByQuantizedMultiplier(x, m, shift); got != 12 {
		t.Errorf("double rounding = %d, want 12", got)
	}
	if got := MultiplyByQuantizedMultiplierSingleRounding(x, m, shift); got != 11 {
		t.Errorf("single rounding = %d, want 11", got)
	}
	if got := Requantize(x, 0, m, shift, 0, -128, 127, RoundingSingle); got != 11 {
		t.Errorf("Requantize single = %d, want 11", got)
	}
}

// mbqmVector is one expected MultiplyByQuantizedMultiplier result.
type mbqmVector struct {
	x     int32
	real  float64 // quantized with QuantizeMultiplier when m == 0
	m     int32
	shift int
	want  int32
	// singleToo: the vector holds in single-rounding builds as well.
	singleToo bool
	src       string
}

// publishedMBQM are the vectors of quantization_util_test.cc
// (MultiplyByQuantizedMultiplierInt32), checked by the file in both
// TFLITE_SINGLE_ROUNDING builds and not, plus issue 25087.
func publishedMBQM() []mbqmVector {
	const src = "tensorflow/lite/kernels/internal/quantization_util_test.cc"
	x, qm, s := int32(math.MaxInt32), int32(math.MaxInt32), -3
	expected := int32(math.Round(float64(int64(x)*int64(qm)) / float64(int64(1)<<(31-s))))
	return []mbqmVector{
		{x: 0, real: 0.1, want: 0, singleToo: true, src: src},
		{x: 1, real: 0, want: 0, singleToo: true, src: src},
		{x: 10000, real: 0.00097656, want: 10, singleToo: true, src: src},
		{x: -10000, real: 0.00097656, want: -10, singleToo: true, src: src},
		{x: math.MinInt32, real: 0.00001, want: -21475, singleToo: true, src: src},
		{x: math.MaxInt32, real: 0.00001, want: 21475, singleToo: true, src: src},
		{x: 10000, real: -0.00097656, want: -10, src: src},
		{x: -10000, real: -0.00097656, want: 10, src: src},
		{x: math.MinInt32, real: -0.00001, want: 21475, src: src},
		{x: math.MaxInt32, real: -0.00001, want: -21475, src: src},
		{x: x, m: qm, shift: s, want: expected, singleToo: true, src: src},
		{x: -x, m: qm, shift: s, want: -expected, singleToo: true, src: src},
		{x: 7984, m: 1583594044, shift: -9, want: 12, src: "tensorflow/tensorflow issue 25087"},
	}
}

// checkMBQM runs a candidate double-rounding MultiplyByQuantizedMultiplier
// against the published vectors and an exact-integer model of its
// definition over a sweep that includes every kind of tie; it returns the
// failures. The tests below feed it the real function and deliberate
// mutants, so a wrong arithmetic is shown to be caught.
func checkMBQM(f func(x, m int32, shift int) int32) []string {
	var fails []string
	for _, v := range publishedMBQM() {
		m, s := v.m, v.shift
		if m == 0 {
			m, s = QuantizeMultiplier(v.real)
		}
		if got := f(v.x, m, s); got != v.want {
			fails = append(fails, fmt.Sprintf("%s: MBQM(%d, %d, %d) = %d, want %d", v.src, v.x, m, s, got, v.want))
		}
	}
	for _, m := range []int32{1 << 30, 1610612736, 1583594044, 2147483647, -1 << 30} {
		for _, shift := range []int{-9, -3, -1, 0, 1} {
			for x := int32(-3000); x <= 3000; x++ {
				if got, want := f(x, m, shift), refMBQMDouble(x, m, shift); got != want {
					fails = append(fails, fmt.Sprintf("MBQM(%d, %d, %d) = %d, exact model %d", x, m, shift, got, want))
				}
			}
		}
	}
	return fails
}

func TestMultiplyByQuantizedMultiplier(t *testing.T) {
	if fails := checkMBQM(MultiplyByQuantizedMultiplier); len(fails) > 0 {
		t.Fatalf("%d failures, first: %s", len(fails), fails[0])
	}
	for _, v := range publishedMBQM() {
		if !v.singleToo {
			continue
		}
		m, s := v.m, v.shift
		if m == 0 {
			m, s = QuantizeMultiplier(v.real)
		}
		if got := MultiplyByQuantizedMultiplierSingleRounding(v.x, m, s); got != v.want {
			t.Errorf("%s: single MBQM(%d, %d, %d) = %d, want %d", v.src, v.x, m, s, got, v.want)
		}
	}
}

// TestCheckerCatchesMutants shows the checking helper fails deliberately
// wrong requantizers: a RoundingDivideByPOT that rounds half up instead of
// away from zero, and a high multiply without the rounding nudge.
func TestCheckerCatchesMutants(t *testing.T) {
	halfUpShift := func(x, m int32, shift int) int32 {
		left, right := max(shift, 0), max(-shift, 0)
		h := SaturatingRoundingDoublingHighMul(x*(int32(1)<<left), m)
		if right == 0 {
			return h
		}
		return int32((int64(h) + int64(1)<<(right-1)) >> right) // ties toward +∞
	}
	noNudge := func(x, m int32, shift int) int32 {
		left, right := max(shift, 0), max(-shift, 0)
		h := int32(int64(x*(int32(1)<<left)) * int64(m) / (1 << 31)) // truncates
		return RoundingDivideByPOT(h, right)
	}
	for name, f := range map[string]func(int32, int32, int) int32{"half-up shift": halfUpShift, "no nudge": noNudge} {
		if fails := checkMBQM(f); len(fails) == 0 {
			t.Errorf("mutant %q passed the checker", name)
		} else {
			t.Logf("mutant %q caught: %d failures, e.g. %s", name, len(fails), fails[0])
		}
	}
}

// TestSingleRoundingExact: the single-rounding form is exactly one
// round-half-up of the exact product.
func TestSingleRoundingExact(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 20000; i++ {
		x := int32(r.Uint32())
		m := int32(r.Uint32() >> 1)
		shift := -r.IntN(32)
		if got, want := MultiplyByQuantizedMultiplierSingleRounding(x, m, shift), refMBQMSingle(x, m, shift); got != want {
			t.Fatalf("single(%d, %d, %d) = %d, exact %d", x, m, shift, got, want)
		}
	}
}

// TestDoubleVsSingleRounding: the two forms differ by at most one, and only
// where they must — when the exact value lies within the first rounding's
// error of a half-way point (or on a negative tie, which the second rounding
// sends away from zero and single rounding sends up).
func TestDoubleVsSingleRounding(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	diffs := 0
	for i := 0; i < 200000; i++ {
		x := int32(r.IntN(1<<20)) - 1<<19
		m := int32(1<<30 + r.IntN(1<<30))
		right := 1 + r.IntN(12)
		d := MultiplyByQuantizedMultiplier(x, m, -right)
		s := MultiplyByQuantizedMultiplierSingleRounding(x, m, -right)
		if d == s {
			continue
		}
		diffs++
		if d-s != 1 && s-d != 1 {
			t.Fatalf("x=%d m=%d shift=%d: double %d, single %d differ by more than 1", x, m, -right, d, s)
		}
		// v·2^(31+right) = x·m; distance from the nearest half-way point, in
		// units of 2^31 (one LSB of the high multiply).
		p := new(big.Int).Mul(big.NewInt(int64(x)), big.NewInt(int64(m)))
		unit := new(big.Int).Lsh(big.NewInt(1), uint(31+right))
		half := new(big.Int).Lsh(big.NewInt(1), uint(30+right))
		mod := new(big.Int).Mod(p, unit)
		dist := new(big.Int).Sub(mod, half)
		dist.Abs(dist)
		if dist.Cmp(big.NewInt(1<<31)) > 0 {
			t.Fatalf("x=%d m=%d shift=%d: forms differ (%d vs %d) far from a tie", x, m, -right, d, s)
		}
	}
	if diffs == 0 {
		t.Error("no differences found: the sweep does not exercise the double rounding")
	}
	t.Logf("double and single rounding differ on %d of 200000 random cases, all near ties", diffs)
}

func TestRequantize(t *testing.T) {
	m, s := QuantizeMultiplier(0.25)
	cases := []struct {
		acc, bias, zp, lo, hi int32
		mode                  Rounding
		want                  int32
	}{
		{100, 0, 0, -128, 127, RoundingDouble, 25},
		{100, 10, -5, -128, 127, RoundingDouble, 23}, // 27.5 → 28, −5
		{1000, 0, 0, -128, 127, RoundingDouble, 127},
		{-1000, 0, 0, -128, 127, RoundingDouble, -128},
		{-6, 0, 0, -128, 127, RoundingDouble, -2}, // −1.5 away from zero
		{-6, 0, 0, -128, 127, RoundingSingle, -1}, // −1.5 up
		{100, 0, 3, 0, 127, RoundingDouble, 28},
		{-100, 0, 3, 0, 127, RoundingDouble, 0},                // ReLU range
		{math.MaxInt32, 1, 0, -128, 127, RoundingDouble, -128}, // acc+bias wraps
	}
	for _, c := range cases {
		if got := Requantize(c.acc, c.bias, m, s, c.zp, c.lo, c.hi, c.mode); got != c.want {
			t.Errorf("Requantize(%d+%d, ×0.25, zp %d, [%d,%d], %v) = %d, want %d", c.acc, c.bias, c.zp, c.lo, c.hi, c.mode, got, c.want)
		}
	}
	for _, name := range []string{"double", "single"} {
		r, err := ParseRounding(name)
		if err != nil || r.String() != name {
			t.Errorf("ParseRounding(%q) = %v, %v", name, r, err)
		}
	}
	if _, err := ParseRounding("half-even"); err == nil {
		t.Error("ParseRounding accepted an unknown mode")
	}
}

func BenchmarkRequantize(b *testing.B) {
	m, s := QuantizeMultiplier(0.0123)
	for _, mode := range []Rounding{RoundingDouble, RoundingSingle} {
		b.Run(mode.String(), func(b *testing.B) {
			var sink int32
			for i := 0; i < b.N; i++ {
				sink += Requantize(int32(i*7919), 17, m, s, -3, -128, 127, mode)
			}
			_ = sink
		})
	}
}
