package ptq

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/dataset"
	"github.com/tpugen/tpugen/nn"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/verify"
)

func randFloats(r *rand.Rand, n int, scale float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(scale * r.NormFloat64())
	}
	return out
}

// smallCNN is a float model in ONNX's layout: Conv 3x3 (pads 1) 1->4,
// BatchNormalization, Relu, MaxPool 2x2, Flatten, Gemm 64->10 (transB),
// Softmax.
func smallCNN(r *rand.Rand) *nn.Graph {
	ints := func(v ...int64) nn.Attr { return nn.Attr{Type: nn.AttrInts, Ints: v} }
	ones := func(n int, v float32) []float32 {
		out := make([]float32, n)
		for i := range out {
			out[i] = v
		}
		return out
	}
	return &nn.Graph{Name: "small", Source: "small.onnx", Opset: 13,
		Inputs:  []nn.Value{{Name: "x", DType: nn.Float32, Shape: []int{1, 1, 8, 8}}},
		Outputs: []nn.Value{{Name: "p", DType: nn.Float32}},
		Initializers: map[string]*nn.Tensor{
			"w":     nn.Float32Tensor([]int{4, 1, 3, 3}, randFloats(r, 36, 0.5)),
			"b":     nn.Float32Tensor([]int{4}, randFloats(r, 4, 0.1)),
			"scale": nn.Float32Tensor([]int{4}, []float32{1.5, 0.5, 1, 2}),
			"shift": nn.Float32Tensor([]int{4}, []float32{0.1, -0.2, 0, 0.3}),
			"mean":  nn.Float32Tensor([]int{4}, []float32{0.05, 0, -0.1, 0.2}),
			"var":   nn.Float32Tensor([]int{4}, ones(4, 0.8)),
			"fw":    nn.Float32Tensor([]int{10, 64}, randFloats(r, 640, 0.2)),
			"fb":    nn.Float32Tensor([]int{10}, randFloats(r, 10, 0.1)),
		},
		Values: map[string]nn.Value{},
		Nodes: []*nn.Node{
			{Name: "conv", Op: "Conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"c"},
				Attrs: map[string]nn.Attr{"pads": ints(1, 1, 1, 1), "kernel_shape": ints(3, 3)}},
			{Name: "bn", Op: "BatchNormalization", Inputs: []string{"c", "scale", "shift", "mean", "var"}, Outputs: []string{"n"}},
			{Name: "relu", Op: "Relu", Inputs: []string{"n"}, Outputs: []string{"r"}},
			{Name: "pool", Op: "MaxPool", Inputs: []string{"r"}, Outputs: []string{"m"},
				Attrs: map[string]nn.Attr{"kernel_shape": ints(2, 2), "strides": ints(2, 2)}},
			{Name: "flat", Op: "Flatten", Inputs: []string{"m"}, Outputs: []string{"f"}},
			{Name: "fc", Op: "Gemm", Inputs: []string{"f", "fw", "fb"}, Outputs: []string{"l"},
				Attrs: map[string]nn.Attr{"transB": {Type: nn.AttrInt, I: 1}}},
			{Name: "softmax", Op: "Softmax", Inputs: []string{"l"}, Outputs: []string{"p"}},
		}}
}

// TestQuantizeSmallCNN quantizes a small CNN and checks the structure (BN
// folded, ReLU in the clamp, pooling fused, the flatten on the host) and
// that the int8 golden model's logits follow the float model's: the
// dequantized logits stay within a few output steps, and the predicted
// classes agree on nearly every input.
func TestQuantizeSmallCNN(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	g := smallCNN(r)
	float := smallCNN(rand.New(rand.NewPCG(1, 2)))
	var samples []*nn.Tensor
	for i := 0; i < 64; i++ {
		samples = append(samples, nn.Float32Tensor([]int{1, 1, 8, 8}, randFloats(r, 64, 1)))
	}
	net, err := Quantize(g, Options{Calib: quant.CalibConfig{Method: quant.MethodMinMax}, Samples: samples})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, op := range net.Ops {
		kinds = append(kinds, op.Kind.String())
	}
	if got := strings.Join(kinds, " "); got != "layer flatten layer softmax" {
		t.Fatalf("ops %q, want conv layer, flatten, fc layer, softmax", got)
	}
	conv := net.Ops[0].Layer
	if conv.Pool == nil || conv.Pool.Kind != arch.MaxPool || conv.Pool.KH != 2 || conv.Pool.SH != 2 {
		t.Errorf("conv pool %+v, want a fused 2x2/2 max pool", conv.Pool)
	}
	out := net.Tensors[net.Ops[0].Output]
	if lo, _ := conv.Requant.Range(); lo != max(-128, out.Params.ZeroPoint) {
		t.Errorf("ReLU clamp low %d, want the zero point %d", lo, out.Params.ZeroPoint)
	}
	if conv.Window.PadTop != 1 || conv.Window.PadRight != 1 || out.Shape != (quant.Shape{N: 1, H: 4, W: 4, C: 4}) {
		t.Errorf("conv window %+v, output %v", conv.Window, out.Shape)
	}
	logits := net.Ops[len(net.Ops)-1].Inputs[0]
	lq := net.Tensors[logits].Params
	cfg := arch.Config{Rounding: arch.DoubleRounding}
	agree, worst := 0, 0.0
	const trials = 100
	for i := 0; i < trials; i++ {
		x := randFloats(r, 64, 1)
		want, err := nn.RunAll(float, map[string]*nn.Tensor{"x": nn.Float32Tensor([]int{1, 1, 8, 8}, x)})
		if err != nil {
			t.Fatal(err)
		}
		in := quant.QuantizeInt8(x, net.Tensors[net.Input].Params)
		vals, err := verify.GoldenNetwork(cfg, net, in, 1)
		if err != nil {
			t.Fatal(err)
		}
		got := quant.DequantizeInt8(vals[logits].Data, lq)
		wl := want["l"].Float32
		bw, bg := 0, 0
		for j := range wl {
			worst = math.Max(worst, math.Abs(float64(got[j]-wl[j]))/float64(lq.Scale))
			if wl[j] > wl[bw] {
				bw = j
			}
			if got[j] > got[bg] {
				bg = j
			}
		}
		if bw == bg {
			agree++
		}
	}
	t.Logf("classes agree on %d of %d inputs; largest logit error %.1f output steps", agree, trials, worst)
	if agree < 95 || worst > 12 {
		t.Errorf("classes agree on %d of %d, largest logit error %.1f steps: want >= 95 and <= 12", agree, trials, worst)
	}
}

// TestQuantizeErrors: what the quantizer cannot lower is one line naming
// the node and the opset.
func TestQuantizeErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	sample := []*nn.Tensor{nn.Float32Tensor([]int{1, 1, 8, 8}, randFloats(r, 64, 1))}
	g := smallCNN(r)
	g.Nodes[2].Op = "Sigmoid"
	_, err := Quantize(g, Options{Samples: sample})
	if err == nil || !strings.Contains(err.Error(), `node "relu" (op Sigmoid)`) || !strings.Contains(err.Error(), "opset 13") || strings.Contains(err.Error(), "\n") {
		t.Errorf("Sigmoid after BN: %v", err)
	}
	if _, err := Quantize(smallCNN(r), Options{}); err == nil || !strings.Contains(err.Error(), "no calibration samples") {
		t.Errorf("no samples: %v", err)
	}
	bad := []*nn.Tensor{nn.Float32Tensor([]int{1, 64}, randFloats(r, 64, 1))}
	if _, err := Quantize(smallCNN(r), Options{Samples: bad}); err == nil || !strings.Contains(err.Error(), "want 1xCxHxW") {
		t.Errorf("bad sample shape: %v", err)
	}
}

// TestCalibrationMethods quantizes the committed LeNet and Fashion CNN with
// every calibration method and checks the int8 golden model's top-1 on 300
// test images stays within a point and a half of the float model's. (The
// entropy method once clipped ReLU6 outputs to a tenth of their range and
// lost 40 points on the Fashion CNN.)
func TestCalibrationMethods(t *testing.T) {
	for _, m := range []struct{ file, data string }{{"lenet5_mnist.onnx", "mnist"}, {"fashion_cnn.onnx", "fashion"}} {
		if m.data == "fashion" {
			if _, err := os.Stat(dataset.FashionDir); err != nil && os.Getenv("TPUGEN_REQUIRE_SIMS") == "" {
				t.Skip("dataset-fashion-mnist is not installed (scripts/setup.sh installs it)")
			}
		}
		train, err := dataset.Load(m.data, dataset.Train)
		if err != nil {
			t.Fatal(err)
		}
		test, err := dataset.Load(m.data, dataset.Test)
		if err != nil {
			t.Fatal(err)
		}
		image := func(px []byte) []float32 {
			f := make([]float32, len(px))
			for i, v := range px {
				f[i] = float32(v) / 255
			}
			return f
		}
		var samples []*nn.Tensor
		for i := 0; i < 100; i++ {
			samples = append(samples, nn.Float32Tensor([]int{1, 1, 28, 28}, image(train.Images[i])))
		}
		path := filepath.Join("..", "..", "models", m.file)
		float, err := nn.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		const n = 300
		floatTop1 := 0
		for i := 0; i < n; i++ {
			out, err := nn.Run(float, map[string]*nn.Tensor{float.Inputs[0].Name: nn.Float32Tensor([]int{1, 1, 28, 28}, image(test.Images[i]))})
			if err != nil {
				t.Fatal(err)
			}
			if argmax(out[float.Outputs[0].Name].Float32) == test.Labels[i] {
				floatTop1++
			}
		}
		for _, method := range []quant.Method{quant.MethodMinMax, quant.MethodPercentile, quant.MethodMSE, quant.MethodEntropy} {
			g, err := nn.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			net, err := Quantize(g, Options{Calib: quant.CalibConfig{Method: method}, Samples: samples})
			if err != nil {
				t.Fatal(err)
			}
			var input []int8
			for i := 0; i < n; i++ {
				input = append(input, quant.QuantizeInt8(image(test.Images[i]), net.Tensors[net.Input].Params)...)
			}
			vals, err := verify.GoldenNetwork(arch.Config{}, net, input, n)
			if err != nil {
				t.Fatal(err)
			}
			scores := vals[net.Output]
			per := scores.Shape.C
			top1 := 0
			for i := 0; i < n; i++ {
				row := scores.Data[i*per : (i+1)*per]
				best := 0
				for j := range row {
					if row[j] > row[best] {
						best = j
					}
				}
				if best == test.Labels[i] {
					top1++
				}
			}
			t.Logf("%s %v: float %d, int8 %d of %d", m.file, method, floatTop1, top1, n)
			if top1 < floatTop1-n*3/200 {
				t.Errorf("%s calibrated with %v: int8 top-1 %d of %d, float %d", m.file, method, top1, n, floatTop1)
			}
		}
	}
}
