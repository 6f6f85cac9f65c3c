package quant

import (
	"math"
	"testing"
)

var (
	logisticOut = Params{Scale: LogisticOutputScale, ZeroPoint: LogisticOutputZeroPoint, DType: Int8}
	tanhOut     = Params{Scale: TanhOutputScale, ZeroPoint: TanhOutputZeroPoint, DType: Int8}
)

// Published vectors: tensorflow/lite/micro/kernels/logistic_test.cc
// (LogisticQuantizedInt8BasicShouldMatchGolden, input scale 0.1, and
// ...WideRangeShouldMatchGolden, input scale 1.0): the file quantizes its
// float goldens with scale 1/255, zero point −128 and accepts ±1.
func TestLogisticPublished(t *testing.T) {
	golden := Params{Scale: 1.0 / 255.0, ZeroPoint: -128, DType: Int8}
	cases := []struct {
		scale  float32
		input  []float32
		golden []float32
	}{
		{0.1, []float32{1, 2, 3, 4, 5, -1, -2, -3, -4, -5},
			[]float32{0.73105858, 0.88079708, 0.95257413, 0.98201379, 0.99330715, 0.26894142, 0.11920292, 0.04742587, 0.01798621, 0.00669285}},
		{1.0, []float32{1, 2, 3, 4, 93, -1, -2, -3, -4, -93},
			[]float32{0.73105858, 0.88079708, 0.95257413, 0.98201379, 1.0, 0.26894142, 0.11920292, 0.04742587, 0.01798621, 0.0}},
	}
	for _, c := range cases {
		inP := Params{Scale: c.scale, DType: Int8}
		sp, err := PrepareSigmoid(inP.Scale, inP.ZeroPoint)
		if err != nil {
			t.Fatal(err)
		}
		got := Logistic(QuantizeInt8(c.input, inP), sp)
		for i := range got {
			want := golden.Quantize(c.golden[i])
			if d := int32(got[i]) - want; d > 1 || d < -1 {
				t.Errorf("scale %v input %v: %d, golden %d", c.scale, c.input[i], got[i], want)
			}
		}
	}
}

// TestPrepareSigmoid checks the Prepare arithmetic against
// CalculateInputRadius's published values
// (quantization_util_test.cc: CalculateInputRadius(4, 27) = 15,
// (3, 27) = 14, (3, 28) = 7, (4, 2) = 503316480).
func TestPrepareSigmoid(t *testing.T) {
	for _, c := range []struct{ bits, shift, want int }{{4, 27, 15}, {3, 27, 14}, {3, 28, 7}, {4, 2, 503316480}} {
		if got := calculateInputRadius(c.bits, c.shift, 31); got != int32(c.want) {
			t.Errorf("CalculateInputRadius(%d, %d) = %d, want %d", c.bits, c.shift, got, c.want)
		}
	}
	p, err := PrepareSigmoid(0.1, 0)
	if err != nil {
		t.Fatal(err)
	}
	// float32(0.1)·2^27 = 13421773 = 0.8000000119·2^24: multiplier
	// 13421773·2^7, shift 24, radius floor(15·2^27 / 2^24) = 120 (real 12.0).
	if p.InputMultiplier != 13421773<<7 || p.InputLeftShift != 24 || p.InputRangeRadius != 120 {
		t.Errorf("PrepareSigmoid(0.1) = %+v", p)
	}
	for _, bad := range []float32{0, -1, float32(math.Inf(1)), 1e-12} {
		if _, err := PrepareSigmoid(bad, 0); err == nil {
			t.Errorf("PrepareSigmoid(%v) accepted", bad)
		}
	}
}

// sigmoidCases are input quantizations swept exhaustively below: typical
// activations, a tiny scale (no saturation), a huge one (mostly saturated),
// and skewed zero points.
var sigmoidCases = []Params{
	{Scale: 0.1, ZeroPoint: 0, DType: Int8},
	{Scale: 0.05, ZeroPoint: -128, DType: Int8},
	{Scale: 0.0625, ZeroPoint: 17, DType: Int8},
	{Scale: 0.01, ZeroPoint: 5, DType: Int8},
	{Scale: 0.5, ZeroPoint: 100, DType: Int8},
	{Scale: 1.0 / 16, ZeroPoint: 127, DType: Int8},
	{Scale: 0.0234, ZeroPoint: -20, DType: Int8},
}

// TestLogisticTanhExhaustive: every int8 input, for each input
// quantization, is within one LSB of the float function, is monotone, and
// (tanh) odd around the zero point where the range allows.
func TestLogisticTanhExhaustive(t *testing.T) {
	for _, inP := range sigmoidCases {
		sp, err := PrepareSigmoid(inP.Scale, inP.ZeroPoint)
		if err != nil {
			t.Fatal(err)
		}
		lt := Table256(func(x int8) int8 {
			return LogisticInt8(x, sp.InputZeroPoint, sp.InputRangeRadius, sp.InputMultiplier, sp.InputLeftShift)
		})
		tt := Table256(func(x int8) int8 {
			return TanhInt8(x, sp.InputZeroPoint, sp.InputRangeRadius, sp.InputMultiplier, sp.InputLeftShift)
		})
		prevL, prevT := int8(-128), int8(-128)
		for i := -128; i < 128; i++ {
			x := int8(i)
			real := float64(inP.Dequantize(int32(x)))
			l, th := lt[uint8(x)], tt[uint8(x)]
			if w := logisticOut.Quantize(float32(LogisticFloat(real))); absDiff(float64(l), float64(w)) > 1 {
				t.Errorf("scale %v zp %d: logistic(%d → %v) = %d, float %d", inP.Scale, inP.ZeroPoint, x, real, l, w)
			}
			if w := tanhOut.Quantize(float32(TanhFloat(real))); absDiff(float64(th), float64(w)) > 1 {
				t.Errorf("scale %v zp %d: tanh(%d → %v) = %d, float %d", inP.Scale, inP.ZeroPoint, x, real, th, w)
			}
			if l < prevL || th < prevT {
				t.Errorf("scale %v zp %d: not monotone at %d", inP.Scale, inP.ZeroPoint, x)
			}
			prevL, prevT = l, th
			if m := 2*int(inP.ZeroPoint) - i; m >= -128 && m <= 127 && i != int(inP.ZeroPoint) {
				if a, b := int(th), int(tt[uint8(int8(m))]); a+b != 0 && !(a == 127 && b == -128) && !(a == -128 && b == 127) {
					t.Errorf("scale %v zp %d: tanh not odd: f(%d)=%d, f(%d)=%d", inP.Scale, inP.ZeroPoint, i, a, m, b)
				}
			}
		}
		if z := LogisticInt8(int8(inP.ZeroPoint), sp.InputZeroPoint, sp.InputRangeRadius, sp.InputMultiplier, sp.InputLeftShift); z != 0 {
			t.Errorf("logistic(0) = %d, want 0 (0.5 at scale 1/256, zp −128)", z)
		}
	}
}

// TestFixedPointTranscendentals checks the gemmlowp ports on their raw
// fixed-point scales against float, over the whole Q4.27 input range used by
// the kernels.
func TestFixedPointTranscendentals(t *testing.T) {
	const q27 = 1 << 27
	for raw := int64(math.MinInt32); raw <= math.MaxInt32; raw += 1<<20 + 12345 {
		a := int32(raw)
		x := float64(a) / q27
		l := float64(fixedLogistic(a, 4)) / (1 << 31)
		th := float64(fixedTanh(a, 4)) / (1 << 31)
		if math.Abs(l-LogisticFloat(x)) > 2e-6 {
			t.Fatalf("logistic(%v) = %v, float %v", x, l, LogisticFloat(x))
		}
		if math.Abs(th-math.Tanh(x)) > 4e-6 {
			t.Fatalf("tanh(%v) = %v, float %v", x, th, math.Tanh(x))
		}
		if a <= 0 {
			e := float64(expOnNegativeValues(a, 4)) / (1 << 31)
			if math.Abs(e-math.Exp(x)) > 2e-6 {
				t.Fatalf("exp(%v) = %v, float %v", x, e, math.Exp(x))
			}
		}
	}
	for raw := int32(1); raw < math.MaxInt32-(1<<22); raw += 1 << 22 {
		x := float64(raw) / (1 << 31)
		if got := float64(oneOverOnePlusXForXIn01(raw)) / (1 << 31); math.Abs(got-1/(1+x)) > 1e-8 {
			t.Fatalf("1/(1+%v) = %v", x, got)
		}
	}
}

func TestLeakyReLU(t *testing.T) {
	for _, c := range []struct {
		in, out Params
		alpha   float32
	}{
		{Params{Scale: 0.05, ZeroPoint: -10, DType: Int8}, Params{Scale: 0.04, ZeroPoint: 30, DType: Int8}, 0.1},
		{Params{Scale: 0.1, ZeroPoint: 0, DType: Int8}, Params{Scale: 0.1, ZeroPoint: 0, DType: Int8}, 0.2},
		{Params{Scale: 0.02, ZeroPoint: 64, DType: Int8}, Params{Scale: 0.03, ZeroPoint: -64, DType: Int8}, -0.5}, // negative alpha
		{Params{Scale: 0.02, ZeroPoint: 0, DType: Int8}, Params{Scale: 0.01, ZeroPoint: 0, DType: Int8}, 1.5},     // alpha > 1
	} {
		p, err := PrepareLeakyReLU(c.in, c.out, c.alpha)
		if err != nil {
			t.Fatal(err)
		}
		for i := -128; i < 128; i++ {
			got := LeakyReLUInt8(int8(i), p)
			ref := LeakyReLUFloat(float64(c.in.Dequantize(int32(i))), float64(c.alpha))
			if w := c.out.Quantize(float32(ref)); absDiff(float64(got), float64(w)) > 1 {
				t.Errorf("alpha %v: leaky(%d) = %d, float %d", c.alpha, i, got, w)
			}
		}
	}
	if _, err := PrepareLeakyReLU(Params{Scale: 0, DType: Int8}, Params{Scale: 1, DType: Int8}, 0.1); err == nil {
		t.Error("zero input scale accepted")
	}
}

func TestActivationRange(t *testing.T) {
	p := Params{Scale: 0.05, ZeroPoint: -20, DType: Int8}
	cases := []struct {
		act    FusedActivation
		lo, hi int32
	}{
		{ActNone, -128, 127},
		{ActReLU, -20, 127},
		{ActReLU6, -20, 100}, // −20 + 6/0.05
		{ActReLUN1To1, -40, 0},
	}
	for _, c := range cases {
		lo, hi, err := ActivationRange(c.act, p)
		if err != nil || lo != c.lo || hi != c.hi {
			t.Errorf("%v: [%d, %d] %v, want [%d, %d]", c.act, lo, hi, err, c.lo, c.hi)
		}
	}
	// ReLU6 clamps at the type's top when 6.0 is not representable.
	if _, hi, _ := ActivationRange(ActReLU6, Params{Scale: 0.01, ZeroPoint: 0, DType: Int8}); hi != 127 {
		t.Errorf("ReLU6 top %d, want 127", hi)
	}
	xs := []int8{-128, -20, 0, 100, 127}
	Clamp(xs, -20, 100)
	if xs[0] != -20 || xs[4] != 100 || xs[2] != 0 {
		t.Errorf("Clamp = %v", xs)
	}
	if _, _, err := ActivationRange(FusedActivation(9), p); err == nil {
		t.Error("unknown activation accepted")
	}
}
