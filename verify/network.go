package verify

import (
	"context"
	"fmt"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/verify/sim"
)

// Value is an int8 tensor of a batch and its NHWC shape.
type Value struct {
	Data  []int8
	Shape quant.Shape
}

// GoldenNetwork runs a batch through the network with quant's reference
// kernels: hardware layers as LayerReference computes them for cfg, host
// ops as the host does. input holds batch images (NHWC, N = batch). It
// returns every tensor's value.
func GoldenNetwork(cfg arch.Config, net *compile.Network, input []int8, batch int) (map[string]Value, error) {
	vals, err := bindInput(net, input, batch)
	if err != nil {
		return nil, err
	}
	for _, op := range net.Ops {
		in := vals[op.Inputs[0]]
		var out Value
		if op.OnHardware() {
			out.Data, out.Shape, err = LayerReference(cfg, op.Bind(in.Data, in.Shape))
		} else {
			out.Data, out.Shape, err = runHost(op, vals, cfg.Rounding)
		}
		if err != nil {
			return nil, fmt.Errorf("golden %s: %w", op.Name, err)
		}
		vals[op.Output] = out
	}
	return vals, nil
}

func bindInput(net *compile.Network, input []int8, batch int) (map[string]Value, error) {
	t := net.Tensors[net.Input]
	s := t.Shape
	s.N = batch
	if len(input) != s.Len() {
		return nil, fmt.Errorf("network %s: input has %d values, a batch of %d images of %dx%dx%d has %d", net.Name, len(input), batch, t.Shape.H, t.Shape.W, t.Shape.C, s.Len())
	}
	return map[string]Value{net.Input: {Data: input, Shape: s}}, nil
}

// runHost runs a host op. A grouped convolution beside a float-scale
// requantizer requantizes as it does (ONNX Runtime's arithmetic); beside a
// fixed-point one, with TFLite's double rounding.
func runHost(op *compile.Op, vals map[string]Value, r arch.Rounding) ([]int8, quant.Shape, error) {
	var ins [][]int8
	var shapes []quant.Shape
	for _, name := range op.Inputs {
		ins = append(ins, vals[name].Data)
		shapes = append(shapes, vals[name].Shape)
	}
	if r.IsFloat() {
		return op.RunHostRounding(ins, shapes, r)
	}
	return op.RunHost(ins, shapes)
}

// OpRun is how one op of a network ran on a batch.
type OpRun struct {
	Op        *compile.Op
	Shape     quant.Shape // output shape of the batch
	Hardware  bool
	Passes    int // layer runs (a layer with more channels than the parameter sets hold takes several)
	Cycles    int // measured RTL cycles, all passes
	Predicted int // the cycle model's GEMM cycles, all passes
	MACs      int64
	// Mismatch compares the RTL output with the golden one.
	Mismatch Mismatch
}

// NetworkRun is a batch through the network on the RTL.
type NetworkRun struct {
	Values map[string]Value // every tensor, as the RTL (and the host) computed it
	Ops    []OpRun
}

// Cycles is the total of the hardware layers' cycles.
func (r *NetworkRun) Cycles() int {
	n := 0
	for _, o := range r.Ops {
		n += o.Cycles
	}
	return n
}

// RunNetwork runs a batch through the network: every hardware layer on the
// RTL in dir (a layer whose output channels exceed what the parameter sets
// hold is split into passes), host ops on the host, each fed with what the
// RTL computed before it. When golden is given (GoldenNetwork's values for
// the same input), every op's output is compared with it.
func RunNetwork(ctx context.Context, s sim.Simulator, man *arch.Manifest, dir string, net *compile.Network,
	input []int8, batch int, golden map[string]Value, opt GEMMOptions) (*NetworkRun, error) {
	vals, err := bindInput(net, input, batch)
	if err != nil {
		return nil, err
	}
	run := &NetworkRun{Values: vals}
	for _, op := range net.Ops {
		in := vals[op.Inputs[0]]
		or := OpRun{Op: op, Hardware: op.OnHardware()}
		var out Value
		if op.OnHardware() {
			out, err = runLayerPasses(ctx, s, man, dir, op.Bind(in.Data, in.Shape), opt, &or)
		} else {
			out.Data, out.Shape, err = runHost(op, vals, man.Config.Rounding)
		}
		if err != nil {
			return run, fmt.Errorf("%s (%s): %w", op.Name, op.Describe(), err)
		}
		or.Shape = out.Shape
		if g, ok := golden[op.Output]; ok {
			or.Mismatch = CompareTensors(g.Data, out.Data, g.Shape)
		}
		vals[op.Output] = out
		run.Ops = append(run.Ops, or)
	}
	return run, nil
}

// runLayerPasses runs l on the RTL, in as many passes as its output
// channels need parameter sets, and joins the channels.
func runLayerPasses(ctx context.Context, s sim.Simulator, man *arch.Manifest, dir string, l *compile.Layer, opt GEMMOptions, or *OpRun) (Value, error) {
	passes := compile.SplitChannels(l, man.Config.Cols*man.Config.ParamSets)
	var out Value
	for i, p := range passes {
		r, err := RunLayer(ctx, s, man, dir, p.Layer, opt)
		if err != nil {
			return Value{}, fmt.Errorf("pass %d of %d: %w", i+1, len(passes), err)
		}
		if i == 0 {
			out.Shape = r.Shape
			out.Shape.C = l.WeightShape.N
			out.Data = make([]int8, out.Shape.Len())
		}
		p.Scatter(out.Data, r.Output, out.Shape.C)
		or.Cycles += r.Cycles
		or.Predicted += r.Predicted
		or.MACs += r.MACs
	}
	or.Passes = len(passes)
	return out, nil
}
