package verify_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/dataset"
	"github.com/tpugen/tpugen/gen"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/verify"
)

// TestPrunedNetworkOnRTL runs the structurally pruned LeNet, its pruned
// channels removed by the compiler, on the default configuration's RTL in
// Verilator: every layer bit-exact against the golden model of the pruned
// network, the logits equal to the unpruned network's golden ones, every
// layer in the cycles the cycle model predicts, and fewer cycles than the
// same model with its zeros left in.
func TestPrunedNetworkOnRTL(t *testing.T) {
	man, dir := genRTL(t, gen.DefaultConfig())
	m := prunedModel(t, "lenet5_mnist_prune_struct50.onnx")
	pruned, _, err := compile.RemovePrunedChannels(m.net, man.Config.Rounding)
	if err != nil {
		t.Fatal(err)
	}
	const n = 4
	var images [][]int8
	var input []int8
	for i := 0; i < n; i++ {
		images = append(images, m.image(i))
		input = append(input, m.image(i)...)
	}
	s := sims(t, "verilator")[0]
	cycles := map[bool]int64{}
	for _, removed := range []bool{false, true} {
		net := m.net
		if removed {
			net = pruned
		}
		rep, err := verify.Evaluate(context.Background(), man.Config, net, images, m.test.Labels[:n],
			verify.EvalOptions{Batch: n, Sim: s, Man: man, Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Mismatches != 0 {
			t.Fatalf("removed %v: %d values differ; first in %s: %s", removed, rep.Mismatches, rep.Mismatch.Op, rep.Mismatch.Mismatch)
		}
		for _, o := range rep.Ops {
			if o.Hardware && o.Cycles != o.Predicted {
				t.Errorf("removed %v: %s took %d cycles, the cycle model predicts %d", removed, o.Op.Name, o.Cycles, o.Predicted)
			}
		}
		cycles[removed] = rep.Cycles()
	}
	if cycles[true] >= cycles[false]*3/4 {
		t.Errorf("pruned channels removed: %d cycles, left in: %d; want at least a quarter fewer", cycles[true], cycles[false])
	}
	want, err := verify.GoldenNetwork(man.Config, m.net, input, n)
	if err != nil {
		t.Fatal(err)
	}
	run, err := verify.RunNetwork(context.Background(), s, man, dir, pruned, input, n, nil, verify.GEMMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(run.Values[m.net.Output].Data, want[m.net.Output].Data) {
		t.Errorf("the pruned network's output on the RTL differs from the unpruned network's golden output")
	}
	t.Logf("%d images: %d cycles with the pruned channels, %d without", n, cycles[false], cycles[true])
}

type quantized struct {
	net   *compile.Network
	test  *dataset.Set
	image func(int) []int8
}

func prunedModel(t *testing.T, file string) quantized {
	net, test, image := quantizeModel(t, file, dataset.MNIST, 20)
	return quantized{net, test, image}
}

// TestZeroTilesSkipped runs a layer whose weights hold all-zero tiles (a
// whole column tile among them) on both simulators: the plan streams no
// weights and no activation pass for those tiles, the outputs are
// bit-exact (the zero column tile's are the bias alone) and the cycles are
// what the cycle model predicts, fewer than the dense layer's.
func TestZeroTilesSkipped(t *testing.T) {
	man, dir := genRTL(t, gen.DefaultConfig())
	r := rand.New(rand.NewPCG(12, 1))
	const batch, in, out = 10, 40, 24 // 5 K tiles, 3 column tiles of 8
	l := &compile.Layer{Kind: compile.FC, InShape: quant.Shape{N: batch, H: 1, W: 1, C: in},
		WeightShape: quant.Shape{N: out, H: 1, W: 1, C: in}, InputZP: -3,
		Requant: compile.Requant{Multipliers: []int32{1 << 30}, Shifts: []int{-6}, ZeroPoint: 2}}
	l.Input = make([]int8, batch*in)
	for i := range l.Input {
		l.Input[i] = int8(r.IntN(256) - 128)
	}
	l.Weights = make([]int8, out*in)
	for o := 0; o < out; o++ {
		for k := 0; k < in; k++ {
			zeroTile := (o >= 16) || (k/8 == 1 || k/8 == 3) && o < 8
			if !zeroTile {
				l.Weights[o*in+k] = int8(r.IntN(255) - 127)
			}
		}
	}
	l.Bias = make([]int32, out)
	for o := range l.Bias {
		l.Bias[o] = int32(r.IntN(20000) - 10000)
	}
	plan, err := compile.PlanLayer(man, l)
	if err != nil {
		t.Fatal(err)
	}
	// Column tile 0 streams 3 of 5 K tiles, tile 1 all 5, tile 2 one.
	if !slices.Equal(plan.GEMM.KTiles, []int{3, 5, 1}) || len(plan.GEMM.W) != 9*8 || len(plan.GEMM.A) != 9*batch {
		t.Fatalf("K tiles streamed %v, %d weight beats, %d activation beats; want [3 5 1], 72, %d", plan.GEMM.KTiles, len(plan.GEMM.W), len(plan.GEMM.A), 9*batch)
	}
	want, _, err := verify.LayerReference(man.Config, l)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sims(t, "icarus", "verilator") {
		run, err := verify.RunLayer(context.Background(), s, man, dir, l, verify.GEMMOptions{})
		if err != nil {
			t.Fatalf("%s: %v", s.Name(), err)
		}
		if !slices.Equal(run.Output, want) {
			t.Errorf("%s: the output differs from the golden model", s.Name())
		}
		if run.Cycles != run.Predicted {
			t.Errorf("%s: %d cycles, the cycle model predicts %d", s.Name(), run.Cycles, run.Predicted)
		}
		dense := verify.PredictGEMMCycles(man, batch, in, out)
		if run.Cycles >= dense {
			t.Errorf("%s: %d cycles, no fewer than the dense GEMM's %d", s.Name(), run.Cycles, dense)
		}
	}
}
