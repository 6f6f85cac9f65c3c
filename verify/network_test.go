package verify_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/verify"
)

// tinyNetwork is a hand-built quantized CNN: conv 3x3 SAME 2->5 with ReLU6
// and 2x2 max pooling on the matrix unit, a host depthwise conv, a host
// residual add, flatten, an FC layer of 20 outputs (more than one pass of
// parameter sets on a 4x4 array with 4 sets), and a host softmax.
func tinyNetwork(r *rand.Rand) *compile.Network {
	p := func(scale float32, zp int32) quant.Params {
		return quant.Params{Scale: scale, ZeroPoint: zp, DType: quant.Int8}
	}
	req := func(n int, zp int32) compile.Requant {
		q := compile.Requant{ZeroPoint: zp}
		for i := 0; i < n; i++ {
			m, s := quant.QuantizeMultiplier(0.002 + 0.01*r.Float64())
			q.Multipliers, q.Shifts = append(q.Multipliers, m), append(q.Shifts, s)
		}
		return q
	}
	i8 := func(n int) []int8 { return randInt8s(r, n, -127, 127) }
	conv := &compile.Layer{Kind: compile.Conv, InShape: quant.Shape{N: 1, H: 6, W: 6, C: 2}, WeightShape: quant.Shape{N: 5, H: 3, W: 3, C: 2}, Weights: i8(90),
		Window: quant.Window{StrideH: 1, StrideW: 1, Padding: quant.PaddingSame}, Bias: randBias(r, 5), InputZP: -3,
		Requant: req(5, -100), Pool: &compile.Pool{Kind: arch.MaxPool, KH: 2, KW: 2, SH: 2, SW: 2}}
	conv.Requant.ActMin, conv.Requant.ActMax = -100, 20
	dw := &compile.Layer{Kind: compile.Conv, InShape: quant.Shape{N: 1, H: 3, W: 3, C: 5}, WeightShape: quant.Shape{N: 5, H: 3, W: 3, C: 1}, Weights: i8(45),
		Window: quant.Window{StrideH: 1, StrideW: 1, Padding: quant.PaddingSame}, Bias: randBias(r, 5), InputZP: -100, Requant: req(5, 3)}
	add, err := quant.PrepareAdd(p(0.05, -100), p(0.04, 3), p(0.08, -20), quant.ActNone)
	if err != nil {
		panic(err)
	}
	fc := &compile.Layer{Kind: compile.FC, InShape: quant.Shape{N: 1, H: 1, W: 1, C: 45}, WeightShape: quant.Shape{N: 20, H: 1, W: 1, C: 45}, Weights: i8(900),
		Bias: randBias(r, 20), InputZP: -20, Requant: req(20, 7)}
	sm, err := quant.PrepareSoftmax(1, 0.1)
	if err != nil {
		panic(err)
	}
	return &compile.Network{Name: "tiny", Input: "in", Output: "prob",
		Tensors: map[string]*compile.Tensor{
			"in": {Name: "in", Shape: quant.Shape{N: 1, H: 6, W: 6, C: 2}, Params: p(0.02, -3)},
			"c1": {Name: "c1", Shape: quant.Shape{N: 1, H: 3, W: 3, C: 5}, Params: p(0.05, -100)},
			"dw": {Name: "dw", Shape: quant.Shape{N: 1, H: 3, W: 3, C: 5}, Params: p(0.04, 3)},
			"r":  {Name: "r", Shape: quant.Shape{N: 1, H: 3, W: 3, C: 5}, Params: p(0.08, -20)},
			"f":  {Name: "f", Shape: quant.Shape{N: 1, H: 1, W: 1, C: 45}, Params: p(0.08, -20)},
			"fc": {Name: "fc", Shape: quant.Shape{N: 1, H: 1, W: 1, C: 20}, Params: p(0.1, 7)},
			"prob": {Name: "prob", Shape: quant.Shape{N: 1, H: 1, W: 1, C: 20},
				Params: p(quant.SoftmaxOutputScale, quant.SoftmaxOutputZeroPoint)},
		},
		Ops: []*compile.Op{
			{Name: "conv1", Kind: compile.OpLayer, Inputs: []string{"in"}, Output: "c1", Layer: conv},
			{Name: "dw", Kind: compile.OpGroupConv, Inputs: []string{"c1"}, Output: "dw", Layer: dw},
			{Name: "add", Kind: compile.OpAdd, Inputs: []string{"c1", "dw"}, Output: "r", Add: add},
			{Name: "flatten", Kind: compile.OpFlatten, Inputs: []string{"r"}, Output: "f"},
			{Name: "fc", Kind: compile.OpLayer, Inputs: []string{"f"}, Output: "fc", Layer: fc},
			{Name: "softmax", Kind: compile.OpSoftmax, Inputs: []string{"fc"}, Output: "prob", Softmax: sm},
		}}
}

// TestNetworkBatch runs a batch of four images through a small network on
// the RTL (both simulators) and compares every op's output with the golden
// model bit for bit; the FC layer needs two passes of parameter sets.
func TestNetworkBatch(t *testing.T) {
	r := rand.New(rand.NewPCG(*regressSeed, 21))
	net := tinyNetwork(r)
	if err := net.Check(); err != nil {
		t.Fatal(err)
	}
	man, dir := genRTL(t, pipelineConfig("net", arch.WS, arch.DoubleRounding))
	const batch = 4
	input := randInt8s(r, batch*6*6*2, -128, 127)
	golden, err := verify.GoldenNetwork(man.Config, net, input, batch)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sims(t, "icarus", "verilator") {
		run, err := verify.RunNetwork(context.Background(), s, man, dir, net, input, batch, golden, verify.GEMMOptions{})
		if err != nil {
			t.Fatalf("%s: %v", s.Name(), err)
		}
		for _, o := range run.Ops {
			if o.Mismatch.Count > 0 {
				t.Errorf("%s: %s: %s", s.Name(), o.Op.Name, o.Mismatch)
			}
			if o.Op.Name == "fc" && o.Passes != 2 {
				t.Errorf("%s: fc took %d passes, want 2 (20 channels, 16 per pass)", s.Name(), o.Passes)
			}
			t.Logf("%s: %-8s %-40s %v hw=%v passes=%d cycles=%d macs=%d", s.Name(), o.Op.Name, o.Op.Describe(), o.Shape, o.Hardware, o.Passes, o.Cycles, o.MACs)
		}
		if got := run.Values["prob"].Shape; got != (quant.Shape{N: batch, H: 1, W: 1, C: 20}) {
			t.Errorf("%s: output shape %v", s.Name(), got)
		}
	}
}
