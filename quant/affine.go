package quant

import (
	"errors"
	"fmt"
	"math"
)

// DType is an integer storage type of a quantized tensor.
type DType int

const (
	Int8 DType = iota
	UInt8
	Int4
	UInt4
	Int16
	UInt16
	Int32
)

// String names the type as TFLite and ONNX spell it.
func (d DType) String() string {
	switch d {
	case Int8:
		return "int8"
	case UInt8:
		return "uint8"
	case Int4:
		return "int4"
	case UInt4:
		return "uint4"
	case Int16:
		return "int16"
	case UInt16:
		return "uint16"
	case Int32:
		return "int32"
	}
	return fmt.Sprintf("DType(%d)", int(d))
}

// Range returns the representable integers [min, max] of the type.
func (d DType) Range() (min, max int32) {
	switch d {
	case Int8:
		return math.MinInt8, math.MaxInt8
	case UInt8:
		return 0, math.MaxUint8
	case Int4:
		return -8, 7
	case UInt4:
		return 0, 15
	case Int16:
		return math.MinInt16, math.MaxInt16
	case UInt16:
		return 0, math.MaxUint16
	case Int32:
		return math.MinInt32, math.MaxInt32
	}
	panic(fmt.Sprintf("quant: Range of unknown %v", d))
}

// Signed reports whether the type is two's complement.
func (d DType) Signed() bool {
	switch d {
	case Int8, Int4, Int16, Int32:
		return true
	}
	return false
}

func (d DType) valid() bool { return d >= Int8 && d <= Int32 }

// Params are per-tensor affine quantization parameters ("fixed point with
// slope and bias"): real = Scale · (q − ZeroPoint). Scale is float32 as in
// TFLite flatbuffers and ONNX initializers, so arithmetic on it rounds the
// way theirs does.
type Params struct {
	Scale     float32
	ZeroPoint int32
	DType     DType
	// NarrowRange excludes the most negative code (int8 weights use
	// −127..127 so that negation is exact).
	NarrowRange bool
}

// QRange returns the codes the parameters may produce.
func (p Params) QRange() (min, max int32) {
	min, max = p.DType.Range()
	if p.NarrowRange && p.DType.Signed() {
		min++
	}
	return min, max
}

// Validate reports parameters no kernel can use.
func (p Params) Validate() error {
	if !p.DType.valid() {
		return fmt.Errorf("quant params: unknown dtype %d", int(p.DType))
	}
	if !(p.Scale > 0) || math.IsInf(float64(p.Scale), 0) {
		return fmt.Errorf("quant params: scale %v must be finite and > 0", p.Scale)
	}
	lo, hi := p.DType.Range()
	if p.ZeroPoint < lo || p.ZeroPoint > hi {
		return fmt.Errorf("quant params: zero point %d outside %v range [%d, %d]", p.ZeroPoint, p.DType, lo, hi)
	}
	return nil
}

// Quantize maps a real value to a code the TFLite way: x/scale in float32,
// rounded half away from zero, plus the zero point, clamped to QRange
// (tflite reference quantize.h, AffineQuantize).
func (p Params) Quantize(x float32) int32 {
	lo, hi := p.QRange()
	return saturateAdd(roundHalfAwayFromZero(x/p.Scale), p.ZeroPoint, lo, hi)
}

// QuantizeLinear maps a real value to a code the ONNX QuantizeLinear way:
// x/scale in float32, rounded half to even, plus the zero point, saturated.
func (p Params) QuantizeLinear(x float32) int32 {
	lo, hi := p.QRange()
	return saturateAdd(math.RoundToEven(float64(x/p.Scale)), p.ZeroPoint, lo, hi)
}

// Dequantize maps a code back to its real value, Scale·(q − ZeroPoint), in
// float32 as TFLite's Dequantize.
func (p Params) Dequantize(q int32) float32 {
	return p.Scale * float32(q-p.ZeroPoint)
}

// roundHalfAwayFromZero is TfLiteRound (std::round) on a float32.
func roundHalfAwayFromZero(x float32) float64 { return math.Round(float64(x)) }

// saturateAdd adds the zero point to a rounded value and clamps, treating
// NaN as zero and infinities as the range ends instead of overflowing.
func saturateAdd(r float64, zp, lo, hi int32) int32 {
	switch {
	case math.IsNaN(r):
		r = 0
	case r > math.MaxInt32:
		return hi
	case r < math.MinInt32:
		return lo
	}
	return int32(clamp64(int64(r)+int64(zp), int64(lo), int64(hi)))
}

func clamp64(v, lo, hi int64) int64 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// ErrRangeExcludesZero is returned when a calibration range does not contain
// 0.0: zero must be exactly representable (zero padding, ReLU).
var ErrRangeExcludesZero = errors.New("range must include zero")

// ChooseParams returns asymmetric parameters covering [rmin, rmax], which
// must contain zero. The zero point is taken from whichever end loses less
// precision and then rounded half away from zero into the code range
// (TFLite quantization_util.h ChooseQuantizationParams). An empty range
// {0} gives scale 0, which no kernel accepts; callers widen it first.
func ChooseParams(rmin, rmax float64, dt DType, narrowRange bool) (Params, error) {
	p := Params{DType: dt, NarrowRange: narrowRange}
	if !dt.valid() {
		return p, fmt.Errorf("choose params: unknown dtype %d", int(dt))
	}
	if math.IsNaN(rmin) || math.IsNaN(rmax) || math.IsInf(rmin, 0) || math.IsInf(rmax, 0) {
		return p, fmt.Errorf("choose params [%v, %v]: range must be finite", rmin, rmax)
	}
	if rmin > rmax {
		return p, fmt.Errorf("choose params [%v, %v]: min > max", rmin, rmax)
	}
	if rmin > 0 || rmax < 0 {
		return p, fmt.Errorf("choose params [%v, %v]: %w", rmin, rmax, ErrRangeExcludesZero)
	}
	qmin, qmax := p.QRange()
	if rmin == rmax {
		return p, nil
	}
	qminF, qmaxF := float64(qmin), float64(qmax)
	scale := (rmax - rmin) / (qmaxF - qminF)
	zpFromMin := qminF - rmin/scale
	zpFromMax := qmaxF - rmax/scale
	zpFromMinErr := math.Abs(qminF) + math.Abs(rmin/scale)
	zpFromMaxErr := math.Abs(qmaxF) + math.Abs(rmax/scale)
	zp := zpFromMax
	if zpFromMinErr < zpFromMaxErr {
		zp = zpFromMin
	}
	switch {
	case zp < qminF:
		p.ZeroPoint = qmin
	case zp > qmaxF:
		p.ZeroPoint = qmax
	default:
		p.ZeroPoint = int32(math.Round(zp))
	}
	p.Scale = float32(scale)
	return p, nil
}

// ChooseSymmetricParams returns zero-point-0 parameters for a signed type
// covering [−absMax, absMax] with the narrow code range (int8: −127..127),
// as TFLite and the design use for weights: scale = absMax / qmax.
func ChooseSymmetricParams(absMax float64, dt DType) (Params, error) {
	p := Params{DType: dt, NarrowRange: true}
	if !dt.valid() || !dt.Signed() {
		return p, fmt.Errorf("choose symmetric params: %v is not a signed type", dt)
	}
	if math.IsNaN(absMax) || math.IsInf(absMax, 0) || absMax < 0 {
		return p, fmt.Errorf("choose symmetric params: abs max %v must be finite and ≥ 0", absMax)
	}
	_, qmax := dt.Range()
	p.Scale = float32(absMax / float64(qmax))
	return p, nil
}

// PerChannel holds one set of parameters per slice along Axis (output
// channels: axis 0 of OHWI filters, axis 3 of NHWC activations).
type PerChannel struct {
	Scales      []float32
	ZeroPoints  []int32
	Axis        int
	DType       DType
	NarrowRange bool
}

// Channel returns channel c's parameters.
func (pc PerChannel) Channel(c int) Params {
	return Params{Scale: pc.Scales[c], ZeroPoint: pc.ZeroPoints[c], DType: pc.DType, NarrowRange: pc.NarrowRange}
}

// Validate checks lengths and every channel.
func (pc PerChannel) Validate() error {
	if len(pc.Scales) == 0 || len(pc.Scales) != len(pc.ZeroPoints) {
		return fmt.Errorf("per-channel params: %d scales, %d zero points", len(pc.Scales), len(pc.ZeroPoints))
	}
	for c := range pc.Scales {
		if err := pc.Channel(c).Validate(); err != nil {
			return fmt.Errorf("channel %d: %w", c, err)
		}
	}
	return nil
}

// channelOf returns the index along axis of flat element i of a row-major
// tensor with the given shape.
func channelOf(i int, shape []int, axis int) int {
	inner := 1
	for _, d := range shape[axis+1:] {
		inner *= d
	}
	return (i / inner) % shape[axis]
}

func checkAxis(n int, shape []int, axis, channels int) error {
	if axis < 0 || axis >= len(shape) {
		return fmt.Errorf("axis %d out of range for rank %d", axis, len(shape))
	}
	if shape[axis] != channels {
		return fmt.Errorf("axis %d has %d slices, params have %d", axis, shape[axis], channels)
	}
	if numElements(shape) != n {
		return fmt.Errorf("shape %v holds %d elements, data has %d", shape, numElements(shape), n)
	}
	return nil
}

func numElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// QuantizeTensor quantizes (TFLite rounding) a row-major tensor per channel.
func (pc PerChannel) QuantizeTensor(x []float32, shape []int) ([]int32, error) {
	return pc.mapTensor(x, shape, Params.Quantize)
}

// QuantizeLinearTensor quantizes (ONNX rounding) a row-major tensor per
// channel, as ONNX QuantizeLinear with a 1-D y_scale and axis.
func (pc PerChannel) QuantizeLinearTensor(x []float32, shape []int) ([]int32, error) {
	return pc.mapTensor(x, shape, Params.QuantizeLinear)
}

func (pc PerChannel) mapTensor(x []float32, shape []int, f func(Params, float32) int32) ([]int32, error) {
	if err := checkAxis(len(x), shape, pc.Axis, len(pc.Scales)); err != nil {
		return nil, fmt.Errorf("per-channel quantize: %w", err)
	}
	out := make([]int32, len(x))
	for i, v := range x {
		out[i] = f(pc.Channel(channelOf(i, shape, pc.Axis)), v)
	}
	return out, nil
}

// DequantizeTensor is the inverse map of QuantizeTensor.
func (pc PerChannel) DequantizeTensor(q []int32, shape []int) ([]float32, error) {
	if err := checkAxis(len(q), shape, pc.Axis, len(pc.Scales)); err != nil {
		return nil, fmt.Errorf("per-channel dequantize: %w", err)
	}
	out := make([]float32, len(q))
	for i, v := range q {
		out[i] = pc.Channel(channelOf(i, shape, pc.Axis)).Dequantize(v)
	}
	return out, nil
}

// QuantizeInt8 quantizes a slice to int8 codes with TFLite rounding. p must
// be an Int8 (or narrower signed) type.
func QuantizeInt8(x []float32, p Params) []int8 {
	out := make([]int8, len(x))
	for i, v := range x {
		out[i] = int8(p.Quantize(v))
	}
	return out
}

// DequantizeInt8 maps int8 codes back to real values.
func DequantizeInt8(q []int8, p Params) []float32 {
	out := make([]float32, len(q))
	for i, v := range q {
		out[i] = p.Dequantize(int32(v))
	}
	return out
}

// QuantizeBias quantizes a bias to int32 with scale inputScale·weightScale
// and zero point 0, as TFLite's converter does: the accumulator's own scale,
// so that the bias adds directly.
func QuantizeBias(b float32, inputScale, weightScale float32) int32 {
	p := Params{Scale: inputScale * weightScale, DType: Int32}
	return p.Quantize(b)
}

// EffectiveScale returns the real multiplier of a conv or fully connected
// output stage, inputScale·weightScale/outputScale, in double as TFLite's
// PopulateConvolutionQuantizationParams computes it per channel.
func EffectiveScale(inputScale, weightScale, outputScale float32) float64 {
	return float64(inputScale) * float64(weightScale) / float64(outputScale)
}

// OutputMultipliers quantizes EffectiveScale for every weight channel.
func OutputMultipliers(inputScale float32, weightScales []float32, outputScale float32) (multipliers []int32, shifts []int) {
	multipliers = make([]int32, len(weightScales))
	shifts = make([]int, len(weightScales))
	for c, ws := range weightScales {
		multipliers[c], shifts[c] = QuantizeMultiplier(EffectiveScale(inputScale, ws, outputScale))
	}
	return multipliers, shifts
}
