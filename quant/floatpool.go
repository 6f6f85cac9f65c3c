package quant

import (
	"fmt"
	"math"
)

// FloatAverage is the quantization around an average pool as ONNX
// Runtime sees it (a QDQ AveragePool, which ONNX Runtime runs as its
// QLinearAveragePool kernel): AveragePoolORT averages as that kernel
// does, in float32, where AveragePool is TFLite's integer average.
type FloatAverage struct {
	InScale, OutScale float32
	// InZeroPoint and OutZeroPoint are tpugen's int8 zero points.
	InZeroPoint, OutZeroPoint int32
	// Offset is how far the model's codes lie above tpugen's int8 codes:
	// 128 for a uint8 tensor (tpugen stores it as int8 with the zero
	// point less 128), 0 for an int8 one. The kernel adds the model's
	// output zero point in float32 before rounding, and that sum rounds
	// differently at different magnitudes, so the offset matters.
	Offset int32
}

// Validate accepts positive, finite, normal scales and offsets 0 and 128.
func (f FloatAverage) Validate() error {
	for _, s := range []float32{f.InScale, f.OutScale} {
		if err := CheckFloatScale(s); err != nil || s <= 0 {
			return fmt.Errorf("float average: scale %g must be a positive normal float32", s)
		}
	}
	if f.Offset != 0 && f.Offset != 128 {
		return fmt.Errorf("float average: offset %d must be 0 (int8) or 128 (uint8)", f.Offset)
	}
	for _, zp := range []int32{f.InZeroPoint, f.OutZeroPoint} {
		if zp < -128 || zp > 127 {
			return fmt.Errorf("float average: zero point %d is not int8", zp)
		}
	}
	return nil
}

// Window is the average of a window's taps (in raster order, taps inside
// the input only) as ONNX Runtime's QLinearAveragePool computes it
// (onnxruntime/contrib_ops/cpu/quantization/qlinear_pool.cc), every step
// in float32 rounded to nearest even:
//
//	d_i = InScale * (q_i - zp_in)          dequantize (the difference is exact)
//	y   = ((0 + d_1) + d_2) + ... + d_n    in raster order
//	y   = y / n                            n = the number of taps
//	v   = y / OutScale + zp_out            zp_out as the model stores it
//	r   = nearbyintf(v)                    half to even
//
// clamped to the model's type (uint8 or int8) and returned as tpugen's
// int8 code. The rounding of each tap and partial sum decides ties: the
// exact mean of the codes may be k + 1/2 while the float32 result lies on
// either side of it, so no rule on the integer sum reproduces the kernel.
// Go evaluates float32 operations one by one here: every result is
// converted explicitly, which forbids fused multiply-adds.
func (f FloatAverage) Window(taps []int8) int32 {
	var y float32
	for _, t := range taps {
		d := float32(f.InScale * float32(int32(t)-f.InZeroPoint))
		y = float32(y + d)
	}
	y = float32(y / float32(len(taps)))
	v := float32(float32(y/f.OutScale) + float32(f.OutZeroPoint+f.Offset))
	return clampCode(math.RoundToEven(float64(v)), f.Offset)
}

// Global is the average of a whole feature map's taps as ONNX Runtime
// computes it when the window covers the input and there is no padding:
// QLinearAveragePool then calls MLAS's global average pool, an int32 sum
// requantized by the float32 scale InScale / (OutScale * n) (MLAS
// MlasRequantizeOutput, as RequantizeFloat), with integer zero points.
func (f FloatAverage) Global(taps []int8) int32 {
	var sum int32
	for _, t := range taps {
		sum += int32(t)
	}
	n := int32(len(taps))
	scale := float32(f.InScale / float32(f.OutScale*float32(n)))
	return RequantizeFloat(sum, -f.InZeroPoint*n, scale, f.OutZeroPoint, -128, 127)
}

// clampCode clamps a rounded value of the model's type (uint8 when offset
// is 128) to that type's range and returns it as tpugen's int8 code.
func clampCode(r float64, offset int32) int32 {
	lo, hi := float64(-128+offset), float64(127+offset)
	return int32(max(lo, min(hi, r))) - offset
}

// AveragePoolORT is average pooling as ONNX Runtime's QLinearAveragePool
// computes it (FloatAverage.Window, or FloatAverage.Global for a window
// that covers an unpadded input), with TFLite's windows and its exclusion
// of pads from the count, then clamped to p's activation range.
func AveragePoolORT(in []int8, s Shape, p PoolParams, fa FloatAverage) ([]int8, Shape, error) {
	if err := fa.Validate(); err != nil {
		return nil, Shape{}, fmt.Errorf("average pool: %w", err)
	}
	w := p.Window
	unpadded := w.Padding == PaddingValid ||
		(w.Padding == PaddingExplicit && w.PadTop == 0 && w.PadBottom == 0 && w.PadLeft == 0 && w.PadRight == 0)
	average := fa.Window
	if unpadded && p.FilterH == s.H && p.FilterW == s.W {
		average = fa.Global
	}
	out, shape, err := pool(in, s, p, func(taps []int8) (int32, error) {
		if len(taps) == 0 {
			return 0, fmt.Errorf("window holds no input")
		}
		return average(taps), nil
	})
	if err != nil {
		return nil, Shape{}, fmt.Errorf("average pool: %w", err)
	}
	return out, shape, nil
}
