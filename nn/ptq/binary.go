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

// A binarized network, as ONNX holds it: a chain of fully connected
// layers (Gemm), each but the last followed by Sign. A Gemm whose input is
// a Sign output and whose weights are all -1 or +1 is a binary layer (no
// marker: the values say it); the others (the first, reading the image,
// and any with real weights) are int8 layers. LowerBinary maps the chain
// onto the two kinds of units:
//
//   - int8 layers as TFLite-style int8: the image at the given scale and
//     zero point, a Sign output as the int8 values -1 and +1 (scale 1),
//     weights symmetric per output channel, bias at the accumulator's scale;
//   - binary layers on a binary unit (mac "xnor"): the Sign outputs and
//     the weights packed laneBits to a lane (quant.PackSigns), the bias
//     rounded down to an integer, less one per padding bit (a pad is 0 in
//     both lanes and adds +1).
//
// A layer followed by Sign requantizes with multiplier 1 into the full
// int8 range: the output's sign is then the accumulator's, and the next
// layer reads 1 (+1) where the output is >= 0, else -1. So sign(0) is +1
// here, where ONNX's Sign gives 0 (the training's sign is the former).
// For a binary layer, dot + b >= 0 exactly when dot + floor(b) >= 0, so it
// matches the float model bit for bit. The last layer's output scale is
// calibrated: the largest |logit| the integer network reaches on the
// calibration images maps to 127.

// BinaryLayer is one lowered layer of a binarized network.
type BinaryLayer struct {
	Name string
	// Binary layers run on a binary unit with packed lanes; the others
	// are int8 layers on an integer unit.
	Binary bool
	// Sign is true when the output's sign feeds the next layer; the last
	// layer's output is the network's (int8 logits).
	Sign bool
	In   int // input features (before packing)
	// Layer holds the weights (packed lanes for a binary layer), bias,
	// requantization and input zero point; Input and InShape are set per
	// batch (compile.FC).
	Layer *compile.Layer

	inScale      float32   // input scale (int8 layers)
	weightScales []float32 // per output channel (int8 layers)
}

// BinaryNet is a lowered binarized network.
type BinaryNet struct {
	Name     string
	LaneBits int
	Layers   []BinaryLayer
	// InScale and InZP quantize the network's float input to int8.
	InScale float32
	InZP    int32
}

// Input quantizes a float input batch (the graph's input, flattened per
// image) to int8 at the network's input scale and zero point.
func (n *BinaryNet) Input(x []float32) []int8 {
	q := quant.Params{Scale: n.InScale, ZeroPoint: n.InZP, DType: quant.Int8}
	out := make([]int8, len(x))
	for i, v := range x {
		out[i] = int8(max(-128, min(127, q.Quantize(v))))
	}
	return out
}

// NextInput turns a Sign layer's int8 output (batch × units) into the next
// layer's input: +1/-1 int8 values, or for a binary layer packed lanes.
func (n *BinaryNet) NextInput(out []int8, batch, units int, binary bool) ([]int8, int, error) {
	signs := make([]int8, len(out))
	for i, v := range out {
		signs[i] = -1
		if v >= 0 {
			signs[i] = 1
		}
	}
	if !binary {
		return signs, units, nil
	}
	var packed []int8
	lanes := 0
	for b := 0; b < batch; b++ {
		l, _, err := quant.PackSigns(signs[b*units:(b+1)*units], n.LaneBits)
		if err != nil {
			return nil, 0, err
		}
		packed = append(packed, l...)
		lanes = len(l)
	}
	return packed, lanes, nil
}

// LowerBinary lowers a binarized network (see above). inScale and inZP
// quantize its float input; calib is a batch of calibration inputs
// (float, flattened images) for the last layer's output scale.
func LowerBinary(g *nn.Graph, laneBits int, inScale float32, inZP int32, calib []float32) (*BinaryNet, error) {
	net := &BinaryNet{Name: g.Name, LaneBits: laneBits, InScale: inScale, InZP: inZP}
	if len(g.Inputs) != 1 {
		return nil, fmt.Errorf("binary network %s: %d inputs, want 1", g.Name, len(g.Inputs))
	}
	in := g.Inputs[0]
	features := 1
	for _, d := range in.Shape[1:] {
		features *= d
	}
	if len(in.Shape) == 4 && in.Shape[1] != 1 && in.Shape[2]*in.Shape[3] != 1 {
		return nil, fmt.Errorf("binary network %s: input %v has %d channels; Flatten's NCHW order is the image's only for one channel", g.Name, in.Shape, in.Shape[1])
	}
	cur, fromSign := in.Name, false
	for {
		cons := g.Consumers(cur)
		if len(cons) != 1 {
			if g.IsOutput(cur) {
				break
			}
			return nil, fmt.Errorf("binary network %s: %s feeds %d nodes; a binarized network is a chain", g.Name, cur, len(cons))
		}
		n := cons[0]
		switch n.Op {
		case "Flatten", "Reshape", "Identity":
			cur = n.Output(0)
		case "Softmax":
			cur = n.Output(0) // on the host: argmax is unchanged
		case "Sign":
			if len(net.Layers) == 0 || net.Layers[len(net.Layers)-1].Sign {
				return nil, fmt.Errorf("binary network %s: %s follows no fully connected layer", g.Name, n)
			}
			net.Layers[len(net.Layers)-1].Sign = true
			cur, fromSign = n.Output(0), true
		case "Gemm":
			l, err := binaryGemm(g, n, features, fromSign, laneBits, inScale)
			if err != nil {
				return nil, fmt.Errorf("binary network %s: %s: %w", g.Name, n, err)
			}
			if len(net.Layers) == 0 {
				l.Layer.InputZP = inZP
			}
			net.Layers = append(net.Layers, *l)
			features = l.Layer.WeightShape.N
			cur, fromSign = n.Output(0), false
		default:
			return nil, fmt.Errorf("binary network %s: %s: a binarized network holds Flatten, Gemm, Sign and Softmax only", g.Name, n)
		}
	}
	if len(net.Layers) == 0 {
		return nil, fmt.Errorf("binary network %s: no Gemm", g.Name)
	}
	if net.Layers[len(net.Layers)-1].Sign {
		return nil, fmt.Errorf("binary network %s: the last layer ends in Sign; want logits", g.Name)
	}
	if err := net.calibrateLogits(calib); err != nil {
		return nil, fmt.Errorf("binary network %s: %w", g.Name, err)
	}
	return net, nil
}

// binaryGemm lowers one Gemm (A × Bᵀ + C, or A × B) with in input features.
func binaryGemm(g *nn.Graph, n *nn.Node, in int, fromSign bool, laneBits int, inScale float32) (*BinaryLayer, error) {
	if n.AttrInt("transA", 0) != 0 || n.AttrFloat("alpha", 1) != 1 || n.AttrFloat("beta", 1) != 1 {
		return nil, errors.New("want transA 0, alpha 1 and beta 1")
	}
	wt := g.Initializers[n.Input(1)]
	if wt == nil || wt.DType != nn.Float32 || len(wt.Shape) != 2 {
		return nil, errors.New("weights must be a constant float 2-D tensor")
	}
	units, depth := wt.Shape[0], wt.Shape[1]
	w := wt.Float32
	if n.AttrInt("transB", 0) == 0 { // B is K × N: take it as N × K
		depth, units = units, depth
		w = make([]float32, len(wt.Float32))
		for k := 0; k < depth; k++ {
			for u := 0; u < units; u++ {
				w[u*depth+k] = wt.Float32[k*units+u]
			}
		}
	}
	if depth != in {
		return nil, fmt.Errorf("weights take %d features, the layer gets %d", depth, in)
	}
	var bias []float32
	if name := n.Input(2); name != "" {
		bt := g.Initializers[name]
		if bt == nil || bt.DType != nn.Float32 || len(bt.Float32) != units {
			return nil, fmt.Errorf("bias must be a constant float tensor of %d values", units)
		}
		bias = bt.Float32
	}
	l := &BinaryLayer{Name: n.Name, In: in, Binary: fromSign && plusMinusOne(w)}
	if l.Name == "" {
		l.Name = n.Output(0)
	}
	// Multiplier 1: the output is the accumulator clamped to int8, so its
	// sign is exact (the last layer's is recalibrated).
	one, shift := quant.QuantizeMultiplier(1)
	rq := compile.Requant{Multipliers: make([]int32, units), Shifts: make([]int, units)}
	for c := range rq.Multipliers {
		rq.Multipliers[c], rq.Shifts[c] = one, shift
	}
	if l.Binary {
		var packed []int8
		lanes, pads := 0, 0
		for u := 0; u < units; u++ {
			signs := make([]int8, depth)
			for k := range signs {
				signs[k] = int8(w[u*depth+k])
			}
			p, np, err := quant.PackSigns(signs, laneBits)
			if err != nil {
				return nil, err
			}
			packed, lanes, pads = append(packed, p...), len(p), np
		}
		b := make([]int32, units)
		for c := range b {
			v := -float64(pads)
			if bias != nil {
				v += math.Floor(float64(bias[c]))
			}
			b[c] = int32(max(math.MinInt32, min(math.MaxInt32, v)))
		}
		l.Layer = &compile.Layer{Kind: compile.FC, Weights: packed, WeightShape: quant.Shape{N: units, H: 1, W: 1, C: lanes},
			Bias: b, Requant: rq}
		return l, nil
	}
	s := inScale
	if fromSign {
		s = 1 // the int8 values -1 and +1
	}
	order := make([]int, len(w))
	for i := range order {
		order[i] = i
	}
	q, scales := quantizeWeights(w, order, units, quant.Int8)
	l.Layer = &compile.Layer{Kind: compile.FC, Weights: q, WeightShape: quant.Shape{N: units, H: 1, W: 1, C: depth},
		Bias: quantizeBias(bias, units, s, scales), Requant: rq}
	l.weightScales, l.inScale = scales, s
	return l, nil
}

func plusMinusOne(w []float32) bool {
	for _, v := range w {
		if v != 1 && v != -1 {
			return false
		}
	}
	return len(w) > 0
}

// Reference runs the lowered network on a batch of int8 inputs with
// quant's kernels (double rounding, which multiplier 1 makes exact in
// every mode), returning every layer's int8 output (batch × units).
func (n *BinaryNet) Reference(input []int8, batch int) ([][]int8, error) {
	var outs [][]int8
	x := input
	for i, bl := range n.Layers {
		l := bl.Layer
		units := l.WeightShape.N
		stage := quant.FCParams{InputZeroPoint: l.InputZP, Output: l.Requant.OutputStage(arch.DoubleRounding)}
		var out []int8
		var err error
		if bl.Binary {
			out, err = quant.BinaryFullyConnected(x, batch, l.Weights, units, n.LaneBits, l.Bias, stage)
		} else {
			out, err = quant.FullyConnected(x, batch, l.Weights, units, l.Bias, stage)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", bl.Name, err)
		}
		outs = append(outs, out)
		if i+1 < len(n.Layers) {
			if x, _, err = n.NextInput(out, batch, units, n.Layers[i+1].Binary); err != nil {
				return nil, err
			}
		}
	}
	return outs, nil
}

// calibrateLogits sets the last layer's requantization: the largest
// |logit| over the calibration inputs maps to 127.
func (n *BinaryNet) calibrateLogits(calib []float32) error {
	last := &n.Layers[len(n.Layers)-1]
	l := last.Layer
	units := l.WeightShape.N
	features := n.Layers[0].In
	if len(calib) == 0 || len(calib)%features != 0 {
		return fmt.Errorf("calibration: %d values are not whole inputs of %d features", len(calib), features)
	}
	batch := len(calib) / features
	x := n.Input(calib)
	// The layers before the last, then the last one's accumulators.
	saved := *n
	saved.Layers = n.Layers[:len(n.Layers)-1]
	if len(saved.Layers) > 0 {
		outs, err := saved.Reference(x, batch)
		if err != nil {
			return fmt.Errorf("calibration: %w", err)
		}
		prev := saved.Layers[len(saved.Layers)-1]
		if x, _, err = n.NextInput(outs[len(outs)-1], batch, prev.Layer.WeightShape.N, last.Binary); err != nil {
			return err
		}
	}
	var acc []int32
	var err error
	scales := last.weightScales
	inScale := last.inScale
	if last.Binary {
		acc, err = quant.BinaryFullyConnectedAccumulate(x, batch, l.Weights, units, n.LaneBits)
		scales, inScale = make([]float32, units), 1
		for c := range scales {
			scales[c] = 1
		}
	} else {
		acc, err = quant.FullyConnectedAccumulate(x, batch, l.Weights, units, l.InputZP, 0)
	}
	if err != nil {
		return fmt.Errorf("calibration: %w", err)
	}
	var maxAbs float64
	for i, a := range acc {
		c := i % units
		v := float64(int64(a)+int64(l.Bias[c])) * float64(inScale) * float64(scales[c])
		maxAbs = math.Max(maxAbs, math.Abs(v))
	}
	if maxAbs == 0 {
		maxAbs = 1
	}
	outScale := maxAbs / 127
	for c := range l.Requant.Multipliers {
		l.Requant.Multipliers[c], l.Requant.Shifts[c] = quant.QuantizeMultiplier(float64(inScale) * float64(scales[c]) / outScale)
	}
	return nil
}
