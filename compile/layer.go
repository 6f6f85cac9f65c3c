package compile

import (
	"fmt"
	"math"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/quant"
)

// LayerKind is the kind of a layer the matrix unit runs.
type LayerKind uint8

const (
	// FC is a fully connected layer: Input is Batch×InFeatures, Weights
	// OutFeatures×InFeatures.
	FC LayerKind = iota
	// Conv is a 2-D convolution lowered by im2col: Input is 1×H×W×Cin
	// (NHWC), Weights Cout×Fh×Fw×Cin (OHWI).
	Conv
)

func (k LayerKind) String() string {
	switch k {
	case FC:
		return "fc"
	case Conv:
		return "conv"
	}
	return fmt.Sprintf("LayerKind(%d)", int(k))
}

// Layer is one quantized layer for the matrix unit and its pipeline: int32
// bias, per-channel requantization, an optional activation and optional
// pooling. It carries no numeric choice of the hardware's (such as the
// requantizer's rounding): those come from the configuration wherever the
// layer is computed.
type Layer struct {
	Kind LayerKind

	// An FC layer whose rows are the output pixels of an H×W map (a
	// convolution already lowered to an im2col matrix) sets MapH and MapW;
	// its output is then that feature map and may be pooled.
	Input       []int8
	InShape     quant.Shape
	Weights     []int8
	WeightShape quant.Shape
	Window      quant.Window // Conv only
	MapH, MapW  int          // FC only: rows form an MapH×MapW feature map
	Bias        []int32
	InputZP     int32
	Requant     Requant

	Act  Activation
	Pool *Pool // nil: no pooling
	// Softmax, when set, is TFLite's int8 softmax over the output channels
	// after the pool (the softmax unit: the channels must fit one column
	// tile); the output is then the softmax's (scale 1/256, zero point
	// -128).
	Softmax *quant.SoftmaxParams
}

// Requant is a layer's output stage: per-channel (or one shared) multiplier
// and shift, the output zero point and the fused clamp.
type Requant struct {
	Multipliers []int32
	Shifts      []int
	// Scales are the float32 scales of hardware built with rounding
	// "float" (ONNX Runtime's arithmetic), per channel or one shared; the
	// fixed-point multipliers and shifts are then unused.
	Scales    []float32
	ZeroPoint int32
	// ActMin and ActMax are the fused activation range; both zero means
	// the full int8 range.
	ActMin, ActMax int32
}

// OutputStage is quant's output stage for this requantization on hardware
// that rounds as r does.
func (q Requant) OutputStage(r arch.Rounding) quant.OutputStage {
	return quant.OutputStage{Multipliers: q.Multipliers, Shifts: q.Shifts, Scales: q.FloatScales(), ZeroPoint: q.ZeroPoint,
		ActMin: q.ActMin, ActMax: q.ActMax, Rounding: QuantRounding(r)}
}

// FloatScales are the scales a float-scale requantizer uses: Scales, or
// for a layer quantized with fixed-point multipliers only, each
// multiplier·2^(shift−31) rounded to float32 (so that such a layer still
// runs, golden model and RTL alike, on hardware built with rounding
// "float").
func (q Requant) FloatScales() []float32 {
	if q.Scales != nil || len(q.Multipliers) != len(q.Shifts) {
		return q.Scales
	}
	s := make([]float32, len(q.Multipliers))
	for i, m := range q.Multipliers {
		s[i] = float32(math.Ldexp(float64(m), q.Shifts[i]-31))
	}
	return s
}

// Range is the clamp [lo, hi] the requantizer applies.
func (q Requant) Range() (lo, hi int32) {
	if q.ActMin == 0 && q.ActMax == 0 {
		return -128, 127
	}
	return q.ActMin, q.ActMax
}

// QuantRounding is quant's name for the hardware's rounding mode.
func QuantRounding(r arch.Rounding) quant.Rounding {
	if r.IsSingle() {
		return quant.RoundingSingle
	}
	if r.IsFloat() {
		return quant.RoundingFloat
	}
	return quant.RoundingDouble
}

// Activation is the activation unit's function for a layer.
type Activation struct {
	Func  arch.ActivationFunc
	Leaky quant.LeakyReLUParams // Func ActLeaky
	Table [256]int8             // Func ActTable: entry uint8(x) is f(x)
}

// Apply runs the activation on one value.
func (a Activation) Apply(x int8) int8 {
	switch a.Func {
	case arch.ActLeaky:
		return quant.LeakyReLUInt8(x, a.Leaky)
	case arch.ActTable:
		return a.Table[uint8(x)]
	}
	return x
}

// Pool is a VALID pooling window after the activation.
type Pool struct {
	Kind           arch.PoolKind
	KH, KW, SH, SW int
	// ZeroPoint is the zero point L2 pooling subtracts and adds back (the
	// activation's output zero point); max and average ignore it.
	ZeroPoint int32
}

// Params is quant's description of the pooling window.
func (p Pool) Params() quant.PoolParams {
	return quant.PoolParams{Window: quant.Window{StrideH: p.SH, StrideW: p.SW, Padding: quant.PaddingValid},
		FilterH: p.KH, FilterW: p.KW}
}

// OutputShape is the shape of the layer's output before pooling.
func (l *Layer) OutputShape() (quant.Shape, error) {
	switch l.Kind {
	case FC:
		batches, units := l.InShape.N, l.WeightShape.N
		if l.MapH > 0 {
			if l.MapH*l.MapW != batches {
				return quant.Shape{}, fmt.Errorf("layer: %d rows are not a %dx%d feature map", batches, l.MapH, l.MapW)
			}
			return quant.Shape{N: 1, H: l.MapH, W: l.MapW, C: units}, nil
		}
		return quant.Shape{N: batches, H: 1, W: 1, C: units}, nil
	case Conv:
		s, err := l.Window.OutputShape(l.InShape, l.WeightShape.H, l.WeightShape.W, l.WeightShape.N)
		if err != nil {
			return quant.Shape{}, fmt.Errorf("layer conv: %w", err)
		}
		return s, nil
	}
	return quant.Shape{}, fmt.Errorf("layer: unknown kind %v", l.Kind)
}

// Lower turns the layer into a GEMM: A holds one row per output pixel (FC:
// per batch row), B one column per output channel. Convolution taps that
// fall in the padding hold the input zero point, so folding the zero point
// into the bias (bias − zp·Σw, FoldedBias) is exact: padded taps contribute
// nothing, as in the reference.
func (l *Layer) Lower() (a, b Matrix, out quant.Shape, err error) {
	out, err = l.OutputShape()
	if err != nil {
		return nil, nil, out, err
	}
	switch l.Kind {
	case FC:
		batches, in, units := l.InShape.N, l.WeightShape.C, l.WeightShape.N
		if len(l.Input) != batches*in || len(l.Weights) != units*in {
			return nil, nil, out, fmt.Errorf("layer fc: input %d values for %dx%d, weights %d for %dx%d", len(l.Input), batches, in, len(l.Weights), units, in)
		}
		a, b = NewMatrix(batches, in), NewMatrix(in, units)
		for i := 0; i < batches; i++ {
			for k := 0; k < in; k++ {
				a[i][k] = int64(l.Input[i*in+k])
			}
		}
		for n := 0; n < units; n++ {
			for k := 0; k < in; k++ {
				b[k][n] = int64(l.Weights[n*in+k])
			}
		}
	case Conv:
		s, f := l.InShape, l.WeightShape
		if f.C != s.C {
			return nil, nil, out, fmt.Errorf("layer conv: filter depth %d != input depth %d (grouped and depthwise convolutions are not lowered by im2col)", f.C, s.C)
		}
		a, err = Im2col(l.Input, s, f.H, f.W, l.Window, l.InputZP)
		if err != nil {
			return nil, nil, out, fmt.Errorf("layer conv: %w", err)
		}
		K := f.H * f.W * s.C
		b = NewMatrix(K, f.N)
		for o := 0; o < f.N; o++ {
			for k := 0; k < K; k++ {
				b[k][o] = int64(l.Weights[o*K+k])
			}
		}
	}
	if _, n := b.Dims(); len(l.Bias) != n {
		return nil, nil, out, fmt.Errorf("layer: %d biases for %d output channels", len(l.Bias), n)
	}
	return a, b, out, nil
}

// Im2col lowers an NHWC input to one row per output pixel of an fh×fw
// window, image after image: (fy, fx, c) order, taps in the padding
// holding the input zero point zp.
func Im2col(input []int8, s quant.Shape, fh, fw int, win quant.Window, zp int32) (Matrix, error) {
	out, err := win.OutputShape(s, fh, fw, 1)
	if err != nil {
		return nil, err
	}
	padTop, padLeft, err := win.LeadingPads(s, fh, fw)
	if err != nil {
		return nil, err
	}
	if len(input) != s.Len() {
		return nil, fmt.Errorf("input has %d values for %v", len(input), s)
	}
	dh, dw := max(1, win.DilationH), max(1, win.DilationW)
	sh, sw := max(1, win.StrideH), max(1, win.StrideW)
	a := NewMatrix(s.N*out.H*out.W, fh*fw*s.C)
	for n := 0; n < s.N; n++ {
		for oy := 0; oy < out.H; oy++ {
			for ox := 0; ox < out.W; ox++ {
				row := a[(n*out.H+oy)*out.W+ox]
				for fy := 0; fy < fh; fy++ {
					for fx := 0; fx < fw; fx++ {
						y, x := oy*sh+fy*dh-padTop, ox*sw+fx*dw-padLeft
						for c := 0; c < s.C; c++ {
							v := int64(zp)
							if y >= 0 && y < s.H && x >= 0 && x < s.W {
								v = int64(input[s.Index(n, y, x, c)])
							}
							row[(fy*fw+fx)*s.C+c] = v
						}
					}
				}
			}
		}
	}
	return a, nil
}

// FoldedBias is bias − zp·Σ_k B[k][n] per output channel n, in int32 with
// wrap-around, as the accumulators compute: with it the matrix unit needs
// no zero-point correction.
func FoldedBias(bias []int32, zp int32, b Matrix) []int32 {
	out := make([]int32, len(bias))
	for n := range bias {
		var sum int32
		for k := range b {
			sum += int32(b[k][n])
		}
		out[n] = bias[n] - zp*sum
	}
	return out
}
