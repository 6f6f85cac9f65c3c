package quant

import (
	"fmt"
	"math"
)

// FusedActivation is an activation folded into a preceding op's output
// clamp (TFLite's fused_activation_function).
type FusedActivation int

const (
	ActNone FusedActivation = iota
	ActReLU
	ActReLU6
	ActReLUN1To1
)

func (a FusedActivation) String() string {
	switch a {
	case ActNone:
		return "none"
	case ActReLU:
		return "relu"
	case ActReLU6:
		return "relu6"
	case ActReLUN1To1:
		return "relu_n1_to_1"
	}
	return fmt.Sprintf("FusedActivation(%d)", int(a))
}

// ActivationRange returns the output clamp [min, max] of a fused activation
// for output parameters p (TFLite CalculateActivationRangeQuantized): the
// real bounds 0, 6, ±1 quantized as zp + round(f/scale), intersected with
// the type's range.
func ActivationRange(act FusedActivation, p Params) (lo, hi int32, err error) {
	qmin, qmax := p.DType.Range()
	q := func(f float32) int32 { return p.ZeroPoint + int32(math.Round(float64(f/p.Scale))) }
	switch act {
	case ActNone:
		return qmin, qmax, nil
	case ActReLU:
		return max(qmin, q(0)), qmax, nil
	case ActReLU6:
		return max(qmin, q(0)), min(qmax, q(6)), nil
	case ActReLUN1To1:
		return max(qmin, q(-1)), min(qmax, q(1)), nil
	}
	return 0, 0, fmt.Errorf("activation range: unknown activation %v", act)
}

// Clamp applies an activation range to int8 codes in place: ReLU, ReLU6 and
// arbitrary clamps when input and output share parameters.
func Clamp(xs []int8, lo, hi int32) {
	for i, x := range xs {
		xs[i] = int8(clamp32(int32(x), lo, hi))
	}
}

// LeakyReLUParams are TFLite's LeakyRelu quantized parameters: one
// multiplier for the identity branch and one for the alpha branch.
type LeakyReLUParams struct {
	InputZeroPoint, OutputZeroPoint int32
	IdentityMultiplier              int32
	IdentityShift                   int
	AlphaMultiplier                 int32
	AlphaShift                      int
}

// PrepareLeakyReLU computes the parameters as TFLite's LeakyReluPrepare: the
// ratios are formed in float32 (as the C++ expression on float tensors
// does) and then quantized with QuantizeMultiplier.
func PrepareLeakyReLU(in, out Params, alpha float32) (LeakyReLUParams, error) {
	if err := in.Validate(); err != nil {
		return LeakyReLUParams{}, fmt.Errorf("leaky relu input: %w", err)
	}
	if err := out.Validate(); err != nil {
		return LeakyReLUParams{}, fmt.Errorf("leaky relu output: %w", err)
	}
	if math.IsNaN(float64(alpha)) || math.IsInf(float64(alpha), 0) {
		return LeakyReLUParams{}, fmt.Errorf("leaky relu: alpha %v must be finite", alpha)
	}
	alphaReal := float32(float32(in.Scale*alpha) / out.Scale)
	identityReal := float32(in.Scale / out.Scale)
	p := LeakyReLUParams{InputZeroPoint: in.ZeroPoint, OutputZeroPoint: out.ZeroPoint}
	p.AlphaMultiplier, p.AlphaShift = QuantizeMultiplier(float64(alphaReal))
	p.IdentityMultiplier, p.IdentityShift = QuantizeMultiplier(float64(identityReal))
	return p, nil
}

// LeakyReLUInt8 is TFLite's QuantizeLeakyRelu for one element; the alpha
// multiplier may be negative (double rounding).
func LeakyReLUInt8(x int8, p LeakyReLUParams) int8 {
	v := int32(x) - p.InputZeroPoint
	var r int32
	if v >= 0 {
		r = MultiplyByQuantizedMultiplier(v, p.IdentityMultiplier, p.IdentityShift)
	} else {
		r = MultiplyByQuantizedMultiplier(v, p.AlphaMultiplier, p.AlphaShift)
	}
	return int8(clamp32(p.OutputZeroPoint+r, -128, 127))
}

// SigmoidParams parameterize TFLite's int8 Logistic and Tanh: the input is
// rescaled to Q4.27 by InputMultiplier·2^InputLeftShift; inputs at or
// beyond ±InputRangeRadius (after removing the zero point) saturate.
type SigmoidParams struct {
	InputZeroPoint   int32
	InputRangeRadius int32
	InputMultiplier  int32
	InputLeftShift   int
}

// Output parameters TFLite requires of int8 Logistic and Tanh.
const (
	LogisticOutputScale     = 1.0 / 256
	LogisticOutputZeroPoint = -128
	TanhOutputScale         = 1.0 / 128
	TanhOutputZeroPoint     = 0
)

// sigmoidInputIntegerBits is kInputIntegerBits of both kernels: Q4.27.
const sigmoidInputIntegerBits = 4

// PrepareSigmoid computes SigmoidParams from the input scale and zero point
// as TFLite's Logistic and Tanh Prepare do (both use the same formula):
// multiplier = scale·2^27 quantized, radius = CalculateInputRadius(4, shift).
func PrepareSigmoid(inScale float32, inZeroPoint int32) (SigmoidParams, error) {
	if !(inScale > 0) || math.IsInf(float64(inScale), 0) {
		return SigmoidParams{}, fmt.Errorf("sigmoid params: input scale %v must be finite and > 0", inScale)
	}
	multiplier := float64(inScale) * float64(int64(1)<<(31-sigmoidInputIntegerBits))
	m, s := QuantizeMultiplier(multiplier)
	if s < 0 || s > 31 {
		return SigmoidParams{}, fmt.Errorf("sigmoid params: input scale %v gives shift %d outside [0, 31]", inScale, s)
	}
	return SigmoidParams{
		InputZeroPoint:   inZeroPoint,
		InputRangeRadius: calculateInputRadius(sigmoidInputIntegerBits, s, 31),
		InputMultiplier:  m,
		InputLeftShift:   s,
	}, nil
}

// LogisticInt8 is TFLite's int8 Logistic for one element (output scale
// 1/256, zero point −128), bit-exact with reference_integer_ops::Logistic.
func LogisticInt8(x int8, inZP, inRangeRadius, inMultiplier int32, inLeftShift int) int8 {
	v := int32(x) - inZP
	switch {
	case v <= -inRangeRadius:
		return -128
	case v >= inRangeRadius:
		return 127
	}
	inQ4 := MultiplyByQuantizedMultiplier(v, inMultiplier, inLeftShift)
	outQ0 := fixedLogistic(inQ4, sigmoidInputIntegerBits)
	// Q0.31 → Q8.23 is a divide by 2^23: units of 1/256.
	return int8(clamp32(RoundingDivideByPOT(outQ0, 23)+LogisticOutputZeroPoint, -128, 127))
}

// TanhInt8 is TFLite's int8 Tanh for one element (output scale 1/128, zero
// point 0), bit-exact with reference_integer_ops::Tanh.
func TanhInt8(x int8, inZP, inRangeRadius, inMultiplier int32, inLeftShift int) int8 {
	v := int32(x) - inZP
	switch {
	case v <= -inRangeRadius:
		return -128
	case v >= inRangeRadius:
		return 127
	}
	inQ4 := MultiplyByQuantizedMultiplier(v, inMultiplier, inLeftShift)
	outQ0 := fixedTanh(inQ4, sigmoidInputIntegerBits)
	return int8(clamp32(RoundingDivideByPOT(outQ0, 24), -128, 127))
}

// Logistic applies LogisticInt8 to a slice.
func Logistic(xs []int8, p SigmoidParams) []int8 {
	out := make([]int8, len(xs))
	for i, x := range xs {
		out[i] = LogisticInt8(x, p.InputZeroPoint, p.InputRangeRadius, p.InputMultiplier, p.InputLeftShift)
	}
	return out
}

// Tanh applies TanhInt8 to a slice.
func Tanh(xs []int8, p SigmoidParams) []int8 {
	out := make([]int8, len(xs))
	for i, x := range xs {
		out[i] = TanhInt8(x, p.InputZeroPoint, p.InputRangeRadius, p.InputMultiplier, p.InputLeftShift)
	}
	return out
}

// Table256 tabulates an element function over all int8 inputs, indexed by
// uint8(x): what a table-driven activation unit stores.
func Table256(f func(int8) int8) [256]int8 {
	var t [256]int8
	for i := -128; i < 128; i++ {
		t[uint8(int8(i))] = f(int8(i))
	}
	return t
}
