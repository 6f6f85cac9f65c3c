package verify_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/gen"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/verify"
)

// lowprecConfig is a small accelerator with all three: the float-scale
// requantizer, a pooling unit that also does L2 pooling, and the softmax
// unit, ten columns wide so that a ten-class classifier's softmax fits one
// row, with pooling for LeNet-5's 28x28 maps. One configuration serves
// every test of these modes (one Verilator build).
func lowprecConfig() gen.Config {
	return gen.Config{Name: "layer_lowprec", Rows: 4, Cols: 10, AccDepth: 256, Requant: true, Rounding: arch.FloatRounding,
		Pool: true, PoolL2: true, PoolWidth: 28, PoolHeight: 28, Softmax: true, ParamSets: 4}
}

// randFloatStage draws per-channel float32 scales like a QDQ model's
// (input scale × weight scale / output scale).
func randFloatStage(r *rand.Rand, channels int, zp int32) compile.Requant {
	o := compile.Requant{ZeroPoint: zp}
	for c := 0; c < channels; c++ {
		o.Scales = append(o.Scales, float32(0.0005+0.01*r.Float64()))
	}
	return o
}

// TestLowPrecLayers runs conv and FC layers through the float-scale
// requantizer, and conv layers pooled by L2 (and max) pooling, on the RTL
// in both simulators and compares every output with the golden model
// (quant.RequantizeFloat, quant.L2Pool), extremes included: all -128
// inputs with a zero point of 127, where the L2 root saturates.
func TestLowPrecLayers(t *testing.T) {
	man, dir := genRTL(t, lowprecConfig())
	r := rand.New(rand.NewPCG(*regressSeed, 13))
	same := quant.Window{StrideH: 1, StrideW: 1, Padding: quant.PaddingSame}
	conv := func(zp int32, pool *compile.Pool, in []int8) *compile.Layer {
		if in == nil {
			in = randInt8s(r, 7*9*3, -128, 127)
		}
		l := &compile.Layer{Kind: compile.Conv, InShape: quant.Shape{N: 1, H: 7, W: 9, C: 3},
			Input: in, WeightShape: quant.Shape{N: 6, H: 3, W: 3, C: 3},
			Weights: randInt8s(r, 6*27, -127, 127), Bias: randBias(r, 6), InputZP: 12, Window: same,
			Requant: randFloatStage(r, 6, zp), Pool: pool}
		if pool != nil {
			pool.ZeroPoint = zp
		}
		return l
	}
	allMin := make([]int8, 7*9*3)
	for i := range allMin {
		allMin[i] = -128
	}
	relu := conv(-20, &compile.Pool{Kind: arch.L2Pool, KH: 3, KW: 3, SH: 1, SW: 2}, nil)
	relu.Requant.ActMin, relu.Requant.ActMax = -20, 127
	// A layer quantized with fixed-point multipliers only runs with the
	// float scales they stand for.
	fixed := conv(9, nil, nil)
	fixed.Requant = randOutputStage(r, 6, false)
	layers := []*compile.Layer{
		fixed,
		{Kind: compile.FC, InShape: quant.Shape{N: 5, H: 1, W: 1, C: 19},
			Input: randInt8s(r, 5*19, -128, 127), WeightShape: quant.Shape{N: 7, H: 1, W: 1, C: 19},
			Weights: randInt8s(r, 7*19, -127, 127), Bias: randBias(r, 7), InputZP: -7, Requant: randFloatStage(r, 7, 3)},
		conv(-3, &compile.Pool{Kind: arch.L2Pool, KH: 2, KW: 2, SH: 2, SW: 2}, nil),
		relu,
		conv(5, &compile.Pool{Kind: arch.MaxPool, KH: 2, KW: 2, SH: 2, SW: 2}, nil),
		conv(127, &compile.Pool{Kind: arch.L2Pool, KH: 3, KW: 3, SH: 3, SW: 3}, allMin),
		conv(-128, &compile.Pool{Kind: arch.L2Pool, KH: 3, KW: 3, SH: 1, SW: 1}, nil),
	}
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
}

// TestLowPrecRejects checks the layer planner's one-line refusals: L2
// pooling on a unit built without it, multipliers for a float requantizer.
func TestLowPrecRejects(t *testing.T) {
	cfg := lowprecConfig()
	cfg.PoolL2 = false
	out, err := gen.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := &compile.Layer{Kind: compile.Conv, InShape: quant.Shape{N: 1, H: 4, W: 4, C: 1}, Input: make([]int8, 16),
		WeightShape: quant.Shape{N: 1, H: 1, W: 1, C: 1}, Weights: []int8{1}, Bias: []int32{0},
		Window:  quant.Window{StrideH: 1, StrideW: 1, Padding: quant.PaddingValid},
		Requant: compile.Requant{Scales: []float32{0.5}}, Pool: &compile.Pool{Kind: arch.L2Pool, KH: 2, KW: 2, SH: 2, SW: 2}}
	if _, err := compile.PlanLayer(&out.Manifest, l); err == nil {
		t.Error("L2 pooling planned on a unit without it")
	} else {
		t.Log(err)
	}
	l.Pool = nil
	l.Requant = compile.Requant{}
	if _, err := compile.PlanLayer(&out.Manifest, l); err == nil {
		t.Error("a layer without scales planned on a float-scale requantizer")
	} else {
		t.Log(err)
	}
	l.Requant = compile.Requant{Scales: []float32{float32(math.Inf(1))}}
	if _, err := compile.PlanLayer(&out.Manifest, l); err == nil {
		t.Error("an infinite scale planned")
	} else {
		t.Log(err)
	}
}
