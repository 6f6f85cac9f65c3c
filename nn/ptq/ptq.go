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

// Options configure post-training quantization.
type Options struct {
	// Calib turns each activation's observed statistics into parameters
	// (the method; DType and Symmetric are set here).
	Calib quant.CalibConfig
	// Samples are calibration inputs, each one image in the model's input
	// layout (NCHW, batch 1). A pre-quantized model needs none; given, the
	// first one's shape is the input's.
	Samples []*nn.Tensor
	// Bits is the width of a float model's weights and of the activations
	// that layers read: 8 (0 means 8), or 4 for an int4 array (act_bits
	// and weight_bits 4): activations int4 asymmetric (−8..7, held in
	// int8), weights int4 symmetric (−7..7). The class scores stay int8:
	// only the host reads them.
	Bits int
}

// Quantize lowers g, a model with one NCHW image input, to a quantized
// network. A float model is calibrated on the samples; a pre-quantized
// (QDQ) model keeps its own quantization: every activation's scale and
// zero point from its QuantizeLinear (uint8 as int8, zero point less 128),
// the integer weights and biases behind its DequantizeLinear nodes. It
// rewrites g (removes identities, folds constants, Q/DQ pairs, pads and
// batch norms, infers shapes).
func Quantize(g *nn.Graph, opt Options) (*compile.Network, error) {
	if len(g.Inputs) != 1 || len(g.Outputs) != 1 {
		return nil, fmt.Errorf("%s: quantize: want one input and one output, the model has %d and %d", g.Source, len(g.Inputs), len(g.Outputs))
	}
	in := g.Inputs[0]
	if opt.Bits != 0 && opt.Bits != 4 && opt.Bits != 8 {
		return nil, fmt.Errorf("%s: quantize: bits %d: want 4 or 8", g.Source, opt.Bits)
	}
	p := &planner{g: g, net: &compile.Network{Name: g.Name, Input: in.Name, Tensors: map[string]*compile.Tensor{}}, bits: opt.Bits}
	if preQuantized(g) {
		p.fixed = &fixedQuant{}
	}
	shape, err := p.inputShape(opt)
	if err != nil {
		return nil, fmt.Errorf("%s: quantize: %w", g.Source, err)
	}
	if err := nn.Apply(g, p.passes(shape)...); err != nil {
		return nil, fmt.Errorf("%s: quantize: %w", g.Source, err)
	}
	if err := p.match(); err != nil {
		return nil, fmt.Errorf("%s: quantize: %w", g.Source, err)
	}
	if p.fixed != nil {
		p.params = p.fixed.params
	} else if err := p.calibrate(opt); err != nil {
		return nil, fmt.Errorf("%s: quantize: %w", g.Source, err)
	}
	if err := p.lower(); err != nil {
		return nil, fmt.Errorf("%s: quantize: %w", g.Source, err)
	}
	if err := p.net.Check(); err != nil {
		return nil, err
	}
	return p.net, nil
}

// inputShape is the shape of one input image: the samples', or for a
// pre-quantized model without samples the declared one with batch 1.
func (p *planner) inputShape(opt Options) ([]int, error) {
	in := p.g.Inputs[0]
	switch {
	case len(opt.Samples) > 0:
		if shape := opt.Samples[0].Shape; len(shape) != 4 || shape[0] != 1 {
			return nil, fmt.Errorf("input %q samples have shape %v, want 1xCxHxW", in.Name, shape)
		}
		return opt.Samples[0].Shape, nil
	case p.fixed == nil:
		return nil, errors.New("no calibration samples")
	}
	shape := append([]int(nil), in.Shape...)
	if len(shape) == 4 && shape[0] < 0 {
		shape[0] = 1
	}
	if len(shape) != 4 || shape[0] != 1 || !(nn.Value{Shape: shape}).Static() {
		return nil, fmt.Errorf("input %q is declared with shape %v, want 1xCxHxW (or a batch dimension): give a sample", in.Name, in.Shape)
	}
	return shape, nil
}

// passes are the graph rewrites before matching: for a pre-quantized
// model, constants are folded (the exporter's ConstantOfShape and Cast
// nodes) and the Q/DQ pairs stripped first; batch norms are folded only
// in float models (a QDQ model's weights are final).
func (p *planner) passes(shape []int) []nn.Pass {
	passes := []nn.Pass{{Name: "remove-identity", Run: nn.RemoveIdentity}}
	if p.fixed != nil {
		passes = append(passes,
			nn.Pass{Name: "fold-constants", Run: nn.FoldConstants},
			nn.Pass{Name: "strip-qdq", Run: p.fixed.stripQDQ})
	}
	passes = append(passes, nn.Pass{Name: "fold-pad", Run: nn.FoldPad})
	if p.fixed == nil {
		passes = append(passes, nn.Pass{Name: "fold-batchnorm", Run: nn.FoldBatchNorm})
	}
	name := p.g.Inputs[0].Name
	return append(passes, nn.Pass{Name: "infer-shapes", Run: func(g *nn.Graph) error {
		return nn.InferShapes(g, map[string][]int{name: shape})
	}})
}

// group is a run of float nodes that becomes one quantized op: the main
// node, an activation fused into it, and a pooling node fused after.
type group struct {
	main *nn.Node
	act  *nn.Node // Relu or Clip fused as a clamp, or nil
	pool *nn.Node // MaxPool or AveragePool fused after (layers only), or nil
	// in are the float tensors it reads (quantized inputs), out the one it
	// writes; observed is the tensor whose range gives out's parameters
	// (before pooling, which keeps them).
	in       []string
	out      string
	observed string
}

type planner struct {
	g      *nn.Graph
	net    *compile.Network
	groups []*group
	params map[string]quant.Params // float tensor → int8 parameters
	// fixed is what a pre-quantized model fixes (nil for a float model).
	fixed *fixedQuant
	bits  int // Options.Bits
}

// weightType is the weights' storage type.
func (p *planner) weightType() quant.DType {
	if p.bits == 4 {
		return quant.Int4
	}
	return quant.Int8
}

// single returns the only consumer of name, or nil.
func (p *planner) single(name string) *nn.Node {
	c := p.g.Consumers(name)
	if len(c) != 1 || p.g.IsOutput(name) {
		return nil
	}
	return c[0]
}

// match groups the graph's nodes into quantizable ops.
func (p *planner) match() error {
	done := map[*nn.Node]bool{}
	for _, n := range p.g.Nodes {
		if done[n] {
			continue
		}
		gr := &group{main: n}
		switch n.Op {
		case "Conv", "Gemm", "MatMul":
			gr.in = []string{n.Input(0)}
			out := n.Output(0)
			if n.Op == "MatMul" {
				if c := p.single(out); c != nil && c.Op == "Add" && p.constant(c.Input(1)) {
					done[c] = true
					gr.act = nil
					out = c.Output(0)
					gr.main = &nn.Node{Name: n.Name, Op: "MatMul", Inputs: []string{n.Input(0), n.Input(1), c.Input(1)}, Outputs: []string{out}}
				}
			}
			if c := p.single(out); c != nil && (c.Op == "Relu" || c.Op == "Clip") {
				gr.act, done[c] = c, true
				out = c.Output(0)
			}
			gr.observed = out
			if c := p.single(out); n.Op == "Conv" && n.AttrInt("group", 1) == 1 && c != nil && fusablePool(c) {
				gr.pool, done[c] = c, true
				out = c.Output(0)
				if c.Op == "LpPool" {
					// L2 pooling keeps its input's scale and zero point, so
					// the layer's output is quantized for the pooled range
					// (larger than the convolution's: no root saturates).
					gr.observed = out
				}
			}
			gr.out = out
		case "Add":
			if p.constant(n.Input(0)) || p.constant(n.Input(1)) {
				return fmt.Errorf("%v: adding a constant is supported only as the bias of a MatMul", n)
			}
			gr.in = []string{n.Input(0), n.Input(1)}
			out := n.Output(0)
			if c := p.single(out); c != nil && (c.Op == "Relu" || c.Op == "Clip") {
				gr.act, done[c] = c, true
				out = c.Output(0)
			}
			gr.out, gr.observed = out, out
		case "MaxPool", "AveragePool", "GlobalAveragePool", "Flatten", "Reshape":
			// Same parameters as the input: nothing to observe.
			gr.in, gr.out = []string{n.Input(0)}, n.Output(0)
		case "Softmax":
			gr.in, gr.out = []string{n.Input(0)}, n.Output(0)
		case "Relu", "Clip":
			// A clamp on its own keeps its input's parameters.
			gr.in, gr.out = []string{n.Input(0)}, n.Output(0)
		default:
			return fmt.Errorf("%v, opset %d: the quantizer does not support this operator", n, p.g.Opset)
		}
		done[n] = true
		p.groups = append(p.groups, gr)
	}
	return nil
}

// fusablePool reports whether a pooling node can run in the pipeline's
// pooling unit: no padding, no ceil mode, no dilation.
func fusablePool(n *nn.Node) bool {
	if n.Op != "MaxPool" && n.Op != "AveragePool" && (n.Op != "LpPool" || n.AttrInt("p", 2) != 2) {
		return false
	}
	for _, v := range n.AttrInts("pads") {
		if v != 0 {
			return false
		}
	}
	for _, v := range n.AttrInts("dilations") {
		if v != 1 {
			return false
		}
	}
	ap := n.AttrString("auto_pad", "NOTSET")
	return (ap == "NOTSET" || ap == "VALID") && n.AttrInt("ceil_mode", 0) == 0
}

func (p *planner) constant(name string) bool {
	_, ok := p.g.Initializers[name]
	return ok
}

// calibrate runs the float model on the samples and turns the observed
// range of every tensor an op writes into int8 parameters.
func (p *planner) calibrate(opt Options) error {
	obs := map[string]*quant.Observer{p.net.Input: quant.NewObserver()}
	for _, gr := range p.groups {
		if gr.observed != "" {
			obs[gr.observed] = quant.NewObserver()
		}
	}
	for i, s := range opt.Samples {
		vals, err := nn.RunAll(p.g, map[string]*nn.Tensor{p.net.Input: s})
		if err != nil {
			return fmt.Errorf("calibration sample %d: %w", i, err)
		}
		for name, o := range obs {
			t := vals[name]
			if t == nil || t.DType != nn.Float32 {
				return fmt.Errorf("calibration: tensor %q is not a float tensor", name)
			}
			o.Observe(t.Float32)
		}
	}
	cfg := opt.Calib
	cfg.DType, cfg.Symmetric = quant.Int8, false
	p.params = map[string]quant.Params{}
	for name, o := range obs {
		c := cfg
		if p.bits == 4 && !p.scores(name) {
			c.DType = quant.Int4
		}
		if name == p.net.Input || p.scores(name) || p.bounded(name) {
			// The input's range is fixed by the preprocessing, a clamp's
			// (ReLU6) by its bounds, not by a distribution with tails, and
			// the class scores are ranked: clipping any of them (entropy,
			// percentile) only loses information (a clipped ReLU6 loses its
			// saturated values, saturated logits tie).
			c.Method = quant.MethodMinMax
		}
		q, err := o.Params(c)
		if err != nil {
			return fmt.Errorf("tensor %q: %w", name, err)
		}
		p.params[name] = q
	}
	return nil
}

// bounded reports whether name is the output of a Clip with both bounds
// finite (ReLU6 and the like).
func (p *planner) bounded(name string) bool {
	n := p.g.Producer(name)
	if n == nil || n.Op != "Clip" {
		return false
	}
	c, err := p.fusedAct(n)
	return err == nil && !math.IsInf(c.lo, 0) && !math.IsInf(c.hi, 0)
}

// scores reports whether name holds the network's class scores: a graph
// output, or what a final Softmax reads.
func (p *planner) scores(name string) bool {
	if p.g.IsOutput(name) {
		return true
	}
	for _, c := range p.g.Consumers(name) {
		if c.Op == "Softmax" && p.g.IsOutput(c.Output(0)) {
			return true
		}
	}
	return false
}

// lower builds the quantized ops in order, with every tensor's shape and
// parameters.
func (p *planner) lower() error {
	q, ok := p.params[p.net.Input]
	if !ok {
		return fmt.Errorf("input %q has no quantization parameters (no QuantizeLinear reads it)", p.net.Input)
	}
	if err := p.declare(p.net.Input, q); err != nil {
		return err
	}
	for _, gr := range p.groups {
		op, err := p.lowerGroup(gr)
		if err != nil {
			return fmt.Errorf("%v: %w", gr.main, err)
		}
		if op != nil {
			p.net.Ops = append(p.net.Ops, op)
		}
	}
	p.net.Output = p.g.Outputs[0].Name
	if _, ok := p.net.Tensors[p.net.Output]; !ok {
		return fmt.Errorf("output %q is not computed by a quantized op", p.net.Output)
	}
	return nil
}

// outParams are the parameters of what a group writes: the observed
// tensor's (calibrated, or the model's own), or its input's for the ops
// that keep them.
func (p *planner) outParams(gr *group, in quant.Params) (quant.Params, error) {
	out := in
	if gr.observed != "" {
		q, ok := p.params[gr.observed]
		if !ok {
			return out, fmt.Errorf("tensor %q has no quantization parameters (no QuantizeLinear reads it)", gr.observed)
		}
		out = q
	}
	if p.fixed != nil {
		return out, p.fixed.check(gr, out)
	}
	return out, nil
}

// declare records an int8 tensor with the shape the float graph gives it
// (NCHW turned into NHWC).
func (p *planner) declare(name string, q quant.Params) error {
	v, ok := p.g.Values[name]
	if !ok || !v.Static() {
		return fmt.Errorf("tensor %q has no static shape", name)
	}
	s, err := nhwc(v.Shape)
	if err != nil {
		return fmt.Errorf("tensor %q: %w", name, err)
	}
	p.net.Tensors[name] = &compile.Tensor{Name: name, Shape: s, Params: q, Uint8: p.fixed != nil && p.fixed.unsigned[name]}
	return nil
}

// nhwc maps an ONNX shape of one image (N×C×H×W, N×C or N×K) to NHWC.
func nhwc(shape []int) (quant.Shape, error) {
	switch len(shape) {
	case 4:
		return quant.Shape{N: shape[0], H: shape[2], W: shape[3], C: shape[1]}, nil
	case 2:
		return quant.Shape{N: shape[0], H: 1, W: 1, C: shape[1]}, nil
	}
	return quant.Shape{}, fmt.Errorf("rank-%d tensor %v (want N×C×H×W or N×C)", len(shape), shape)
}

func (p *planner) lowerGroup(gr *group) (*compile.Op, error) {
	n := gr.main
	in := p.net.Tensors[gr.in[0]]
	if in == nil {
		return nil, fmt.Errorf("input %q is not a quantized tensor", gr.in[0])
	}
	op := &compile.Op{Name: n.Name, Inputs: gr.in, Output: gr.out}
	outParams, err := p.outParams(gr, in.Params)
	if err != nil {
		return nil, err
	}
	switch n.Op {
	case "Conv", "Gemm", "MatMul":
		l, err := p.layer(gr, in, outParams)
		if err != nil {
			return nil, err
		}
		op.Layer = l
		op.Kind = compile.OpLayer
		if l.Kind == compile.Conv && l.WeightShape.C != in.Shape.C {
			op.Kind = compile.OpGroupConv
		}
	case "Add":
		in2 := p.net.Tensors[gr.in[1]]
		if in2 == nil {
			return nil, fmt.Errorf("input %q is not a quantized tensor", gr.in[1])
		}
		act, err := p.fusedAct(gr.act)
		if err != nil {
			return nil, err
		}
		if op.Add, err = quant.PrepareAdd(in.Params, in2.Params, outParams, quant.ActNone); err != nil {
			return nil, err
		}
		op.Add.ActMin, op.Add.ActMax = clampRange(act, outParams)
		op.Kind = compile.OpAdd
	case "MaxPool", "AveragePool", "GlobalAveragePool":
		pp, kind, err := poolParams(n, in.Shape)
		if err != nil {
			return nil, err
		}
		op.Kind, op.Pool, op.PoolKind = compile.OpPool, pp, kind
	case "Flatten", "Reshape":
		op.Kind = compile.OpFlatten
	case "Softmax":
		if in.Shape.H != 1 || in.Shape.W != 1 {
			return nil, errors.New("softmax over a feature map is not supported (only over a vector's classes)")
		}
		sp, err := quant.PrepareSoftmax(1, in.Params.Scale)
		if err != nil {
			return nil, err
		}
		op.Kind, op.Softmax = compile.OpSoftmax, sp
		outParams = quant.Params{Scale: quant.SoftmaxOutputScale, ZeroPoint: quant.SoftmaxOutputZeroPoint, DType: quant.Int8}
	case "Relu", "Clip":
		act, err := p.fusedAct(n)
		if err != nil {
			return nil, err
		}
		lo, hi := clampRange(act, in.Params)
		op.Kind = compile.OpPool // a 1x1 max pool with the clamp
		op.PoolKind = arch.MaxPool
		op.Pool = quant.PoolParams{Window: quant.Window{StrideH: 1, StrideW: 1}, FilterH: 1, FilterW: 1, ActMin: lo, ActMax: hi}
	default:
		return nil, fmt.Errorf("no lowering for %s", n.Op)
	}
	if err := p.declare(gr.out, outParams); err != nil {
		return nil, err
	}
	if op.Kind == compile.OpPool && op.PoolKind == arch.AveragePool {
		fa, err := p.net.FloatAverage(gr.in[0], gr.out)
		if err != nil {
			return nil, err
		}
		op.Average = &fa
	}
	return op, nil
}
