package quant

import (
	"math/big"
	"math/rand"
	"testing"
)

// roundHalfEven is sum/n rounded half to even, in integers.
func roundHalfEven(sum, n int32) int32 {
	q, r := sum/n, sum%n
	if r < 0 { // floor division
		q, r = q-1, r+n
	}
	if 2*r > n || (2*r == n && q%2 != 0) {
		q++
	}
	return q
}

// TestFloatAverageExactScales: with power-of-two scales every float32 step
// of the kernel is exact, so the result is the exact mean rounded half to
// even (ties to even, negative ties too) after adding the zero point,
// saturated.
// Every pair and every 2x2 window over a grid of codes, both offsets.
func TestFloatAverageExactScales(t *testing.T) {
	for _, fa := range []FloatAverage{
		{InScale: 0.25, OutScale: 0.25, InZeroPoint: 0, OutZeroPoint: 0},
		{InScale: 0.25, OutScale: 0.25, InZeroPoint: -128, OutZeroPoint: -128, Offset: 128},
		{InScale: 1.0 / 64, OutScale: 1.0 / 64, InZeroPoint: 5, OutZeroPoint: 5, Offset: 128},
		{InScale: 0.5, OutScale: 0.125, InZeroPoint: 3, OutZeroPoint: -7}, // ×4: saturates
	} {
		ratio := int32(fa.InScale / fa.OutScale)
		check := func(taps []int8) {
			var sum int32
			for _, v := range taps {
				sum += int32(v) - fa.InZeroPoint
			}
			// The zero point is added before the rounding: its parity (in
			// the model's type) decides which neighbour is even.
			n, z := int32(len(taps)), fa.OutZeroPoint+fa.Offset
			want := max(-128, min(127, roundHalfEven(sum*ratio+n*z, n)-fa.Offset))
			if got := fa.Window(taps); got != want {
				t.Fatalf("%+v: taps %v: got %d, want %d", fa, taps, got, want)
			}
		}
		for a := -128; a <= 127; a++ {
			for b := -128; b <= 127; b++ {
				check([]int8{int8(a), int8(b)})
			}
		}
		for a := -128; a <= 127; a += 5 {
			for b := -128; b <= 127; b += 7 {
				for c := -128; c <= 127; c += 11 {
					for d := -128; d <= 127; d += 3 {
						check([]int8{int8(a), int8(b), int8(c), int8(d)})
					}
				}
			}
		}
	}
	// Ties both ways, by hand: (1+2)/2 = 1.5 → 2, (-1-2)/2 = -1.5 → -2,
	// (0+1)/2 = 0.5 → 0, (-1+0)/2 = -0.5 → 0; and the extremes.
	fa := FloatAverage{InScale: 0.5, OutScale: 0.5}
	for _, c := range []struct {
		taps []int8
		want int32
	}{
		{[]int8{1, 2}, 2}, {[]int8{-1, -2}, -2}, {[]int8{0, 1}, 0}, {[]int8{-1, 0}, 0},
		{[]int8{2, 3, 4, 5}, 4}, {[]int8{-2, -3, -4, -5}, -4}, {[]int8{127, 127, 127, 126}, 127},
		{[]int8{-128, -128}, -128}, {[]int8{127, 127}, 127},
	} {
		if got := fa.Window(c.taps); got != c.want {
			t.Errorf("taps %v: got %d, want %d", c.taps, got, c.want)
		}
	}
	// Saturation in the model's type: uint8 clamps at 0 and 255, that is
	// at -128 and 127 here.
	sat := FloatAverage{InScale: 1, OutScale: 0.25, InZeroPoint: -128, OutZeroPoint: -128, Offset: 128}
	if got := sat.Window([]int8{100, 100}); got != 127 {
		t.Errorf("uint8 saturation high: got %d, want 127", got)
	}
	neg := FloatAverage{InScale: 1, OutScale: 0.25, InZeroPoint: 0, OutZeroPoint: 0}
	if got := neg.Window([]int8{-100, -100}); got != -128 {
		t.Errorf("int8 saturation low: got %d, want -128", got)
	}
}

// f32 rounds an exact value to float32 precision (24 bits, half to even):
// an independent model of one float32 operation for normal results.
func f32(x *big.Float) *big.Float {
	return new(big.Float).SetMode(big.ToNearestEven).SetPrec(24).Set(x)
}

// bigWindow is the kernel's arithmetic with every operation done exactly
// in math/big and then rounded to float32 precision.
func bigWindow(fa FloatAverage, taps []int8) int32 {
	exact := func() *big.Float { return new(big.Float).SetPrec(200) }
	s := exact().SetFloat64(float64(fa.InScale))
	y := exact()
	for _, v := range taps {
		d := f32(exact().Mul(s, exact().SetInt64(int64(int32(v)-fa.InZeroPoint))))
		y = f32(exact().Add(y, d))
	}
	y = f32(exact().Quo(y, exact().SetInt64(int64(len(taps)))))
	y = f32(exact().Quo(y, exact().SetFloat64(float64(fa.OutScale))))
	v := f32(exact().Add(y, exact().SetInt64(int64(fa.OutZeroPoint+fa.Offset))))
	// Round half to even to an integer.
	fl, _ := v.Int(nil) // truncates toward zero
	if v.Sign() < 0 && !v.IsInt() {
		fl.Sub(fl, big.NewInt(1))
	}
	frac := exact().Sub(v, exact().SetInt(fl))
	r := fl.Int64()
	switch frac.Cmp(exact().SetFloat64(0.5)) {
	case 1:
		r++
	case 0:
		if r%2 != 0 {
			r++
		}
	}
	return int32(max(-128+int64(fa.Offset), min(127+int64(fa.Offset), r))) - fa.Offset
}

// TestFloatAverageRealScales checks the kernel with a real model's scale
// (LeNet-5's second pooling layer) and random ones against the math/big
// model, requires windows whose exact mean is a tie but whose float32
// result is not (there the result is not the exact mean's rounding, by
// either tie rule), and, off ties, the exact mean rounded.
func TestFloatAverageRealScales(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	offTie, offsetMatters := 0, 0
	for trial := 0; trial < 40; trial++ {
		fa := FloatAverage{InScale: 0.051034547, OutScale: 0.051034547, InZeroPoint: -128, OutZeroPoint: -128, Offset: 128}
		if trial > 0 {
			s := float32(0.001 + rng.Float64()*0.2)
			fa = FloatAverage{InScale: s, OutScale: s, InZeroPoint: int32(rng.Intn(256) - 128), Offset: int32(128 * rng.Intn(2))}
			fa.OutZeroPoint = fa.InZeroPoint
		}
		for i := 0; i < 5000; i++ {
			n := []int{2, 3, 4, 6, 9, 16, 49}[rng.Intn(7)]
			taps := make([]int8, n)
			var sum int32
			for k := range taps {
				taps[k] = int8(rng.Intn(256) - 128)
				sum += int32(taps[k]) - fa.InZeroPoint
			}
			got := fa.Window(taps)
			if want := bigWindow(fa, taps); got != want {
				t.Fatalf("%+v: taps %v: got %d, math/big %d", fa, taps, got, want)
			}
			z := fa.OutZeroPoint + fa.Offset
			exact := max(-128, min(127, roundHalfEven(sum+int32(n)*z, int32(n))-fa.Offset))
			tie := 2*(sum%int32(n)) == int32(n) || 2*(sum%int32(n)) == -int32(n)
			switch {
			case !tie && got != exact:
				t.Fatalf("%+v: taps %v (no tie): got %d, want %d", fa, taps, got, exact)
			case tie && got != exact:
				offTie++
			}
			other := fa
			other.Offset = 128 - fa.Offset
			if other.Window(taps) != got {
				offsetMatters++
			}
		}
	}
	if offTie == 0 || offsetMatters == 0 {
		t.Errorf("no tie rounded off its even neighbour (%d) or no offset that changed a result (%d): the stimulus misses the float32 cases", offTie, offsetMatters)
	}
	t.Logf("ties the float32 arithmetic rounds away from the even neighbour: %d; results the offset changes: %d", offTie, offsetMatters)
}

// TestAveragePoolORTGlobal: a window covering the unpadded input takes
// ONNX Runtime's global path (an integer sum and one float32 requantize),
// any other window the float32 chain.
func TestAveragePoolORTGlobal(t *testing.T) {
	fa := FloatAverage{InScale: 0.051034547, OutScale: 0.051034547, InZeroPoint: -128, OutZeroPoint: -128, Offset: 128}
	s := Shape{N: 1, H: 2, W: 2, C: 1}
	p := PoolParams{Window: Window{StrideH: 1, StrideW: 1}, FilterH: 2, FilterW: 2}
	rng := rand.New(rand.NewSource(9))
	differ := 0
	for i := 0; i < 20000; i++ {
		in := make([]int8, 4)
		for k := range in {
			in[k] = int8(rng.Intn(256) - 128)
		}
		out, _, err := AveragePoolORT(in, s, p, fa)
		if err != nil {
			t.Fatal(err)
		}
		if want := fa.Global(in); int32(out[0]) != want {
			t.Fatalf("%v: got %d, global %d", in, out[0], want)
		}
		if fa.Window(in) != fa.Global(in) {
			differ++
		}
		big := Shape{N: 1, H: 2, W: 3, C: 1}
		out, _, err = AveragePoolORT(append(in, 0, 0), big, p, fa)
		if err != nil {
			t.Fatal(err)
		}
		if want := fa.Window([]int8{in[0], in[1], in[3], 0}); int32(out[0]) != want {
			t.Fatalf("%v: got %d, window %d", in, out[0], want)
		}
	}
	if differ == 0 {
		t.Error("the global and the windowed arithmetic never differ: the dispatch is untested")
	}
	if _, _, err := AveragePoolORT(make([]int8, 4), s, p, FloatAverage{InScale: 0, OutScale: 1}); err == nil {
		t.Error("a zero scale was accepted")
	}
}
