package ptq

import (
	"errors"
	"fmt"
	"math"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/nn"
	"github.com/tpugen/tpugen/quant"
)

// layer quantizes a Conv, Gemm or MatMul (with its fused clamp and pool)
// reading in and writing parameters out. Weights and bias are the model's
// own integers when it is pre-quantized (p.fixed holds them), else
// quantized here from the float initializers.
func (p *planner) layer(gr *group, in *compile.Tensor, out quant.Params) (*compile.Layer, error) {
	n := gr.main
	w, ok := p.g.Initializers[n.Input(1)]
	if !ok || w.DType != nn.Float32 {
		return nil, fmt.Errorf("weights %q must be a float initializer", n.Input(1))
	}
	var bias []float32
	if b := n.Input(2); b != "" {
		t, ok := p.g.Initializers[b]
		if !ok || t.DType != nn.Float32 {
			return nil, fmt.Errorf("bias %q must be a float initializer", b)
		}
		bias = t.Float32
	}
	l := &compile.Layer{InShape: in.Shape, InputZP: in.Params.ZeroPoint}
	// order[i] is the index, in w's ONNX layout, of weight i in output
	// channel major order (OHWI for a convolution, N×K for FC); outAxis is
	// the output channel axis of w's layout.
	var order []int
	outAxis := 0
	switch n.Op {
	case "Conv":
		if len(w.Shape) != 4 {
			return nil, fmt.Errorf("conv weights of shape %v, want O×I×kH×kW", w.Shape)
		}
		o, ci, kh, kw := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
		l.Kind = compile.Conv
		l.WeightShape = quant.Shape{N: o, H: kh, W: kw, C: ci}
		win, err := convWindow(n, in.Shape, kh, kw)
		if err != nil {
			return nil, err
		}
		l.Window = win
		if g := int(n.AttrInt("group", 1)); g < 1 || ci*g != in.Shape.C || o%g != 0 {
			return nil, fmt.Errorf("group %d with %d input channels and weights %v", g, in.Shape.C, w.Shape)
		}
		order = make([]int, len(w.Float32))
		for oc := 0; oc < o; oc++ {
			for c := 0; c < ci; c++ {
				for y := 0; y < kh; y++ {
					for x := 0; x < kw; x++ {
						order[((oc*kh+y)*kw+x)*ci+c] = ((oc*ci+c)*kh+y)*kw + x
					}
				}
			}
		}
	case "Gemm", "MatMul":
		if len(w.Shape) != 2 {
			return nil, fmt.Errorf("weights of shape %v, want a matrix", w.Shape)
		}
		k, units := w.Shape[0], w.Shape[1]
		trans := n.Op == "Gemm" && n.AttrInt("transB", 0) == 1
		outAxis = 1
		if trans {
			units, k = w.Shape[0], w.Shape[1]
			outAxis = 0
		}
		if n.Op == "Gemm" {
			if n.AttrInt("transA", 0) != 0 {
				return nil, errors.New("a Gemm with transA is not supported")
			}
			if a, b := n.AttrFloat("alpha", 1), n.AttrFloat("beta", 1); a != 1 || (b != 1 && bias != nil) {
				return nil, fmt.Errorf("a Gemm with alpha %v, beta %v is not supported (want 1)", a, b)
			}
		}
		if in.Shape.H*in.Shape.W*in.Shape.C != k {
			return nil, fmt.Errorf("input %v has %d features, the weights want %d", in.Shape, in.Shape.H*in.Shape.W*in.Shape.C, k)
		}
		l.Kind = compile.FC
		l.WeightShape = quant.Shape{N: units, H: 1, W: 1, C: k}
		order = make([]int, k*units)
		for u := 0; u < units; u++ {
			for i := 0; i < k; i++ {
				if trans {
					order[u*k+i] = u*k + i
				} else {
					order[u*k+i] = i*units + u
				}
			}
		}
	}
	units := l.WeightShape.N
	if bias != nil && len(bias) != units {
		return nil, fmt.Errorf("bias has %d values for %d output channels", len(bias), units)
	}
	var scales []float32
	var err error
	if c, ok := p.fixed.constant(n.Input(1)); ok {
		l.Weights, scales, err = c.weights(n.Input(1), order, units, outAxis)
	} else {
		l.Weights, scales = quantizeWeights(w.Float32, order, units, p.weightType())
	}
	if err != nil {
		return nil, err
	}
	if c, ok := p.fixed.constant(n.Input(2)); ok {
		l.Bias, err = c.bias(n.Input(2), units, in.Params.Scale, scales)
	} else {
		l.Bias = quantizeBias(bias, units, in.Params.Scale, scales)
	}
	if err != nil {
		return nil, err
	}
	l.Requant.Multipliers, l.Requant.Shifts = quant.OutputMultipliers(in.Params.Scale, scales, out.Scale)
	// A float-scale requantizer (rounding "float") takes these instead.
	l.Requant.Scales = quant.OutputScalesFloat(in.Params.Scale, scales, out.Scale)
	l.Requant.ZeroPoint = out.ZeroPoint
	act, err := p.fusedAct(gr.act)
	if err != nil {
		return nil, err
	}
	l.Requant.ActMin, l.Requant.ActMax = clampRange(act, out)
	if gr.pool != nil {
		pp, kind, err := poolParams(gr.pool, quant.Shape{})
		if err != nil {
			return nil, err
		}
		l.Pool = &compile.Pool{Kind: kind, KH: pp.FilterH, KW: pp.FilterW, SH: pp.StrideH, SW: pp.StrideW, ZeroPoint: out.ZeroPoint}
	}
	return l, nil
}

// quantizeWeights quantizes float weights symmetric per output channel
// (zero point 0; int8: −127..127, int4: −7..7), taking them in order (see
// layer).
func quantizeWeights(w []float32, order []int, units int, dt quant.DType) ([]int8, []float32) {
	_, qmax := dt.Range()
	per := len(order) / units
	scales := make([]float32, units)
	q8 := make([]int8, len(order))
	for c := 0; c < units; c++ {
		var absMax float64
		for _, j := range order[c*per : (c+1)*per] {
			absMax = math.Max(absMax, math.Abs(float64(w[j])))
		}
		q, err := quant.ChooseSymmetricParams(absMax, dt)
		if err != nil || absMax == 0 {
			q = quant.Params{Scale: 1, DType: dt} // an all-zero channel
		}
		scales[c] = q.Scale
		for i, j := range order[c*per : (c+1)*per] {
			q8[c*per+i] = int8(max(-qmax, min(qmax, q.Quantize(w[j]))))
		}
	}
	return q8, scales
}

// quantizeBias quantizes a float bias (nil: none) to int32 at the
// accumulator's scale, input scale × weight scale per channel.
func quantizeBias(bias []float32, units int, inScale float32, wScales []float32) []int32 {
	q := make([]int32, units)
	for c := range q {
		if bias != nil {
			q[c] = quant.QuantizeBias(bias[c], inScale, wScales[c])
		}
	}
	return q
}

// clamp is a fused activation's float range.
type clamp struct{ lo, hi float64 }

// fusedAct reads a Relu or Clip node (nil: no clamp).
func (p *planner) fusedAct(n *nn.Node) (clamp, error) {
	c := clamp{math.Inf(-1), math.Inf(1)}
	if n == nil {
		return c, nil
	}
	if n.Op == "Relu" {
		return clamp{0, math.Inf(1)}, nil
	}
	// Clip: attributes before opset 11, optional constant inputs after.
	c.lo, c.hi = float64(n.AttrFloat("min", float32(math.Inf(-1)))), float64(n.AttrFloat("max", float32(math.Inf(1))))
	for i, dst := range []*float64{&c.lo, &c.hi} {
		name := n.Input(i + 1)
		if name == "" {
			continue
		}
		t, ok := p.g.Initializers[name]
		if !ok || t.DType != nn.Float32 || len(t.Float32) != 1 {
			return c, fmt.Errorf("%v: clip bound %q must be a float constant", n, name)
		}
		*dst = float64(t.Float32[0])
	}
	return c, nil
}

// clampRange turns a float clamp into codes of q, as TFLite's
// CalculateActivationRangeQuantized; an int4 tensor is clamped to its
// range in any case.
func clampRange(c clamp, q quant.Params) (int32, int32) {
	lo, hi := q.DType.Range()
	code := func(f float64) int32 { return q.ZeroPoint + int32(math.Round(f/float64(q.Scale))) }
	if !math.IsInf(c.lo, -1) {
		lo = max(lo, code(c.lo))
	}
	if !math.IsInf(c.hi, 1) {
		hi = min(hi, code(c.hi))
	}
	if lo == -128 && hi == 127 {
		return 0, 0 // the full range
	}
	return lo, hi
}

// convWindow turns ONNX's pads, auto_pad, strides and dilations into an
// explicit window.
func convWindow(n *nn.Node, in quant.Shape, kh, kw int) (quant.Window, error) {
	w := quant.Window{StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1, Padding: quant.PaddingExplicit}
	if s := n.AttrInts("strides"); len(s) == 2 {
		w.StrideH, w.StrideW = int(s[0]), int(s[1])
	}
	if d := n.AttrInts("dilations"); len(d) == 2 {
		w.DilationH, w.DilationW = int(d[0]), int(d[1])
	}
	switch ap := n.AttrString("auto_pad", "NOTSET"); ap {
	case "NOTSET":
		if p := n.AttrInts("pads"); len(p) == 4 {
			w.PadTop, w.PadLeft, w.PadBottom, w.PadRight = int(p[0]), int(p[1]), int(p[2]), int(p[3])
		}
	case "VALID":
	case "SAME_UPPER", "SAME_LOWER":
		pad := func(in, k, s, d int) (int, int) {
			out := (in + s - 1) / s
			total := max(0, (out-1)*s+(k-1)*d+1-in)
			if ap == "SAME_UPPER" {
				return total / 2, total - total/2
			}
			return total - total/2, total / 2
		}
		w.PadTop, w.PadBottom = pad(in.H, kh, w.StrideH, w.DilationH)
		w.PadLeft, w.PadRight = pad(in.W, kw, w.StrideW, w.DilationW)
	default:
		return w, fmt.Errorf("auto_pad %q", ap)
	}
	return w, nil
}

// poolParams reads a MaxPool, AveragePool or GlobalAveragePool node (in is
// the input shape, needed for the global window).
func poolParams(n *nn.Node, in quant.Shape) (quant.PoolParams, arch.PoolKind, error) {
	kind := arch.MaxPool
	switch n.Op {
	case "LpPool":
		kind = arch.L2Pool
	case "AveragePool", "GlobalAveragePool":
		kind = arch.AveragePool
	}
	if n.Op == "GlobalAveragePool" {
		return quant.PoolParams{Window: quant.Window{StrideH: 1, StrideW: 1, Padding: quant.PaddingValid},
			FilterH: in.H, FilterW: in.W}, kind, nil
	}
	k := n.AttrInts("kernel_shape")
	if len(k) != 2 {
		return quant.PoolParams{}, kind, fmt.Errorf("kernel_shape %v, want 2 values", k)
	}
	if n.AttrInt("ceil_mode", 0) != 0 {
		return quant.PoolParams{}, kind, errors.New("ceil_mode is not supported")
	}
	if n.Op == "AveragePool" && n.AttrInt("count_include_pad", 0) != 0 {
		for _, v := range n.AttrInts("pads") {
			if v != 0 {
				return quant.PoolParams{}, kind, errors.New("count_include_pad with padding is not supported (TFLite excludes pads)")
			}
		}
	}
	pp := quant.PoolParams{FilterH: int(k[0]), FilterW: int(k[1])}
	pp.Window = quant.Window{StrideH: int(k[0]), StrideW: int(k[1]), Padding: quant.PaddingExplicit}
	if s := n.AttrInts("strides"); len(s) == 2 {
		pp.StrideH, pp.StrideW = int(s[0]), int(s[1])
	} else {
		pp.StrideH, pp.StrideW = 1, 1 // ONNX's default stride is 1
	}
	if p := n.AttrInts("pads"); len(p) == 4 {
		pp.PadTop, pp.PadLeft, pp.PadBottom, pp.PadRight = int(p[0]), int(p[1]), int(p[2]), int(p[3])
	}
	return pp, kind, nil
}
