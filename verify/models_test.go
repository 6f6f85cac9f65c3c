package verify_test

import (
	"context"
	"testing"

	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/dataset"
	"github.com/tpugen/tpugen/gen"
	"github.com/tpugen/tpugen/internal/modeltest"
	"github.com/tpugen/tpugen/verify"
)

// quantizeModel imports a committed model and quantizes it on calib
// training images of its data set.
func quantizeModel(t *testing.T, file, data string, calib int) (*compile.Network, *dataset.Set, func(i int) []int8) {
	m := modeltest.Quantize(t, file, data, calib)
	return m.Net, m.Test, m.Image
}

// TestModelsOnRTL imports both committed models, quantizes them and runs
// test images through the default configuration's RTL: a few in Icarus,
// more in Verilator. Every layer's int8 output must equal the golden
// model's, the RTL must classify as the golden model does, and every
// hardware layer must take exactly the cycles the cycle model predicts.
func TestModelsOnRTL(t *testing.T) {
	man, dir := genRTL(t, gen.DefaultConfig())
	for _, m := range []struct {
		file, data        string
		icarus, verilator int
	}{
		{"lenet5_mnist.onnx", dataset.MNIST, 2, 16},
		{"fashion_cnn.onnx", dataset.Fashion, 1, 8},
	} {
		t.Run(m.file, func(t *testing.T) {
			net, test, image := quantizeModel(t, m.file, m.data, 50)
			for _, tc := range []struct {
				sim string
				n   int
			}{{"icarus", m.icarus}, {"verilator", m.verilator}} {
				var images [][]int8
				for i := 0; i < tc.n; i++ {
					images = append(images, image(i))
				}
				s := sims(t, tc.sim)[0]
				rep, err := verify.Evaluate(context.Background(), man.Config, net, images, test.Labels[:tc.n],
					verify.EvalOptions{Batch: tc.n, Sim: s, Man: man, Dir: dir})
				if err != nil {
					t.Fatalf("%s: %v", tc.sim, err)
				}
				if rep.Mismatches != 0 {
					t.Errorf("%s: %d values differ; first in %s, image %d: %s", tc.sim, rep.Mismatches, rep.Mismatch.Op, rep.Mismatch.Image, rep.Mismatch.Mismatch)
				}
				if rep.RTLTop1 != rep.GoldenTop1 || rep.GoldenTop1 < tc.n*3/4 {
					t.Errorf("%s: top-1 RTL %d, golden %d of %d", tc.sim, rep.RTLTop1, rep.GoldenTop1, tc.n)
				}
				for _, o := range rep.Ops {
					if o.Hardware && o.Cycles != o.Predicted {
						t.Errorf("%s: %s took %d cycles, the cycle model predicts %d", tc.sim, o.Op.Name, o.Cycles, o.Predicted)
					}
				}
				t.Logf("%s: %d images, top-1 %d, %d cycles, %d mismatches", tc.sim, tc.n, rep.RTLTop1, rep.Cycles(), rep.Mismatches)
			}
		})
	}
}
