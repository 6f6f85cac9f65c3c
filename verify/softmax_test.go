package verify_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/dataset"
	"github.com/tpugen/tpugen/gen"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/verify"
)

// TestSoftmaxLayers runs layers ending in the softmax unit (an FC layer of
// ten classes over a batch, a 1x1 convolution whose pixels each get a
// softmax over seven channels, a layer of an extreme beta) and a layer
// without softmax on the same unit, in both simulators, against the golden
// model (quant.SoftmaxInt8 after the requantizer); the cycle model must
// stay exact with the table words the softmax loads.
func TestSoftmaxLayers(t *testing.T) {
	man, dir := genRTL(t, lowprecConfig())
	r := rand.New(rand.NewPCG(*regressSeed, 17))
	prm := func(beta float64, scale float32) *quant.SoftmaxParams {
		p, err := quant.PrepareSoftmax(beta, scale)
		if err != nil {
			t.Fatal(err)
		}
		return &p
	}
	fc := func(batch, k, n int, sm *quant.SoftmaxParams) *compile.Layer {
		return &compile.Layer{Kind: compile.FC, InShape: quant.Shape{N: batch, H: 1, W: 1, C: k},
			Input: randInt8s(r, batch*k, -128, 127), WeightShape: quant.Shape{N: n, H: 1, W: 1, C: k},
			Weights: randInt8s(r, n*k, -127, 127), Bias: randBias(r, n), InputZP: 3,
			Requant: randOutputStage(r, n, false), Softmax: sm}
	}
	conv := &compile.Layer{Kind: compile.Conv, InShape: quant.Shape{N: 1, H: 5, W: 6, C: 4},
		Input: randInt8s(r, 5*6*4, -128, 127), WeightShape: quant.Shape{N: 7, H: 1, W: 1, C: 4},
		Weights: randInt8s(r, 7*4, -127, 127), Bias: randBias(r, 7), InputZP: -2,
		Window:  quant.Window{StrideH: 1, StrideW: 1, Padding: quant.PaddingValid},
		Requant: randOutputStage(r, 7, false), Softmax: prm(1, 0.08)}
	layers := []*compile.Layer{fc(6, 40, 10, prm(1, 0.1)), conv, fc(3, 17, 10, prm(4, 0.5)), fc(4, 9, 23, nil)}
	for i, l := range layers {
		want, wantShape, err := verify.LayerReference(man.Config, l)
		if err != nil {
			t.Fatal(err)
		}
		for _, sim := range sims(t, "icarus", "verilator") {
			t.Run(fmt.Sprintf("%d_%s_%s", i, l.Kind, sim.Name()), func(t *testing.T) {
				run, err := verify.RunLayer(context.Background(), sim, man, dir, l, verify.GEMMOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if run.Shape != wantShape {
					t.Fatalf("shape %v, want %v", run.Shape, wantShape)
				}
				if d := cmp.Diff(want, run.Output); d != "" {
					t.Errorf("layer output differs from quant (seed %d; -want +got):\n%s", *regressSeed, d)
				}
				if run.Cycles != run.Predicted {
					t.Errorf("the layer took %d cycles, the cycle model predicts %d", run.Cycles, run.Predicted)
				}
			})
		}
	}
	// Refusals: more channels than a row, and a unit without softmax.
	if _, err := compile.PlanLayer(man, fc(2, 5, 11, prm(1, 0.1))); err == nil {
		t.Error("a softmax over 11 channels planned on 10 columns")
	}
	out, err := gen.Generate(pipelineConfig("nosoftmax", arch.WS, arch.DoubleRounding))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := compile.PlanLayer(&out.Manifest, fc(2, 5, 4, prm(1, 0.1))); err == nil {
		t.Error("a softmax planned on a unit without one")
	}
}

// TestSoftmaxOnChip runs LeNet-5 with its final softmax folded into the
// last layer (verify.FuseSoftmax) on the RTL in Verilator: every op equals
// the golden model, and the network's output equals the unfused network's,
// whose softmax runs on the host.
func TestSoftmaxOnChip(t *testing.T) {
	man, dir := genRTL(t, lowprecConfig())
	net, test, image := quantizeModel(t, "lenet5_mnist.onnx", dataset.MNIST, 50)
	fused := verify.FuseSoftmax(net, man.Config)
	if len(fused.Ops) != len(net.Ops)-1 {
		t.Fatalf("fused network has %d ops, the network %d: the softmax was not folded", len(fused.Ops), len(net.Ops))
	}
	last := fused.Ops[len(fused.Ops)-1]
	if !last.OnHardware() || last.Layer.Softmax == nil || last.Output != net.Output {
		t.Fatalf("the last op %s (%s) should be the hardware layer with the softmax", last.Name, last.Describe())
	}
	const n = 4
	var input []int8
	for i := 0; i < n; i++ {
		input = append(input, image(i)...)
	}
	host, err := verify.GoldenNetwork(man.Config, net, input, n)
	if err != nil {
		t.Fatal(err)
	}
	golden, err := verify.GoldenNetwork(man.Config, fused, input, n)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(host[net.Output].Data, golden[net.Output].Data); d != "" {
		t.Fatalf("the fused network's output differs from the host softmax (-host +fused):\n%s", d)
	}
	run, err := verify.RunNetwork(context.Background(), sims(t, "verilator")[0], man, dir, fused, input, n, golden, verify.GEMMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range run.Ops {
		if o.Mismatch.Count > 0 {
			t.Errorf("%s: %v", o.Op.Name, o.Mismatch)
		}
		if o.Hardware && o.Cycles != o.Predicted {
			t.Errorf("%s took %d cycles, the cycle model predicts %d", o.Op.Name, o.Cycles, o.Predicted)
		}
	}
	if d := cmp.Diff(host[net.Output].Data, run.Values[net.Output].Data); d != "" {
		t.Errorf("the RTL's softmax output differs from the host's (-host +RTL):\n%s", d)
	}
	t.Logf("LeNet-5, %d images (labels %v): softmax on chip in %s, output %v", n, test.Labels[:n], last.Name, run.Values[net.Output].Data[:10])
}
