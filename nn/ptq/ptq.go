package ptq

import (
	"errors"
	"fmt"

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
	// layout (NCHW, batch 1).
	Samples []*nn.Tensor
}

// Quantize lowers g, a float model with one NCHW image input, to a
// quantized network. It rewrites g (removes identities, folds batch norms,
// infers shapes).
func Quantize(g *nn.Graph, opt Options) (*compile.Network, error) {
	if len(g.Inputs) != 1 || len(g.Outputs) != 1 {
		return nil, fmt.Errorf("%s: quantize: want one input and one output, the model has %d and %d", g.Source, len(g.Inputs), len(g.Outputs))
	}
	if len(opt.Samples) == 0 {
		return nil, fmt.Errorf("%s: quantize: no calibration samples", g.Source)
	}
	in := g.Inputs[0]
	shape := opt.Samples[0].Shape
	if len(shape) != 4 || shape[0] != 1 {
		return nil, fmt.Errorf("%s: quantize: input %q samples have shape %v, want 1xCxHxW", g.Source, in.Name, shape)
	}
	if err := nn.Apply(g,
		nn.Pass{Name: "remove-identity", Run: nn.RemoveIdentity},
		nn.Pass{Name: "fold-pad", Run: nn.FoldPad},
		nn.Pass{Name: "fold-batchnorm", Run: nn.FoldBatchNorm},
		nn.Pass{Name: "infer-shapes", Run: func(g *nn.Graph) error { return nn.InferShapes(g, map[string][]int{in.Name: shape}) }},
	); err != nil {
		return nil, fmt.Errorf("%s: quantize: %w", g.Source, err)
	}
	p := &planner{g: g, net: &compile.Network{Name: g.Name, Input: in.Name, Tensors: map[string]*compile.Tensor{}}}
	if err := p.match(); err != nil {
		return nil, fmt.Errorf("%s: quantize: %w", g.Source, err)
	}
	if err := p.calibrate(opt); err != nil {
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
	if n.Op != "MaxPool" && n.Op != "AveragePool" {
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
		q, err := o.Params(cfg)
		if err != nil {
			return fmt.Errorf("tensor %q: %w", name, err)
		}
		p.params[name] = q
	}
	return nil
}

// lower builds the quantized ops in order, with every tensor's shape and
// parameters.
func (p *planner) lower() error {
	if err := p.declare(p.net.Input, p.params[p.net.Input]); err != nil {
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
	p.net.Tensors[name] = &compile.Tensor{Name: name, Shape: s, Params: q}
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
	outParams := in.Params
	if gr.observed != "" {
		outParams = p.params[gr.observed]
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
	return op, nil
}
