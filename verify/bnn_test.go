package verify_test

import (
	"context"
	"testing"
	"time"

	"github.com/tpugen/tpugen/dataset"
	"github.com/tpugen/tpugen/gen"
	"github.com/tpugen/tpugen/internal/modeltest"
	"github.com/tpugen/tpugen/nn"
	"github.com/tpugen/tpugen/nn/ptq"
	"github.com/tpugen/tpugen/verify"
)

// TestBinaryNetworkOnRTL runs the committed binarized MLP on MNIST test
// images: its int8 layers on the default unit, its binary layers on
// configs/binary.json's unit (the binary layers in both simulators, the
// int8 ones in Verilator). Every layer's output must
// equal the golden model's, every layer must take the cycles the cycle
// model predicts, and the RTL must classify as ptq's own integer
// reference of the lowered network does.
func TestBinaryNetworkOnRTL(t *testing.T) {
	g, err := nn.Load(modeltest.Path("bnn_mnist.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	train, err := dataset.Load(dataset.MNIST, dataset.Train)
	if err != nil {
		t.Fatal(err)
	}
	test, err := dataset.Load(dataset.MNIST, dataset.Test)
	if err != nil {
		t.Fatal(err)
	}
	var calib []float32
	for _, im := range train.Images[:50] {
		calib = append(calib, modeltest.Pixels(im)...)
	}
	net, err := ptq.LowerBinary(g, 8, 1.0/255, -128, calib)
	if err != nil {
		t.Fatal(err)
	}
	kinds := ""
	for _, l := range net.Layers {
		kinds += map[bool]string{true: "b", false: "i"}[l.Binary]
	}
	if kinds != "ibbi" {
		t.Fatalf("layer kinds %q, want ibbi (int8, binary, binary, int8)", kinds)
	}
	binCfg, err := gen.LoadConfig("../configs/binary.json")
	if err != nil {
		t.Fatal(err)
	}
	intMan, intDir := genRTL(t, gen.DefaultConfig())
	binMan, binDir := genRTL(t, binCfg)
	chain := verify.SignChain{Next: net.NextInput}
	for _, l := range net.Layers {
		chain.Layers = append(chain.Layers, verify.SignLayer{Name: l.Name, Layer: l.Layer, Binary: l.Binary})
	}
	for _, tc := range []struct {
		sim string
		n   int
	}{{"icarus", 2}, {"verilator", 16}} {
		start := time.Now()
		var x []float32
		for _, im := range test.Images[:tc.n] {
			x = append(x, modeltest.Pixels(im)...)
		}
		in := net.Input(x)
		s := sims(t, tc.sim)[0]
		intUnit := verify.SignUnit{Sim: s, Man: intMan, Dir: intDir}
		if tc.sim == "icarus" {
			// The int8 unit is slow in Icarus and covered elsewhere: the
			// binary layers are what this checks there.
			intUnit.Sim = nil
		}
		runs, err := verify.RunSignChain(context.Background(), chain, in, tc.n,
			intUnit, verify.SignUnit{Sim: s, Man: binMan, Dir: binDir}, verify.GEMMOptions{})
		if err != nil {
			t.Fatalf("%s: %v", tc.sim, err)
		}
		ref, err := net.Reference(in, tc.n)
		if err != nil {
			t.Fatal(err)
		}
		correct := 0
		for i, r := range runs {
			if r.Mismatch.Count > 0 {
				t.Errorf("%s: layer %s: %s", tc.sim, net.Layers[i].Name, r.Mismatch)
			}
			if intUnit.Sim == nil && !net.Layers[i].Binary {
				continue // golden only: no cycles
			}
			if r.Cycles != r.Predicted {
				t.Errorf("%s: layer %s took %d cycles, the cycle model predicts %d", tc.sim, net.Layers[i].Name, r.Cycles, r.Predicted)
			}
			for j, v := range r.Output {
				if v != ref[i][j] {
					t.Fatalf("%s: layer %s output %d is %d, ptq's reference %d", tc.sim, net.Layers[i].Name, j, v, ref[i][j])
				}
			}
		}
		last := runs[len(runs)-1]
		for i := 0; i < tc.n; i++ {
			best := 0
			for c, v := range last.Output[i*10 : (i+1)*10] {
				if v > last.Output[i*10+best] {
					best = c
				}
			}
			if best == test.Labels[i] {
				correct++
			}
		}
		if correct < tc.n*9/10 {
			t.Errorf("%s: %d of %d classified right", tc.sim, correct, tc.n)
		}
		t.Logf("%s: %d images, %d right, %s", tc.sim, tc.n, correct, time.Since(start).Round(time.Millisecond))
	}
}
