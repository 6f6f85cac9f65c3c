package quant

import (
	"fmt"
	"math"
)

// AddParams parameterize TFLite's int8 elementwise Add: both inputs are
// lifted by 2^LeftShift, rescaled to a common scale (twice the larger input
// scale), summed, and rescaled to the output.
type AddParams struct {
	Input1ZeroPoint, Input2ZeroPoint, OutputZeroPoint int32
	LeftShift                                         int
	Input1Multiplier                                  int32
	Input1Shift                                       int
	Input2Multiplier                                  int32
	Input2Shift                                       int
	OutputMultiplier                                  int32
	OutputShift                                       int
	ActMin, ActMax                                    int32
}

// addLeftShift is TFLite's left_shift for int8 Add.
const addLeftShift = 20

// PrepareAdd computes the parameters as TFLite's Add Prepare for int8
// (residual connections: two tensors with their own scales).
func PrepareAdd(in1, in2, out Params, act FusedActivation) (AddParams, error) {
	for i, p := range []Params{in1, in2, out} {
		if err := p.Validate(); err != nil {
			return AddParams{}, fmt.Errorf("add params (tensor %d): %w", i, err)
		}
	}
	twiceMax := 2 * float64(max(in1.Scale, in2.Scale))
	p := AddParams{
		Input1ZeroPoint: in1.ZeroPoint,
		Input2ZeroPoint: in2.ZeroPoint,
		OutputZeroPoint: out.ZeroPoint,
		LeftShift:       addLeftShift,
	}
	var err error
	if p.Input1Multiplier, p.Input1Shift, err = quantizeMultiplierSmallerThanOneExp(float64(in1.Scale) / twiceMax); err != nil {
		return AddParams{}, fmt.Errorf("add params input 1: %w", err)
	}
	if p.Input2Multiplier, p.Input2Shift, err = quantizeMultiplierSmallerThanOneExp(float64(in2.Scale) / twiceMax); err != nil {
		return AddParams{}, fmt.Errorf("add params input 2: %w", err)
	}
	outReal := twiceMax / (float64(int64(1)<<addLeftShift) * float64(out.Scale))
	if p.OutputMultiplier, p.OutputShift, err = quantizeMultiplierSmallerThanOneExp(outReal); err != nil {
		return AddParams{}, fmt.Errorf("add params output: %w", err)
	}
	if p.ActMin, p.ActMax, err = ActivationRange(act, out); err != nil {
		return AddParams{}, fmt.Errorf("add params: %w", err)
	}
	return p, nil
}

// AddInt8 is TFLite's int8 AddFunc for one pair of elements.
func AddInt8(a, b int8, p AddParams) int8 {
	x1 := (int32(a) - p.Input1ZeroPoint) * (int32(1) << p.LeftShift)
	x2 := (int32(b) - p.Input2ZeroPoint) * (int32(1) << p.LeftShift)
	s1 := multiplyByQuantizedMultiplierSmallerThanOneExp(x1, p.Input1Multiplier, p.Input1Shift)
	s2 := multiplyByQuantizedMultiplierSmallerThanOneExp(x2, p.Input2Multiplier, p.Input2Shift)
	raw := multiplyByQuantizedMultiplierSmallerThanOneExp(s1+s2, p.OutputMultiplier, p.OutputShift) + p.OutputZeroPoint
	lo, hi := p.ActMin, p.ActMax
	if lo == 0 && hi == 0 {
		lo, hi = math.MinInt8, math.MaxInt8
	}
	return int8(clamp32(raw, lo, hi))
}

// Add applies AddInt8 elementwise to two equally shaped tensors.
func Add(a, b []int8, p AddParams) ([]int8, error) {
	if len(a) != len(b) {
		return nil, fmt.Errorf("add: operands have %d and %d elements", len(a), len(b))
	}
	out := make([]int8, len(a))
	for i := range a {
		out[i] = AddInt8(a[i], b[i], p)
	}
	return out, nil
}
