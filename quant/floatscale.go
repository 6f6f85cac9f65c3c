package quant

import (
	"fmt"
	"math"
)

// RequantizeFloat is ONNX's QLinearConv / QLinearMatMul output stage as
// ONNX Runtime computes it on x86-64 (MLAS MlasRequantizeOutput):
//
//	x = acc + bias                  int32, wrapping
//	f = float32(x)                  round to nearest even (cvtdq2ps)
//	p = f * scale                   in float32, round to nearest even (mulps)
//	p = min(max(p, lo-zp), hi-zp)   in float32
//	r = round half to even (p)      (cvtps2dq)
//	return r + zp
//
// Clamping before or after the integer rounding gives the same integer
// (the bounds are integers and rounding is monotonic), and float32 Inf
// clamps like any large value, so the result is clamp(RNE(p) + zp, lo, hi)
// for lo <= hi. A float64 product of two float32 values is exact (24 + 24
// significant bits), so converting it to float32 rounds once, as mulps does.
func RequantizeFloat(acc, bias int32, scale float32, zp, lo, hi int32) int32 {
	f := float32(acc + bias)
	p := float32(float64(f) * float64(scale))
	r := math.RoundToEven(float64(p)) + float64(zp)
	if r < float64(lo) {
		return lo
	}
	if r > float64(hi) {
		return hi
	}
	return int32(r)
}

// CheckFloatScale accepts the scales the float-scale requantizer is exact
// for: zero and finite normal float32 values.
func CheckFloatScale(s float32) error {
	a := math.Abs(float64(s))
	if math.IsNaN(a) || math.IsInf(a, 0) || (a != 0 && a < 0x1p-126) {
		return fmt.Errorf("float scale %g is not zero or a finite normal float32", s)
	}
	return nil
}

// OutputScalesFloat are the float-scale requantizer's per-channel scales,
// computed as ONNX Runtime's QLinearConv computes them: in float32,
// input × weight first, then divided by the output scale.
func OutputScalesFloat(inputScale float32, weightScales []float32, outputScale float32) []float32 {
	s := make([]float32, len(weightScales))
	for c, ws := range weightScales {
		s[c] = float32(inputScale*ws) / outputScale // the conversion rounds the product first
	}
	return s
}
