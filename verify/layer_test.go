package verify_test

import (
	"context"
	"fmt"
	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tpugen/tpugen/gen"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/verify"
)

// pipelineConfig is a small accelerator with the whole pipeline.
func pipelineConfig(name string, dataflow arch.Dataflow, rounding arch.Rounding) gen.Config {
	return gen.Config{Name: name, Rows: 4, Cols: 4, Dataflow: dataflow, AccDepth: 64,
		Requant: true, Rounding: rounding, Activation: arch.AllActivations, Pool: true, PoolWidth: 12, PoolHeight: 12, ParamSets: 4}
}

func randInt8s(r *rand.Rand, n int, lo, hi int) []int8 {
	out := make([]int8, n)
	for i := range out {
		out[i] = int8(lo + r.IntN(hi-lo+1))
	}
	return out
}

// randOutputStage draws realistic per-channel requantization parameters.
func randOutputStage(r *rand.Rand, channels int, relu6 bool) compile.Requant {
	o := compile.Requant{ZeroPoint: int32(r.IntN(21) - 10)}
	for c := 0; c < channels; c++ {
		m, s := quant.QuantizeMultiplier(0.0005 + 0.01*r.Float64())
		o.Multipliers = append(o.Multipliers, m)
		o.Shifts = append(o.Shifts, s)
	}
	if relu6 {
		o.ActMin, o.ActMax = o.ZeroPoint, o.ZeroPoint+60
	}
	return o
}

func layerActivations(t *testing.T) map[string]compile.Activation {
	in := quant.Params{Scale: 0.05, ZeroPoint: 3, DType: quant.Int8}
	out := quant.Params{Scale: 0.04, ZeroPoint: -5, DType: quant.Int8}
	leaky, err := quant.PrepareLeakyReLU(in, out, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := quant.PrepareSigmoid(0.05, 3)
	if err != nil {
		t.Fatal(err)
	}
	logistic := quant.Table256(func(x int8) int8 {
		return quant.LogisticInt8(x, sp.InputZeroPoint, sp.InputRangeRadius, sp.InputMultiplier, sp.InputLeftShift)
	})
	return map[string]compile.Activation{
		"none":     {Func: arch.ActIdentity},
		"leaky":    {Func: arch.ActLeaky, Leaky: leaky},
		"logistic": {Func: arch.ActTable, Table: logistic},
	}
}

// TestLayers runs quantized FC and im2col conv layers (with and without
// pooling, each activation) on the RTL in both simulators and compares them
// bit for bit with quant's reference kernels.
func TestLayers(t *testing.T) {
	acts := layerActivations(t)
	for _, cfg := range []gen.Config{pipelineConfig("layer_ws", arch.WS, arch.DoubleRounding), pipelineConfig("layer_os", arch.OS, arch.SingleRounding)} {
		man, dir := genRTL(t, cfg)
		r := rand.New(rand.NewPCG(*regressSeed, 11))
		var layers []*compile.Layer
		// FC: 5 batches, 19 inputs, 7 outputs (two column tiles).
		layers = append(layers, &compile.Layer{Kind: compile.FC, InShape: quant.Shape{N: 5, H: 1, W: 1, C: 19},
			Input: randInt8s(r, 5*19, -128, 127), WeightShape: quant.Shape{N: 7, H: 1, W: 1, C: 19},
			Weights: randInt8s(r, 7*19, -127, 127), Bias: randBias(r, 7), InputZP: -7,
			Requant: randOutputStage(r, 7, false), Act: acts["leaky"]})
		// Conv 7x9x3 -> 6 channels, 3x3 SAME, then 2x2 max pool stride 2.
		conv := func(act string, pool *compile.Pool, relu6 bool, w quant.Window) *compile.Layer {
			return &compile.Layer{Kind: compile.Conv, InShape: quant.Shape{N: 1, H: 7, W: 9, C: 3},
				Input: randInt8s(r, 7*9*3, -128, 127), WeightShape: quant.Shape{N: 6, H: 3, W: 3, C: 3},
				Weights: randInt8s(r, 6*27, -127, 127), Bias: randBias(r, 6), InputZP: 12, Window: w,
				Requant: randOutputStage(r, 6, relu6), Act: acts[act], Pool: pool}
		}
		same := quant.Window{StrideH: 1, StrideW: 1, Padding: quant.PaddingSame}
		layers = append(layers,
			conv("none", &compile.Pool{Kind: arch.MaxPool, KH: 2, KW: 2, SH: 2, SW: 2}, true, same),
			conv("logistic", &compile.Pool{Kind: arch.AveragePool, KH: 3, KW: 3, SH: 1, SW: 2}, false, same),
			conv("leaky", nil, false, quant.Window{StrideH: 2, StrideW: 1, Padding: quant.PaddingValid}),
		)
		// A batch of three images: im2col rows image after image, and the
		// pooling unit sees three frames back to back.
		batch := conv("none", &compile.Pool{Kind: arch.AveragePool, KH: 2, KW: 2, SH: 2, SW: 2}, true, same)
		batch.InShape.N = 3
		batch.Input = randInt8s(r, 3*7*9*3, -128, 127)
		layers = append(layers, batch)
		for i, l := range layers {
			want, wantShape, err := verify.LayerReference(man.Config, l)
			if err != nil {
				t.Fatal(err)
			}
			for _, sim := range sims(t, "icarus", "verilator") {
				t.Run(fmt.Sprintf("%s/%d_%s_%s", cfg.Name, i, l.Kind, sim.Name()), func(t *testing.T) {
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
					t.Logf("cycles=%d predicted=%d ideal=%.0f", run.Cycles, run.Predicted, run.Ideal)
					if run.Cycles != run.Predicted {
						t.Errorf("the layer took %d cycles, the cycle model predicts %d", run.Cycles, run.Predicted)
					}
				})
			}
		}
	}
}

func randBias(r *rand.Rand, n int) []int32 {
	b := make([]int32, n)
	for i := range b {
		b[i] = int32(r.IntN(40001) - 20000)
	}
	return b
}

// TestPipelineKeepsUtilization measures that the post-array pipeline does
// not slow the matrix unit on a large layer: the layer takes the GEMM's
// cycles (cycle model, checked exact elsewhere) plus only a fixed cost, the
// parameter words loaded before the first activation (p_in goes first) and
// the pipeline's latency, and utilization stays above 95%.
func TestPipelineKeepsUtilization(t *testing.T) {
	cfg := gen.Config{Name: "pipe_util", Rows: 8, Cols: 8, AccDepth: 256, Requant: true, Activation: arch.AllActivations, Pool: true, ParamSets: 4}
	man, dir := genRTL(t, cfg)
	r := rand.New(rand.NewPCG(*regressSeed, 13))
	const batches, in, out = 128, 256, 32
	l := &compile.Layer{Kind: compile.FC, InShape: quant.Shape{N: batches, H: 1, W: 1, C: in}, Input: randInt8s(r, batches*in, -128, 127),
		WeightShape: quant.Shape{N: out, H: 1, W: 1, C: in}, Weights: randInt8s(r, out*in, -127, 127),
		Bias: randBias(r, out), InputZP: 5, Requant: randOutputStage(r, out, false), Act: layerActivations(t)["leaky"]}
	want, _, err := verify.LayerReference(man.Config, l)
	if err != nil {
		t.Fatal(err)
	}
	run, err := verify.RunLayer(context.Background(), sims(t, "verilator")[0], man, dir, l, verify.GEMMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, run.Output); d != "" {
		t.Fatalf("layer output differs from quant (-want +got):\n%s", d)
	}
	gemm := verify.PredictGEMMCycles(man, batches, in, out)
	extra := run.Cycles - gemm
	t.Logf("layer %dx%d->%d: %d cycles, GEMM alone %d, pipeline adds %d; utilization %.2f%%", batches, in, out, run.Cycles, gemm, extra, 100*run.Utilization)
	// One requantizer word per lane plus an activation and a pooling word
	// per column tile; 20 cycles covers the three stages' latency.
	paramBeats := (out + cfg.Cols - 1) / cfg.Cols * (cfg.Cols + 2)
	if extra < 0 || extra > paramBeats+20 {
		t.Errorf("the pipeline added %d cycles to a %d-cycle GEMM; want at most %d parameter beats + 20 cycles of latency", extra, gemm, paramBeats)
	}
	if run.Utilization < 0.95 {
		t.Errorf("utilization %.2f%% with the pipeline, want >= 95%%", 100*run.Utilization)
	}
}
