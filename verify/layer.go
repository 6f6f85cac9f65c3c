package verify

import (
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/tpugen/tpugen/quant"
)

// Layer is one quantized layer to run on the matrix unit and its pipeline:
// a fully connected layer, or a 2-D convolution lowered by im2col, with
// int32 bias and per-channel requantization, an optional activation and
// optional pooling. Its reference result comes from quant's TFLite kernels.
type Layer struct {
	Kind string // "fc" or "conv"

	// FC: Input is Batch×InFeatures, Weights is OutFeatures×InFeatures.
	// Conv: Input is 1×H×W×Cin (NHWC), Weights is Cout×Fh×Fw×Cin (OHWI).
	// An FC layer whose rows are the output pixels of an H×W map (a
	// convolution already lowered to an im2col matrix) sets MapH and MapW;
	// its output is then that feature map and may be pooled.
	Input       []int8
	InShape     quant.Shape
	Weights     []int8
	WeightShape quant.Shape
	Window      quant.Window // conv only
	MapH, MapW  int          // FC only: rows form an MapH×MapW feature map
	Bias        []int32
	InputZP     int32
	Output      quant.OutputStage // per-channel multipliers and shifts, zero point, clamp

	Act  LayerActivation
	Pool *LayerPool // conv only; nil: no pooling
}

// LayerActivation selects the activation unit's function.
type LayerActivation struct {
	Mode  string                // "none", "leaky" or "table"
	Leaky quant.LeakyReLUParams // Mode "leaky"
	Table [256]int8             // Mode "table": entry uint8(x) is f(x)
}

// LayerPool is a VALID pooling window after the activation.
type LayerPool struct {
	Average        bool
	KH, KW, SH, SW int
}

// apply runs the activation on one value.
func (a LayerActivation) apply(x int8) int8 {
	switch a.Mode {
	case "leaky":
		return quant.LeakyReLUInt8(x, a.Leaky)
	case "table":
		return a.Table[uint8(x)]
	}
	return x
}

// Reference computes the layer with quant's reference kernels. For conv the
// result is NHWC with its shape; for FC, Batch×OutFeatures.
func (l *Layer) Reference() ([]int8, quant.Shape, error) {
	var out []int8
	var shape quant.Shape
	var err error
	switch l.Kind {
	case "fc":
		batches, units := l.InShape.N, l.WeightShape.N
		out, err = quant.FullyConnected(l.Input, batches, l.Weights, units, l.Bias,
			quant.FCParams{InputZeroPoint: l.InputZP, Output: l.Output})
		shape = quant.Shape{N: batches, H: 1, W: 1, C: units}
		if l.MapH > 0 {
			if l.MapH*l.MapW != batches {
				return nil, quant.Shape{}, fmt.Errorf("layer: %d rows are not a %dx%d feature map", batches, l.MapH, l.MapW)
			}
			shape = quant.Shape{N: 1, H: l.MapH, W: l.MapW, C: units}
		}
	case "conv":
		out, shape, err = quant.Conv2D(l.Input, l.InShape, l.Weights, l.WeightShape, l.Bias,
			quant.ConvParams{Window: l.Window, InputZeroPoint: l.InputZP, Output: l.Output})
	default:
		return nil, quant.Shape{}, fmt.Errorf("layer: kind %q must be fc or conv", l.Kind)
	}
	if err != nil {
		return nil, quant.Shape{}, fmt.Errorf("layer reference: %w", err)
	}
	for i, v := range out {
		out[i] = l.Act.apply(v)
	}
	if l.Pool != nil {
		pp := quant.PoolParams{Window: quant.Window{StrideH: l.Pool.SH, StrideW: l.Pool.SW, Padding: quant.PaddingValid},
			FilterH: l.Pool.KH, FilterW: l.Pool.KW}
		if l.Pool.Average {
			out, shape, err = quant.AveragePool(out, shape, pp)
		} else {
			out, shape, err = quant.MaxPool(out, shape, pp)
		}
		if err != nil {
			return nil, quant.Shape{}, fmt.Errorf("layer reference pool: %w", err)
		}
	}
	return out, shape, nil
}

// lower turns the layer into a GEMM: A holds one row per output pixel (FC:
// per batch row), B one column per output channel. Convolution taps that
// fall in the padding hold the input zero point, so folding the zero point
// into the bias (bias − zp·Σw) is exact: padded taps contribute nothing, as
// in the reference.
func (l *Layer) lower() (a, b Matrix, bias []int32, out quant.Shape, err error) {
	switch l.Kind {
	case "fc":
		batches, in, units := l.InShape.N, l.WeightShape.C, l.WeightShape.N
		if len(l.Input) != batches*in || len(l.Weights) != units*in {
			return nil, nil, nil, out, fmt.Errorf("layer fc: input %d values for %dx%d, weights %d for %dx%d", len(l.Input), batches, in, len(l.Weights), units, in)
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
		out = quant.Shape{N: batches, H: 1, W: 1, C: units}
		if l.MapH > 0 {
			if l.MapH*l.MapW != batches {
				return nil, nil, nil, out, fmt.Errorf("layer: %d rows are not a %dx%d feature map", batches, l.MapH, l.MapW)
			}
			out = quant.Shape{N: 1, H: l.MapH, W: l.MapW, C: units}
		}
	case "conv":
		s, f := l.InShape, l.WeightShape
		if s.N != 1 {
			return nil, nil, nil, out, errors.New("layer conv: batch must be 1")
		}
		if f.C != s.C {
			return nil, nil, nil, out, fmt.Errorf("layer conv: filter depth %d != input depth %d (grouped and depthwise convolutions are not lowered by im2col)", f.C, s.C)
		}
		out, err = l.Window.OutputShape(s, f.H, f.W, f.N)
		if err != nil {
			return nil, nil, nil, out, fmt.Errorf("layer conv: %w", err)
		}
		padTop, padLeft, err := l.Window.LeadingPads(s, f.H, f.W)
		if err != nil {
			return nil, nil, nil, out, fmt.Errorf("layer conv: %w", err)
		}
		dh, dw := max(1, l.Window.DilationH), max(1, l.Window.DilationW)
		sh, sw := max(1, l.Window.StrideH), max(1, l.Window.StrideW)
		K := f.H * f.W * s.C
		a, b = NewMatrix(out.H*out.W, K), NewMatrix(K, f.N)
		for oy := 0; oy < out.H; oy++ {
			for ox := 0; ox < out.W; ox++ {
				row := a[oy*out.W+ox]
				for fy := 0; fy < f.H; fy++ {
					for fx := 0; fx < f.W; fx++ {
						y, x := oy*sh+fy*dh-padTop, ox*sw+fx*dw-padLeft
						for c := 0; c < s.C; c++ {
							v := int64(l.InputZP)
							if y >= 0 && y < s.H && x >= 0 && x < s.W {
								v = int64(l.Input[s.Index(0, y, x, c)])
							}
							row[(fy*f.W+fx)*s.C+c] = v
						}
					}
				}
			}
		}
		for o := 0; o < f.N; o++ {
			for k := 0; k < K; k++ {
				b[k][o] = int64(l.Weights[o*K+k])
			}
		}
	default:
		return nil, nil, nil, out, fmt.Errorf("layer: kind %q must be fc or conv", l.Kind)
	}
	_, N := b.Dims()
	if len(l.Bias) != N {
		return nil, nil, nil, out, fmt.Errorf("layer: %d biases for %d output channels", len(l.Bias), N)
	}
	bias = make([]int32, N)
	for n := 0; n < N; n++ {
		var sum int32
		for k := range b {
			sum += int32(b[k][n])
		}
		bias[n] = l.Bias[n] - l.InputZP*sum // int32 wrap, as the accumulators
	}
	return a, b, bias, out, nil
}

// LayerRun is the outcome of a layer on the RTL.
type LayerRun struct {
	Output      []int8 // NHWC (conv) or Batch×Out (FC), as Reference
	Shape       quant.Shape
	Cycles      int
	Ideal       float64 // MACs / (rows × cols)
	Utilization float64
	Result      *Result
}

// paramWord packs named values into a parameter word of the given layout.
func paramWord(fields []FieldLayout, vals map[string]int64) *big.Int {
	lanes := make(map[string][]int64, len(vals))
	for k, v := range vals {
		lanes[k] = []int64{v}
	}
	return packer{&StreamLayout{Fields: fields}}.pack(lanes)
}

// Activation unit parameter addresses (see blocks.ActivationControlAddr).
const (
	actControlAddr = 256
	poolControl    = 0
)

// RunLayer runs the layer on the generated accelerator in dir (which must
// have the pipeline: requant, and activation/pool when the layer uses them).
func RunLayer(ctx context.Context, sim Simulator, man *Manifest, dir string, l *Layer, opt GEMMOptions) (*LayerRun, error) {
	cfg := man.Config
	if !cfg.Requant {
		return nil, errors.New("layer: this configuration has no pipeline (set requant: true)")
	}
	a, b, bias, outShape, err := l.lower()
	if err != nil {
		return nil, err
	}
	if err := cfg.CheckOperands(a, b); err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	if (l.Act.Mode == "leaky" && cfg.Activation != "leaky" && cfg.Activation != "all") ||
		(l.Act.Mode == "table" && cfg.Activation != "table" && cfg.Activation != "all") {
		return nil, fmt.Errorf("layer: activation %q is not in this configuration (activation: %q)", l.Act.Mode, cfg.Activation)
	}
	plan, err := planGEMM(man, a, b, planMode{layer: true})
	if err != nil {
		return nil, err
	}
	if plan.NTiles > cfg.ParamSets {
		return nil, fmt.Errorf("layer: %d output channels need %d parameter sets, the configuration has %d", plan.N, plan.NTiles, cfg.ParamSets)
	}
	frameH, frameW := outShape.H, outShape.W
	if l.Kind == "fc" && l.MapH == 0 {
		frameH, frameW = 1, outShape.N
	}
	if l.Pool != nil {
		if !cfg.Pool || (l.Kind != "conv" && l.MapH == 0) {
			return nil, errors.New("layer: pooling needs a feature map (a conv layer, or an im2col matrix with its map size) and a configuration with pool: true")
		}
		if frameW > cfg.PoolWidth || frameH > cfg.PoolHeight {
			return nil, fmt.Errorf("layer: %dx%d feature map exceeds pool_width x pool_height %dx%d", frameH, frameW, cfg.PoolHeight, cfg.PoolWidth)
		}
	}
	// Parameters: per column tile t (= tag t), one requantizer word per
	// lane, then the activation control word (and table), then pooling.
	pp := man.Stream("p_in")
	pk := packer{pp}
	var params []*big.Int
	emit := func(target, set, addr int, data *big.Int) {
		v := pk.pack(map[string][]int64{"target": {int64(target)}, "set": {int64(set)}, "addr": {int64(addr)}})
		f := pp.Field("data")
		v.Or(v, new(big.Int).Lsh(data, uint(f.LSB)))
		params = append(params, v)
	}
	lo, hi := int64(l.Output.ActMin), int64(l.Output.ActMax)
	if lo == 0 && hi == 0 {
		lo, hi = -128, 127
	}
	C := cfg.Cols
	for t := 0; t < plan.NTiles; t++ {
		for j := 0; j < C; j++ {
			n := t*C + j
			vals := map[string]int64{"out_zp": int64(l.Output.ZeroPoint), "act_min": lo, "act_max": hi}
			if n < plan.N {
				i := n
				if len(l.Output.Multipliers) == 1 {
					i = 0
				}
				vals["bias"], vals["multiplier"], vals["shift"] = int64(bias[n]), int64(l.Output.Multipliers[i]), int64(l.Output.Shifts[i])
			}
			emit(0, t, j, paramWord(man.Params["requant"], vals))
		}
		if f := man.Params["activation"]; f != nil {
			mode := map[string]int64{"none": 0, "": 0, "leaky": 1, "table": 2}[l.Act.Mode]
			lk := l.Act.Leaky
			emit(1, t, actControlAddr, paramWord(f, map[string]int64{"mode": mode,
				"in_zp": int64(lk.InputZeroPoint), "out_zp": int64(lk.OutputZeroPoint),
				"mult_identity": int64(lk.IdentityMultiplier), "shift_identity": int64(lk.IdentityShift),
				"mult_alpha": int64(lk.AlphaMultiplier), "shift_alpha": int64(lk.AlphaShift)}))
			if l.Act.Mode == "table" {
				for x := 0; x < 256; x++ {
					emit(1, t, x, big.NewInt(int64(uint8(l.Act.Table[x]))))
				}
			}
		}
		if f := man.Params["pool"]; f != nil {
			// Without pooling every beat is its own 1x1 frame, passed through.
			vals := map[string]int64{"enable": 0, "width": 1, "height": 1, "kh": 1, "kw": 1, "sh": 1, "sw": 1}
			if l.Pool != nil {
				vals["enable"], vals["kh"], vals["kw"], vals["sh"], vals["sw"] = 1, int64(l.Pool.KH), int64(l.Pool.KW), int64(l.Pool.SH), int64(l.Pool.SW)
				vals["width"], vals["height"] = int64(frameW), int64(frameH)
				vals["mode"] = b2i(l.Pool.Average)
			}
			emit(2, t, poolControl, paramWord(f, vals))
		}
	}
	// Expected output beats per tile: pooled pixels, or one per row.
	perTile := plan.M
	oh, ow := frameH, frameW
	if l.Pool != nil {
		oh, ow = (frameH-l.Pool.KH)/l.Pool.SH+1, (frameW-l.Pool.KW)/l.Pool.SW+1
		if oh < 1 || ow < 1 {
			return nil, fmt.Errorf("layer: pooling window %dx%d larger than the %dx%d feature map", l.Pool.KH, l.Pool.KW, frameH, frameW)
		}
		perTile = oh * ow
	}
	top := man.SimTop(dir)
	stim := streamStimulus(top, map[string][]*big.Int{"w_in": plan.W, "a_in": plan.A, "p_in": params},
		map[string]func(int) bool{"w_in": opt.WStall, "a_in": opt.AStall, "y_out": opt.SinkStall},
		map[string]int{"y_out": perTile * plan.NTiles})
	pred := PredictGEMMCycles(cfg, plan.M, plan.K, plan.N)
	stim.MaxCycles = opt.MaxCycles
	if stim.MaxCycles == 0 {
		stim.MaxCycles = 4*pred + 4*len(params) + 10_000
	}
	res, err := sim.Run(ctx, top, stim, opt.Sim)
	if err != nil {
		return nil, err
	}
	ys := man.Stream("y_out")
	shape := outShape
	if l.Pool != nil {
		shape.H, shape.W = oh, ow
	}
	out := make([]int8, shape.Len())
	for i, beat := range res.Sinks[sinkIndex(top, "y_out")] {
		t, p := i/perTile, i%perTile
		if got := unpackField(ys, beat.Data, "tag")[0]; got != int64(t) {
			return nil, fmt.Errorf("layer: output beat %d carries tag %d, want %d", i, got, t)
		}
		vals := unpackField(ys, beat.Data, "values")
		for j := 0; j < C && t*C+j < shape.C; j++ {
			out[p*shape.C+t*C+j] = int8(vals[j])
		}
	}
	macs := float64(plan.M) * float64(plan.K) * float64(plan.N)
	ideal := macs / float64(cfg.Rows*cfg.Cols)
	return &LayerRun{Output: out, Shape: shape, Cycles: res.Cycles, Ideal: ideal, Utilization: ideal / float64(res.Cycles), Result: res}, nil
}
