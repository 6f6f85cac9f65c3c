package verify_test

import (
	"context"
	"testing"

	"github.com/tpugen/tpugen/dataset"
	"github.com/tpugen/tpugen/gen"
	"github.com/tpugen/tpugen/internal/modeltest"
	"github.com/tpugen/tpugen/nn"
	"github.com/tpugen/tpugen/nn/ptq"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/verify"
)

// TestInt4ModelOnRTL quantizes the committed 4-bit QAT LeNet-5 to int4
// (ptq Bits 4) and runs test images through configs/int4.json's RTL (4-bit
// activations and weights) in Verilator (int4 arrays run in Icarus in
// TestMatrixUnitRegression). Every
// layer's output must equal the golden model's and take the cycles the
// cycle model predicts.
func TestInt4ModelOnRTL(t *testing.T) {
	g, err := nn.Load(modeltest.Path("lenet5_mnist_qat4.onnx"))
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
	var samples []*nn.Tensor
	for _, im := range train.Images[:50] {
		samples = append(samples, nn.Float32Tensor([]int{1, 1, 28, 28}, modeltest.Pixels(im)))
	}
	net, err := ptq.Quantize(g, ptq.Options{Calib: quant.CalibConfig{Method: quant.MethodMinMax}, Samples: samples, Bits: 4})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := gen.LoadConfig("../configs/int4.json")
	if err != nil {
		t.Fatal(err)
	}
	man, dir := genRTL(t, cfg)
	in := net.Tensors[net.Input].Params
	for _, tc := range []struct {
		sim string
		n   int
	}{{"verilator", 8}} {
		var images [][]int8
		for i := 0; i < tc.n; i++ {
			images = append(images, quant.QuantizeInt8(modeltest.Pixels(test.Images[i]), in))
		}
		for _, v := range images[0] {
			if v < -8 || v > 7 {
				t.Fatalf("input code %d is not int4", v)
			}
		}
		rep, err := verify.Evaluate(context.Background(), man.Config, net, images, test.Labels[:tc.n],
			verify.EvalOptions{Batch: tc.n, Sim: sims(t, tc.sim)[0], Man: man, Dir: dir})
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
		t.Logf("%s: %d images, top-1 %d, %d cycles, wall %s", tc.sim, tc.n, rep.RTLTop1, rep.Cycles(), rep.Wall)
	}
}
