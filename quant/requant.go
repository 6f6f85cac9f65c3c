package quant

import (
	"fmt"
	"math"
)

// Rounding selects how MultiplyByQuantizedMultiplier rounds.
type Rounding int

const (
	// RoundingDouble is gemmlowp's SaturatingRoundingDoublingHighMul followed
	// by RoundingDivideByPOT: two roundings, TFLite's reference default.
	RoundingDouble Rounding = iota
	// RoundingSingle is TFLite's TFLITE_SINGLE_ROUNDING form: one 64-bit
	// product, one round-half-up shift.
	RoundingSingle
	// RoundingFloat is not fixed point: the sum times a float32 scale,
	// rounded half to even, as ONNX Runtime requantizes (RequantizeFloat).
	RoundingFloat
)

// String names the mode as configurations spell it.
func (r Rounding) String() string {
	switch r {
	case RoundingDouble:
		return "double"
	case RoundingSingle:
		return "single"
	case RoundingFloat:
		return "float"
	}
	return fmt.Sprintf("Rounding(%d)", int(r))
}

// ParseRounding is the inverse of String.
func ParseRounding(s string) (Rounding, error) {
	switch s {
	case "double":
		return RoundingDouble, nil
	case "single":
		return RoundingSingle, nil
	case "float":
		return RoundingFloat, nil
	}
	return 0, fmt.Errorf("quant: unknown rounding mode %q (want \"double\", \"single\" or \"float\")", s)
}

// SaturatingRoundingDoublingHighMul returns a·b / 2^31 rounded to nearest
// with ties toward +∞ (the signed nudge then C++ truncation: +0.5 → 1,
// −0.5 → 0), saturating the one overflowing case INT32_MIN × INT32_MIN to
// INT32_MAX (gemmlowp; ARM NEON VQRDMULH).
func SaturatingRoundingDoublingHighMul(a, b int32) int32 {
	if a == b && a == math.MinInt32 {
		return math.MaxInt32
	}
	ab := int64(a) * int64(b)
	nudge := int64(1 << 30)
	if ab < 0 {
		nudge = 1 - (1 << 30)
	}
	// Go's division truncates toward zero, as C++'s does; the nudge of
	// 1−2^30 for negative products makes that round half up as well.
	return int32((ab + nudge) / (1 << 31))
}

// RoundingDivideByPOT returns x / 2^exponent rounded to nearest, ties away
// from zero (gemmlowp's rounding arithmetic right shift). exponent must be in
// [0, 31]; anything else is a programming error and panics.
func RoundingDivideByPOT(x int32, exponent int) int32 {
	if exponent < 0 || exponent > 31 {
		panic(fmt.Sprintf("quant: RoundingDivideByPOT exponent %d outside [0, 31]", exponent))
	}
	mask := int32((int64(1) << exponent) - 1)
	remainder := x & mask
	threshold := mask >> 1
	if x < 0 {
		threshold++
	}
	result := x >> exponent
	if remainder > threshold {
		result++
	}
	return result
}

// QuantizeMultiplier splits a real multiplier into a Q0.31 significand and a
// power-of-two exponent: real ≈ multiplier · 2^(shift−31), shift > 0 meaning
// a left shift (TFLite quantization_util.cc). A significand that rounds up to
// 2^31 is halved and the shift incremented; multipliers below about 2^−31
// are flushed to (0, 0). Negative multipliers give a negative significand,
// usable only with the double-rounding form. real must be finite; NaN or
// ±Inf panics.
func QuantizeMultiplier(real float64) (multiplier int32, shift int) {
	if math.IsNaN(real) || math.IsInf(real, 0) {
		panic(fmt.Sprintf("quant: QuantizeMultiplier of non-finite %v", real))
	}
	if real == 0 {
		return 0, 0
	}
	q, shift := math.Frexp(real)
	qFixed := int64(math.Round(q * (1 << 31)))
	if qFixed == 1<<31 {
		qFixed /= 2
		shift++
	}
	if shift < -31 {
		return 0, 0
	}
	return int32(qFixed), shift
}

// MultiplyByQuantizedMultiplier returns x · multiplier · 2^(shift−31) in
// TFLite's classic double-rounding form: a saturating left shift is not
// applied (x·2^left wraps like the C++ int32 product), then
// SaturatingRoundingDoublingHighMul, then RoundingDivideByPOT. Negative
// multipliers work. shift must be in [−31, 31).
func MultiplyByQuantizedMultiplier(x, multiplier int32, shift int) int32 {
	left, right := 0, 0
	if shift > 0 {
		left = shift
	} else {
		right = -shift
	}
	return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x*(int32(1)<<left), multiplier), right)
}

// MultiplyByQuantizedMultiplierSingleRounding is the TFLITE_SINGLE_ROUNDING
// form: (x·multiplier + 2^(30−shift)) >> (31−shift) in 64 bits, one
// round-half-up. TFLite requires multiplier ≥ 0 and shift in [−31, 30]; the
// result is truncated to int32 like the C++ static_cast.
func MultiplyByQuantizedMultiplierSingleRounding(x, multiplier int32, shift int) int32 {
	total := uint(31 - shift)
	round := int64(1) << (total - 1)
	return int32((int64(x)*int64(multiplier) + round) >> total)
}

// MultiplyByQuantizedMultiplierMode dispatches on the rounding mode.
func MultiplyByQuantizedMultiplierMode(x, multiplier int32, shift int, mode Rounding) int32 {
	if mode == RoundingSingle {
		return MultiplyByQuantizedMultiplierSingleRounding(x, multiplier, shift)
	}
	return MultiplyByQuantizedMultiplier(x, multiplier, shift)
}

// Requantize is the per-element output stage of TFLite's int8 conv and fully
// connected kernels: clamp(MBQM(acc + bias, multiplier, shift) + outZP, min,
// max). acc + bias wraps like int32 hardware.
func Requantize(acc int32, bias int32, multiplier int32, shift int, outZP int32, min, max int32, mode Rounding) int32 {
	v := MultiplyByQuantizedMultiplierMode(acc+bias, multiplier, shift, mode) + outZP
	return clamp32(v, min, max)
}

// multiplyByQuantizedMultiplierGreaterThanOne is TFLite's helper for
// multipliers ≥ 1 (shift ≥ 0): only the high multiply rounds.
func multiplyByQuantizedMultiplierGreaterThanOne(x, multiplier int32, leftShift int) int32 {
	return SaturatingRoundingDoublingHighMul(x*(int32(1)<<leftShift), multiplier)
}

// multiplyByQuantizedMultiplierSmallerThanOneExp is TFLite's helper for
// multipliers < 1 (shift ≤ 0).
func multiplyByQuantizedMultiplierSmallerThanOneExp(x, multiplier int32, leftShift int) int32 {
	return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x, multiplier), -leftShift)
}

// quantizeMultiplierSmallerThanOneExp checks 0 < real < 1 like TFLite.
func quantizeMultiplierSmallerThanOneExp(real float64) (int32, int, error) {
	if !(real > 0 && real < 1) {
		return 0, 0, fmt.Errorf("multiplier %v not in (0, 1)", real)
	}
	m, s := QuantizeMultiplier(real)
	if s > 0 {
		return 0, 0, fmt.Errorf("multiplier %v quantized to shift %d > 0", real, s)
	}
	return m, s, nil
}

// quantizeMultiplierGreaterThanOne checks real > 1 like TFLite.
func quantizeMultiplierGreaterThanOne(real float64) (int32, int, error) {
	if !(real > 1) || math.IsInf(real, 0) {
		return 0, 0, fmt.Errorf("multiplier %v not in (1, +Inf)", real)
	}
	m, s := QuantizeMultiplier(real)
	if s < 0 {
		return 0, 0, fmt.Errorf("multiplier %v quantized to shift %d < 0", real, s)
	}
	return m, s, nil
}

// calculateInputRadius is TFLite's CalculateInputRadius: the largest input
// magnitude that, rescaled by 2^leftShift, still fits the integer bits.
func calculateInputRadius(inputIntegerBits, inputLeftShift, totalSignedBits int) int32 {
	maxRescaled := float64((int64(1)<<inputIntegerBits)-1) *
		float64(int64(1)<<(totalSignedBits-inputIntegerBits)) /
		float64(int64(1)<<inputLeftShift)
	return int32(math.Floor(maxRescaled))
}

func clamp32(v, lo, hi int32) int32 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
