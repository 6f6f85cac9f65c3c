package compile

import (
	"errors"
	"fmt"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/quant"
)

// Network is a quantized network ready for the matrix unit: int8 NHWC
// tensors, each with its quantization parameters, and a list of ops in
// execution order. Convolutions (one group) and fully connected layers,
// with their requantization, fused clamp, activation and pooling, run on
// the hardware; every other op runs on the host in quant's int8 kernels,
// and reports name it as a host op.
type Network struct {
	Name string
	// Input is the tensor the caller feeds (one image: N = 1).
	Input string
	// Output is the network's result tensor.
	Output  string
	Tensors map[string]*Tensor
	Ops     []*Op
}

// Tensor describes an int8 tensor of the network for one image (N = 1);
// a batch of B images has N = B.
type Tensor struct {
	Name   string
	Shape  quant.Shape
	Params quant.Params
	// Uint8 marks a tensor the source model stores as uint8: its codes are
	// tpugen's int8 codes plus 128 (and so is its zero point). The int8
	// arithmetic does not care; ONNX Runtime's float32 average does
	// (Network.FloatAverage).
	Uint8 bool
}

// OpKind says what an op computes and so where it runs.
type OpKind uint8

const (
	// OpLayer is a convolution (one group) or a fully connected layer on
	// the matrix unit, with requantization, clamp, activation and pooling.
	OpLayer OpKind = iota
	// OpGroupConv is a grouped or depthwise convolution (host).
	OpGroupConv
	// OpAdd adds two tensors with their own scales (host; residuals).
	OpAdd
	// OpPool is max or average pooling not fused into a layer (host).
	OpPool
	// OpFlatten turns an NHWC map into a vector in NCHW order, the order
	// ONNX's Flatten gives the next layer (host; no arithmetic).
	OpFlatten
	// OpSoftmax is TFLite's int8 softmax over channels (host).
	OpSoftmax
)

var opKindNames = []string{"layer", "group-conv", "add", "pool", "flatten", "softmax"}

func (k OpKind) String() string {
	if int(k) < len(opKindNames) {
		return opKindNames[k]
	}
	return fmt.Sprintf("OpKind(%d)", int(k))
}

// Op is one step of a network. Inputs and Output name tensors.
type Op struct {
	Name   string // the source model's node name, for reports
	Kind   OpKind
	Inputs []string
	Output string

	// Layer is the hardware layer (OpLayer) or the grouped convolution's
	// parameters (OpGroupConv): weights, bias, window, requantization,
	// activation and pooling. Its Input and InShape are filled in per run.
	Layer *Layer
	// Add parameterizes OpAdd.
	Add quant.AddParams
	// Pool and PoolKind parameterize OpPool.
	Pool     quant.PoolParams
	PoolKind arch.PoolKind
	// Average is an average OpPool's quantization as ONNX Runtime sees it:
	// beside the float-scale requantizer (rounding float) the pool
	// averages as ONNX Runtime does, with these parameters.
	Average *quant.FloatAverage
	// Softmax parameterizes OpSoftmax.
	Softmax quant.SoftmaxParams
}

// MACs is the number of multiply-accumulates of a layer or grouped
// convolution for one image (0 for other ops).
func (o *Op) MACs() int64 {
	if o.Layer == nil {
		return 0
	}
	l := o.Layer
	k := int64(l.WeightShape.H) * int64(l.WeightShape.W) * int64(l.WeightShape.C)
	if l.Kind == FC {
		return k * int64(l.WeightShape.N)
	}
	in := l.InShape
	in.N = 1
	out, err := l.Window.OutputShape(in, l.WeightShape.H, l.WeightShape.W, l.WeightShape.N)
	if err != nil {
		return 0
	}
	return int64(out.H) * int64(out.W) * k * int64(l.WeightShape.N)
}

// OnHardware reports whether the op runs on the matrix unit.
func (o *Op) OnHardware() bool { return o.Kind == OpLayer }

// Describe is a short description of the op for reports ("conv 5x5/1
// 1->6 relu maxpool 2x2").
func (o *Op) Describe() string {
	switch o.Kind {
	case OpLayer, OpGroupConv:
		l := o.Layer
		d := fmt.Sprintf("fc %d->%d", l.WeightShape.C, l.WeightShape.N)
		if l.Kind == Conv {
			d = fmt.Sprintf("conv %dx%d/%d %d->%d", l.WeightShape.H, l.WeightShape.W, max(1, l.Window.StrideH), l.InShape.C, l.WeightShape.N)
			if o.Kind == OpGroupConv {
				d = fmt.Sprintf("group conv %dx%d/%d %d->%d (%d groups)", l.WeightShape.H, l.WeightShape.W, max(1, l.Window.StrideH),
					l.InShape.C, l.WeightShape.N, l.InShape.C/max(1, l.WeightShape.C))
			}
		}
		if lo, hi := l.Requant.Range(); lo > -128 || hi < 127 {
			d += fmt.Sprintf(" clamp[%d,%d]", lo, hi)
		}
		if l.Act.Func != arch.ActIdentity {
			d += " " + l.Act.Func.String()
		}
		if p := l.Pool; p != nil {
			d += fmt.Sprintf(" %vpool %dx%d/%d", p.Kind, p.KH, p.KW, p.SH)
		}
		if l.Softmax != nil {
			d += " softmax"
		}
		return d
	case OpPool:
		return fmt.Sprintf("%vpool %dx%d/%d", o.PoolKind, o.Pool.FilterH, o.Pool.FilterW, max(1, o.Pool.StrideH))
	}
	return o.Kind.String()
}

// Check verifies that every op's inputs exist before it and that hardware
// layers are consistent.
func (n *Network) Check() error {
	have := map[string]bool{n.Input: true}
	if n.Tensors[n.Input] == nil {
		return fmt.Errorf("network %s: no input tensor %q", n.Name, n.Input)
	}
	for i, o := range n.Ops {
		for _, in := range o.Inputs {
			if !have[in] {
				return fmt.Errorf("network %s: op %d (%s) reads %q before it is computed", n.Name, i, o.Name, in)
			}
		}
		if n.Tensors[o.Output] == nil {
			return fmt.Errorf("network %s: op %d (%s) writes undeclared tensor %q", n.Name, i, o.Name, o.Output)
		}
		if (o.Kind == OpLayer || o.Kind == OpGroupConv) && o.Layer == nil {
			return fmt.Errorf("network %s: op %d (%s) has no layer", n.Name, i, o.Name)
		}
		have[o.Output] = true
	}
	if !have[n.Output] {
		return fmt.Errorf("network %s: output %q is never computed", n.Name, n.Output)
	}
	return nil
}

// FloatAverage is the quantization of an average pool from tensor in to
// tensor out as ONNX Runtime sees it (the model's own codes: uint8 or
// int8).
func (n *Network) FloatAverage(in, out string) (quant.FloatAverage, error) {
	ti, to := n.Tensors[in], n.Tensors[out]
	if ti == nil || to == nil {
		return quant.FloatAverage{}, fmt.Errorf("network %s: no tensor %q or %q", n.Name, in, out)
	}
	fa := quant.FloatAverage{InScale: ti.Params.Scale, OutScale: to.Params.Scale,
		InZeroPoint: ti.Params.ZeroPoint, OutZeroPoint: to.Params.ZeroPoint}
	switch {
	case ti.Uint8 != to.Uint8:
		return quant.FloatAverage{}, fmt.Errorf("network %s: average pool from %q to %q changes between uint8 and int8", n.Name, in, out)
	case to.Uint8:
		fa.Offset = 128
	}
	return fa, fa.Validate()
}

// Bind returns a copy of the op's layer reading input (batch of
// in.Shape.N images).
func (o *Op) Bind(input []int8, in quant.Shape) *Layer {
	l := *o.Layer
	l.Input, l.InShape = input, in
	if l.Kind == FC {
		// A vector per image: the batch is the GEMM's rows.
		l.InShape = quant.Shape{N: in.N, H: 1, W: 1, C: in.H * in.W * in.C}
	}
	return &l
}

// RunHost computes a host op on a batch with quant's int8 kernels. ins are
// the input tensors' values and shapes (batch in N).
func (o *Op) RunHost(ins [][]int8, shapes []quant.Shape) ([]int8, quant.Shape, error) {
	return o.RunHostRounding(ins, shapes, arch.DoubleRounding)
}

// RunHostRounding is RunHost with the requantizer arithmetic of the
// hardware it runs beside: a grouped convolution requantizes as r does,
// and beside the float-scale requantizer an average pool averages as ONNX
// Runtime does (quant.AveragePoolORT), so that a QDQ model's every op
// agrees with ONNX Runtime's.
func (o *Op) RunHostRounding(ins [][]int8, shapes []quant.Shape, r arch.Rounding) ([]int8, quant.Shape, error) {
	if len(ins) != len(o.Inputs) || len(shapes) != len(ins) {
		return nil, quant.Shape{}, fmt.Errorf("%s %s: %d inputs, want %d", o.Kind, o.Name, len(ins), len(o.Inputs))
	}
	in, s := ins[0], shapes[0]
	switch o.Kind {
	case OpGroupConv:
		l := o.Layer
		out, shape, err := quant.Conv2D(in, s, l.Weights, l.WeightShape, l.Bias,
			quant.ConvParams{Window: l.Window, InputZeroPoint: l.InputZP, Output: l.Requant.OutputStage(r)})
		if err != nil {
			return nil, quant.Shape{}, fmt.Errorf("%s: %w", o.Name, err)
		}
		for i, v := range out {
			out[i] = l.Act.Apply(v)
		}
		return out, shape, nil
	case OpAdd:
		if shapes[1] != s {
			return nil, quant.Shape{}, fmt.Errorf("%s: add of %v and %v", o.Name, s, shapes[1])
		}
		out, err := quant.Add(in, ins[1], o.Add)
		return out, s, err
	case OpPool:
		if o.PoolKind == arch.AveragePool && r.IsFloat() {
			if o.Average == nil {
				return nil, quant.Shape{}, fmt.Errorf("%s: an average pool beside the float-scale requantizer needs its float parameters (Op.Average)", o.Name)
			}
			return quant.AveragePoolORT(in, s, o.Pool, *o.Average)
		}
		if o.PoolKind == arch.AveragePool {
			return quant.AveragePool(in, s, o.Pool)
		}
		return quant.MaxPool(in, s, o.Pool)
	case OpFlatten:
		out := make([]int8, len(in))
		per := s.H * s.W * s.C
		for n := 0; n < s.N; n++ {
			for y := 0; y < s.H; y++ {
				for x := 0; x < s.W; x++ {
					for c := 0; c < s.C; c++ {
						out[n*per+(c*s.H+y)*s.W+x] = in[s.Index(n, y, x, c)]
					}
				}
			}
		}
		return out, quant.Shape{N: s.N, H: 1, W: 1, C: per}, nil
	case OpSoftmax:
		out, err := quant.SoftmaxInt8(in, s.C, o.Softmax)
		return out, s, err
	}
	return nil, quant.Shape{}, errors.New(o.Name + ": " + o.Kind.String() + " is not a host op")
}

// Fit checks that every hardware layer can run on the manifest's matrix
// unit (in as many passes of parameter sets as it needs), before any
// simulation: a layer that cannot says which configuration key to change.
func (n *Network) Fit(man *arch.Manifest) error {
	for _, op := range n.Ops {
		if !op.OnHardware() {
			continue
		}
		in := op.Layer.InShape
		in.N = 1
		l := op.Bind(make([]int8, in.Len()), in)
		if _, err := PlanPasses(man, l); err != nil {
			return fmt.Errorf("layer %s (%s) does not fit configuration %s: %w", op.Name, op.Describe(), man.Config.Name, err)
		}
	}
	return nil
}
