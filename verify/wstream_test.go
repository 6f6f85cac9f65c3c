package verify_test

import (
	"context"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/gen"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/verify"
	"github.com/tpugen/tpugen/verify/sim"
)

// sparseConfig is configs/sparse.json: the default with the bitmask weight
// decoder in front of the array.
func sparseConfig() gen.Config {
	c := gen.DefaultConfig()
	c.Name = "sparse"
	c.WeightCompression = arch.WeightBitmask
	return c
}

// sparseLayer is an FC layer whose weight rows range from dense to empty.
func sparseLayer(seed uint64, batch, in, out int) *compile.Layer {
	r := rand.New(rand.NewPCG(seed, 3))
	l := &compile.Layer{Kind: compile.FC, InShape: quant.Shape{N: batch, H: 1, W: 1, C: in},
		WeightShape: quant.Shape{N: out, H: 1, W: 1, C: in}, InputZP: 5,
		Requant: compile.Requant{Multipliers: []int32{1 << 30}, Shifts: []int{-7}, ZeroPoint: -4}}
	l.Input = make([]int8, batch*in)
	for i := range l.Input {
		l.Input[i] = int8(r.IntN(256) - 128)
	}
	l.Weights = make([]int8, out*in)
	for k := 0; k < in; k++ {
		zeros := []float64{0, 0.5, 0.8, 1}[r.IntN(4)]
		for o := 0; o < out; o++ {
			if r.Float64() >= zeros {
				l.Weights[o*in+k] = int8(r.IntN(255) - 127)
			}
		}
	}
	l.Bias = make([]int32, out)
	for o := range l.Bias {
		l.Bias[o] = int32(r.IntN(4000) - 2000)
	}
	return l
}

// TestCompressedWeightsOnRTL runs layers and a GEMM on the sparse
// configuration's RTL in both simulators, the weights crossing w_in as
// bitmask beats that the hardware decoder expands: bit-exact against the
// golden model, with fewer weight beats than dense for sparse weights.
func TestCompressedWeightsOnRTL(t *testing.T) {
	man, dir := genRTL(t, sparseConfig())
	l := sparseLayer(1, 12, 70, 20)
	want, _, err := verify.LayerReference(man.Config, l)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := compile.PlanLayer(man, l)
	if err != nil {
		t.Fatal(err)
	}
	_, dense, packed, err := compile.CompressWeights(man, plan.GEMM.W)
	if err != nil {
		t.Fatal(err)
	}
	if packed.Beats >= dense.Beats || packed.Bytes >= dense.Bytes {
		t.Errorf("compressed %+v, dense %+v: want fewer beats and bytes", packed, dense)
	}
	a, b := compile.NewMatrix(9, 19), compile.NewMatrix(19, 11)
	r := rand.New(rand.NewPCG(2, 2))
	for i := range a {
		for j := range a[i] {
			a[i][j] = int64(r.IntN(256) - 128)
		}
	}
	for i := range b {
		for j := range b[i] {
			if r.IntN(3) == 0 {
				b[i][j] = int64(r.IntN(256) - 128)
			}
		}
	}
	for _, s := range sims(t, "icarus", "verilator") {
		run, err := verify.RunLayer(context.Background(), s, man, dir, l, verify.GEMMOptions{})
		if err != nil {
			t.Fatalf("%s: %v", s.Name(), err)
		}
		if !slices.Equal(run.Output, want) {
			t.Errorf("%s: the layer's output differs from the golden model", s.Name())
		}
		if run.Cycles != run.Predicted {
			t.Errorf("%s: the layer took %d cycles, the cycle model predicts %d", s.Name(), run.Cycles, run.Predicted)
		}
		g, err := verify.RunGEMM(context.Background(), s, man, dir, a, b, verify.GEMMOptions{
			WStall: func(c int) bool { return c%3 == 1 }, SinkStall: func(c int) bool { return c%5 == 2 }})
		if err != nil {
			t.Fatalf("%s: gemm: %v", s.Name(), err)
		}
		if d := verify.CompareMatrices(verify.GoldenGEMM(man.Config, a, b), g.C); d.Count != 0 {
			t.Errorf("%s: gemm: %d values differ: %s", s.Name(), d.Count, d)
		}
		t.Logf("%s: layer %d cycles (dense plan predicts %d); weights %d beats / %d bytes, dense %d / %d",
			s.Name(), run.Cycles, run.Predicted, packed.Beats, packed.Bytes, dense.Beats, dense.Bytes)
	}
}

// TestCompressedWeightsMalformed sends a layer's compressed weights with
// one tile's mask corrupted (a popcount that disagrees with the bytes
// that follow) to the sparse configuration's RTL: the run must end with
// every result beat (no hang; both simulators) and the w_err output
// raised (Verilator's trace).
func TestCompressedWeightsMalformed(t *testing.T) {
	man, dir := genRTL(t, sparseConfig())
	l := sparseLayer(4, 8, 24, 8)
	plan, err := compile.PlanLayer(man, l)
	if err != nil {
		t.Fatal(err)
	}
	beats, _, _, err := compile.CompressWeights(man, plan.GEMM.W)
	if err != nil {
		t.Fatal(err)
	}
	wl := man.Stream(arch.StreamW)
	for _, corrupt := range []bool{false, true} {
		w := slices.Clone(beats)
		if corrupt {
			// Flip lane 0's bit in the first record's mask.
			w[0] = new(big.Int).Xor(w[0], big.NewInt(1<<wl.Field("bytes").LSB))
		}
		top := verify.SimTop(man, dir)
		stim := top.StreamStimulus(map[string][]*big.Int{arch.StreamW: w, arch.StreamA: plan.GEMM.A, arch.StreamP: plan.Params},
			nil, map[string]int{arch.StreamY: plan.Beats()})
		stim.MaxCycles = 20_000
		for _, s := range sims(t, "icarus", "verilator") {
			// The flag is read from a trace of every output, which only the
			// two-state simulator gives without x in the datapath's
			// unreset registers; Icarus checks that nothing hangs.
			st := *stim
			st.Trace = s.Name() == "verilator"
			res, err := s.Run(context.Background(), top, &st, sim.Options{})
			if err != nil {
				t.Fatalf("%s, corrupt %v: %v", s.Name(), corrupt, err)
			}
			if got := len(res.Sinks[top.SinkIndex(arch.StreamY)]); got != plan.Beats() {
				t.Errorf("%s, corrupt %v: %d result beats, want %d", s.Name(), corrupt, got, plan.Beats())
			}
			if !st.Trace {
				continue
			}
			flag := res.Outputs[len(res.Outputs)-1][arch.WeightErrorPort]
			if (flag.Sign() != 0) != corrupt {
				t.Errorf("%s, corrupt %v: %s ends at %v", s.Name(), corrupt, arch.WeightErrorPort, flag)
			}
		}
	}
}

// TestPrunedModelCompressedStream runs the magnitude-pruned LeNet (80% of
// its weights zero) on the sparse configuration in Verilator, its weights
// crossing w_in as bitmask beats: every layer bit-exact against the golden
// model, and under half the dense weight beats.
func TestPrunedModelCompressedStream(t *testing.T) {
	man, dir := genRTL(t, sparseConfig())
	m := prunedModel(t, "lenet5_mnist_prune_mag80.onnx")
	net, _, err := compile.RemovePrunedChannels(m.net, man.Config.Rounding)
	if err != nil {
		t.Fatal(err)
	}
	const n = 4
	var images [][]int8
	for i := 0; i < n; i++ {
		images = append(images, m.image(i))
	}
	rep, err := verify.Evaluate(context.Background(), man.Config, net, images, m.test.Labels[:n],
		verify.EvalOptions{Batch: n, Sim: sims(t, "verilator")[0], Man: man, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Mismatches != 0 || rep.RTLTop1 != rep.GoldenTop1 {
		t.Fatalf("%d values differ, top-1 RTL %d golden %d", rep.Mismatches, rep.RTLTop1, rep.GoldenTop1)
	}
	var dense, packed compile.WeightTraffic
	for _, op := range net.Ops {
		if !op.OnHardware() {
			continue
		}
		s := net.Tensors[op.Inputs[0]].Shape
		s.N = n
		passes, err := compile.PlanPasses(man, op.Bind(make([]int8, s.Len()), s))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range passes {
			_, d, c, err := compile.CompressWeights(man, p.Plan.GEMM.W)
			if err != nil {
				t.Fatal(err)
			}
			dense.Add(d)
			packed.Add(c)
		}
	}
	if 2*packed.Beats >= dense.Beats {
		t.Errorf("%d bitmask weight beats, %d dense: want under half", packed.Beats, dense.Beats)
	}
	t.Logf("%d images, %d cycles; weight beats %d dense, %d bitmask", n, rep.Cycles(), dense.Beats, packed.Beats)
}
