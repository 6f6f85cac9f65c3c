package verify_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/nn"
	"github.com/tpugen/tpugen/nn/ptq"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/verify"
)

// l2CNN is a float model with an ONNX LpPool (p = 2): Conv 3x3 1->6,
// Relu, LpPool 2x2/2, Flatten, Gemm 54->10, Softmax.
func l2CNN(r *rand.Rand) *nn.Graph {
	ints := func(v ...int64) nn.Attr { return nn.Attr{Type: nn.AttrInts, Ints: v} }
	rf := func(n int, s float64) []float32 {
		out := make([]float32, n)
		for i := range out {
			out[i] = float32(s * r.NormFloat64())
		}
		return out
	}
	return &nn.Graph{Name: "l2cnn", Source: "l2cnn.onnx", Opset: 13,
		Inputs:  []nn.Value{{Name: "x", DType: nn.Float32, Shape: []int{1, 1, 8, 8}}},
		Outputs: []nn.Value{{Name: "p", DType: nn.Float32}},
		Initializers: map[string]*nn.Tensor{
			"w":  nn.Float32Tensor([]int{6, 1, 3, 3}, rf(54, 0.5)),
			"b":  nn.Float32Tensor([]int{6}, rf(6, 0.1)),
			"fw": nn.Float32Tensor([]int{10, 54}, rf(540, 0.2)),
			"fb": nn.Float32Tensor([]int{10}, rf(10, 0.1)),
		},
		Values: map[string]nn.Value{},
		Nodes: []*nn.Node{
			{Name: "conv", Op: "Conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"c"},
				Attrs: map[string]nn.Attr{"kernel_shape": ints(3, 3)}},
			{Name: "relu", Op: "Relu", Inputs: []string{"c"}, Outputs: []string{"r"}},
			{Name: "l2", Op: "LpPool", Inputs: []string{"r"}, Outputs: []string{"m"},
				Attrs: map[string]nn.Attr{"kernel_shape": ints(2, 2), "strides": ints(2, 2), "p": {Type: nn.AttrInt, I: 2}}},
			{Name: "flat", Op: "Flatten", Inputs: []string{"m"}, Outputs: []string{"f"}},
			{Name: "fc", Op: "Gemm", Inputs: []string{"f", "fw", "fb"}, Outputs: []string{"l"},
				Attrs: map[string]nn.Attr{"transB": {Type: nn.AttrInt, I: 1}}},
			{Name: "softmax", Op: "Softmax", Inputs: []string{"l"}, Outputs: []string{"p"}},
		}}
}

// TestLpPoolNetwork imports an ONNX LpPool (p = 2): the float executor's
// value on a known window, the quantizer fusing it into the convolution as
// L2 pooling (quantized for the pooled range), the int8 result within a
// few steps of the float model's, and the network on the RTL (L2 pooling
// and the final softmax on chip) equal to the golden model.
func TestLpPoolNetwork(t *testing.T) {
	r := rand.New(rand.NewPCG(*regressSeed, 19))
	float := l2CNN(rand.New(rand.NewPCG(*regressSeed, 19)))
	g := l2CNN(r)
	var samples []*nn.Tensor
	for i := 0; i < 32; i++ {
		samples = append(samples, nn.Float32Tensor([]int{1, 1, 8, 8}, randNorm(r, 64)))
	}
	net, err := ptq.Quantize(g, ptq.Options{Calib: quant.CalibConfig{Method: quant.MethodMinMax}, Samples: samples})
	if err != nil {
		t.Fatal(err)
	}
	conv := net.Ops[0]
	if p := conv.Layer.Pool; p == nil || p.Kind != arch.L2Pool || p.KH != 2 || p.SH != 2 {
		t.Fatalf("%s (%s): want the LpPool fused as 2x2/2 L2 pooling", conv.Name, conv.Describe())
	}
	pooled := net.Tensors[conv.Output].Params
	if conv.Layer.Pool.ZeroPoint != pooled.ZeroPoint {
		t.Errorf("L2 zero point %d, the layer's output zero point %d", conv.Layer.Pool.ZeroPoint, pooled.ZeroPoint)
	}
	man, dir := genRTL(t, lowprecConfig())
	worst := 0.0
	var input []int8
	const n = 6
	for i := 0; i < n; i++ {
		x := randNorm(r, 64)
		want, err := nn.RunAll(float, map[string]*nn.Tensor{"x": nn.Float32Tensor([]int{1, 1, 8, 8}, x)})
		if err != nil {
			t.Fatal(err)
		}
		in := quant.QuantizeInt8(x, net.Tensors[net.Input].Params)
		input = append(input, in...)
		vals, err := verify.GoldenNetwork(man.Config, net, in, 1)
		if err != nil {
			t.Fatal(err)
		}
		got := quant.DequantizeInt8(vals[conv.Output].Data, pooled)
		s := vals[conv.Output].Shape
		m := want["m"].Float32 // NCHW
		for c := 0; c < s.C; c++ {
			for y := 0; y < s.H; y++ {
				for xx := 0; xx < s.W; xx++ {
					d := math.Abs(float64(got[s.Index(0, y, xx, c)]-m[(c*s.H+y)*s.W+xx])) / float64(pooled.Scale)
					worst = math.Max(worst, d)
				}
			}
		}
	}
	t.Logf("L2-pooled int8 values within %.2f output steps of the float LpPool", worst)
	if worst > 3 {
		t.Errorf("the int8 L2 pooling is %.2f steps from the float model's, want at most 3", worst)
	}
	fused := verify.FuseSoftmax(net, man.Config)
	golden, err := verify.GoldenNetwork(man.Config, fused, input, n)
	if err != nil {
		t.Fatal(err)
	}
	run, err := verify.RunNetwork(context.Background(), sims(t, "verilator")[0], man, dir, fused, input, n, golden, verify.GEMMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range run.Ops {
		if o.Mismatch.Count > 0 {
			t.Errorf("%s: %v", o.Op.Name, o.Mismatch)
		}
	}

	// A window the float executor must get exactly: sqrt(3² + 4²) = 5.
	one := &nn.Graph{Name: "lp", Source: "lp.onnx", Opset: 13,
		Inputs:  []nn.Value{{Name: "x", DType: nn.Float32, Shape: []int{1, 1, 1, 2}}},
		Outputs: []nn.Value{{Name: "y", DType: nn.Float32}}, Values: map[string]nn.Value{},
		Nodes: []*nn.Node{{Name: "lp", Op: "LpPool", Inputs: []string{"x"}, Outputs: []string{"y"},
			Attrs: map[string]nn.Attr{"kernel_shape": {Type: nn.AttrInts, Ints: []int64{1, 2}}}}}}
	out, err := nn.RunAll(one, map[string]*nn.Tensor{"x": nn.Float32Tensor([]int{1, 1, 1, 2}, []float32{3, -4})})
	if err != nil {
		t.Fatal(err)
	}
	if y := out["y"].Float32; len(y) != 1 || y[0] != 5 {
		t.Errorf("LpPool of (3, -4) = %v, want 5", y)
	}
}

func randNorm(r *rand.Rand, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(r.NormFloat64())
	}
	return out
}
