package ptq

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/dataset"
	"github.com/tpugen/tpugen/nn"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/verify"
)

// The committed QDQ models (PyTorch's qnnpack quantization, exported with
// QuantizeLinear/DequantizeLinear nodes; models/README.md).
var qdqModels = []struct {
	file, data string
	ops        string   // the lowered ops' kinds
	acts       []string // each layer's fused activation, in order
	perChannel bool
	agree      float64 // share of test images on which the int8 golden network and the QDQ graph agree, at least
}{
	{"lenet5_mnist_qdq.onnx", dataset.MNIST, "layer layer flatten layer layer layer softmax",
		[]string{"relu", "relu", "relu", "relu", ""}, false, 0.98},
	{"lenet5_mnist_qdq_pc.onnx", dataset.MNIST, "layer layer flatten layer layer layer softmax",
		[]string{"relu", "relu", "relu", "relu", ""}, true, 0.98},
	{"fashion_cnn_qdq.onnx", dataset.Fashion, "layer layer group-conv layer add layer pool flatten layer softmax",
		[]string{"relu6", "relu6", "relu6", "", "relu6", ""}, false, 0.95},
	{"fashion_cnn_qdq_pc.onnx", dataset.Fashion, "layer layer group-conv layer add layer pool flatten layer softmax",
		[]string{"relu6", "relu6", "relu6", "", "relu6", ""}, true, 0.95},
}

// TestQDQModels lowers the four committed QDQ models keeping their own
// quantization, checks the network against the model's constants, and runs
// 200 test images through the int8 golden network and through the QDQ
// graph itself on nn's executor (ONNX semantics): their top-1 classes must
// agree on nearly every image (the hardware requantizes in TFLite's fixed
// point, ONNX in float32: an LSB apart here and there).
func TestQDQModels(t *testing.T) {
	for _, m := range qdqModels {
		t.Run(m.file, func(t *testing.T) {
			path := filepath.Join("..", "..", "models", m.file)
			ref, err := nn.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			g, err := nn.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			net, err := Quantize(g, Options{})
			if err != nil {
				t.Fatal(err)
			}
			checkQDQNetwork(t, ref, net, m.ops, m.acts, m.perChannel)
			if m.data == dataset.Fashion {
				if _, err := os.Stat(dataset.FashionDir); err != nil && os.Getenv("TPUGEN_REQUIRE_SIMS") == "" {
					t.Skip("dataset-fashion-mnist is not installed (scripts/setup.sh installs it)")
				}
			}
			test, err := dataset.Load(m.data, dataset.Test)
			if err != nil {
				t.Fatal(err)
			}
			const images = 200
			agree, golden, onnx := compareWithQDQGraph(t, ref, net, test.Slice(images))
			t.Logf("%d test images: top-1 agree on %d; labels: int8 golden %d, QDQ graph %d", images, agree, golden, onnx)
			if float64(agree) < m.agree*images {
				t.Errorf("top-1 of the int8 network and the QDQ graph agree on %d of %d images, want at least %.0f%%", agree, images, 100*m.agree)
			}
		})
	}
}

// checkQDQNetwork compares the lowered network with the model's own
// constants: every tensor's parameters are its QuantizeLinear's (uint8
// zero point less 128), each layer's weights and bias are the int8 and
// int32 constants behind its DequantizeLinear nodes (in OHWI order), its
// multipliers come from input scale × weight scale / output scale, and its
// clamp is the Relu's or ReLU6's range in the output's codes.
func checkQDQNetwork(t *testing.T, ref *nn.Graph, net *compile.Network, ops string, acts []string, perChannel bool) {
	t.Helper()
	var kinds []string
	for _, op := range net.Ops {
		kinds = append(kinds, op.Kind.String())
	}
	if got := strings.Join(kinds, " "); got != ops {
		t.Fatalf("ops %q, want %q", got, ops)
	}
	for _, name := range append([]string{net.Input}, opOutputs(net)...) {
		want, ok := refActivationParams(ref, name)
		if !ok {
			t.Errorf("no QuantizeLinear reads %q in the model", name)
			continue
		}
		if got := net.Tensors[name].Params; got != want {
			t.Errorf("tensor %q has %+v, the model's QuantizeLinear %+v", name, got, want)
		}
		// refActivationParams accepts uint8 codes only.
		if !net.Tensors[name].Uint8 {
			t.Errorf("tensor %q is uint8 in the model, not marked Uint8", name)
		}
	}
	// An average pool on the host carries ONNX Runtime's view of its
	// quantization: the tensors' scales and zero points, uint8 codes.
	for _, op := range net.Ops {
		if op.Kind != compile.OpPool || op.PoolKind != arch.AveragePool {
			continue
		}
		in, out := net.Tensors[op.Inputs[0]].Params, net.Tensors[op.Output].Params
		want := quant.FloatAverage{InScale: in.Scale, OutScale: out.Scale, InZeroPoint: in.ZeroPoint, OutZeroPoint: out.ZeroPoint, Offset: 128}
		if op.Average == nil || *op.Average != want {
			t.Errorf("average pool %s: float parameters %+v, want %+v", op.Name, op.Average, want)
		}
	}
	layer, has128 := 0, false
	for _, op := range net.Ops {
		l := op.Layer
		if l == nil {
			continue
		}
		n := refNode(ref, op.Name)
		if n == nil {
			t.Fatalf("op %s: no node of that name in the model", op.Name)
		}
		w, wScale := refConstant(t, ref, n.Input(1))
		b, bScale := refConstant(t, ref, n.Input(2))
		if w.DType != nn.Int8 || b.DType != nn.Int32 {
			t.Fatalf("%s: weights %v, bias %v", op.Name, w, b)
		}
		if perChannel != (len(wScale) > 1) {
			t.Errorf("%s: %d weight scales, per channel %v", op.Name, len(wScale), perChannel)
		}
		units := l.WeightShape.N
		inS, out := net.Tensors[op.Inputs[0]].Params.Scale, net.Tensors[op.Output].Params
		ws := make([]float32, units)
		for c := range ws {
			ws[c] = wScale[min(c, len(wScale)-1)]
			if got, want := bScale[min(c, len(bScale)-1)], inS*ws[c]; got != want {
				t.Errorf("%s channel %d: bias scale %v, input × weight scale %v", op.Name, c, got, want)
			}
		}
		if want := ohwi(w); !equalSlices(l.Weights, want) {
			t.Errorf("%s: weights differ from the model's int8 constant", op.Name)
		}
		for _, v := range l.Weights {
			has128 = has128 || v == -128
		}
		if !equalSlices(l.Bias, b.Int32) {
			t.Errorf("%s: bias %v, the model's %v", op.Name, l.Bias, b.Int32)
		}
		mul, shift := quant.OutputMultipliers(inS, ws, out.Scale)
		if !equalSlices(l.Requant.Multipliers, mul) || !equalSlices(l.Requant.Shifts, shift) || l.Requant.ZeroPoint != out.ZeroPoint {
			t.Errorf("%s: requantization %+v, want multipliers %v, shifts %v, zero point %d", op.Name, l.Requant, mul, shift, out.ZeroPoint)
		}
		lo, hi := int32(-128), int32(127)
		switch acts[layer] {
		case "relu":
			lo = max(lo, out.ZeroPoint)
		case "relu6":
			lo, hi = max(lo, out.ZeroPoint), min(hi, out.ZeroPoint+int32(math.Round(6/float64(out.Scale))))
		}
		if glo, ghi := l.Requant.Range(); glo != lo || ghi != hi {
			t.Errorf("%s: clamp [%d, %d], want [%d, %d] (%s)", op.Name, glo, ghi, lo, hi, acts[layer])
		}
		layer++
	}
	// Per-tensor symmetric weights span -128..127 (scale max|w|/127.5),
	// per-channel ones -127..127: the model's integers are used as they are.
	if has128 == perChannel {
		t.Errorf("weights reach -128: %v, per channel %v", has128, perChannel)
	}
}

// compareWithQDQGraph runs the test images through the golden int8
// network (pixels / 255 quantized with the input's parameters) and the
// QDQ graph on nn's executor, and counts the images whose top-1 classes
// agree, and those each gets right.
func compareWithQDQGraph(t *testing.T, ref *nn.Graph, net *compile.Network, test *dataset.Set) (agree, golden, onnx int) {
	t.Helper()
	n := test.Len()
	in := net.Tensors[net.Input].Params
	x := make([]float32, 0, n*28*28)
	q := make([]int8, 0, n*28*28)
	for _, img := range test.Images {
		for _, px := range img {
			f := float32(px) / 255
			x = append(x, f)
			q = append(q, int8(in.Quantize(f)))
		}
	}
	want, err := nn.Run(ref, map[string]*nn.Tensor{ref.Inputs[0].Name: nn.Float32Tensor([]int{n, 1, 28, 28}, x)})
	if err != nil {
		t.Fatal(err)
	}
	vals, err := verify.GoldenNetwork(arch.Config{Rounding: arch.DoubleRounding}, net, q, n)
	if err != nil {
		t.Fatal(err)
	}
	probs := want[ref.Outputs[0].Name].Float32
	logits := vals[net.Ops[len(net.Ops)-1].Inputs[0]].Data // the softmax's input
	classes := len(probs) / n
	for i := 0; i < n; i++ {
		o, g := argmax(probs[i*classes:(i+1)*classes]), argmax(logits[i*classes:(i+1)*classes])
		if o == g {
			agree++
		}
		if o == test.Labels[i] {
			onnx++
		}
		if g == test.Labels[i] {
			golden++
		}
	}
	return agree, golden, onnx
}

func argmax[T int8 | float32](v []T) int {
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	return best
}

func equalSlices[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func opOutputs(net *compile.Network) []string {
	var names []string
	for _, op := range net.Ops {
		if op.Kind != compile.OpSoftmax {
			names = append(names, op.Output)
		}
	}
	return names
}

func refNode(g *nn.Graph, name string) *nn.Node {
	for _, n := range g.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// refActivationParams reads the parameters of the QuantizeLinear that
// reads a float tensor of the unmodified model, as int8 parameters.
func refActivationParams(g *nn.Graph, tensor string) (quant.Params, bool) {
	for _, n := range g.Consumers(tensor) {
		if n.Op != "QuantizeLinear" {
			continue
		}
		scale, zp := g.Initializers[n.Input(1)], g.Initializers[n.Input(2)]
		if zp.DType != nn.Uint8 {
			return quant.Params{}, false
		}
		return quant.Params{Scale: scale.Float32[0], ZeroPoint: int32(zp.Uint8[0]) - 128, DType: quant.Int8}, true
	}
	return quant.Params{}, false
}

// refConstant follows a DequantizeLinear of a constant in the unmodified
// model to the constant and its scales.
func refConstant(t *testing.T, g *nn.Graph, name string) (*nn.Tensor, []float32) {
	t.Helper()
	dq := g.Producer(name)
	if dq == nil || dq.Op != "DequantizeLinear" {
		t.Fatalf("%q is not written by a DequantizeLinear", name)
	}
	c, ok := g.Initializers[dq.Input(0)]
	if !ok {
		t.Fatalf("%v does not read a constant", dq)
	}
	return c, g.Initializers[dq.Input(1)].Float32
}

// ohwi reorders ONNX weights, O×I×kH×kW (or O×I for Gemm with transB),
// output channel major: O×kH×kW×I.
func ohwi(w *nn.Tensor) []int8 {
	if len(w.Shape) == 2 {
		return w.Int8
	}
	o, ci, kh, kw := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	out := make([]int8, len(w.Int8))
	for oc := 0; oc < o; oc++ {
		for c := 0; c < ci; c++ {
			for y := 0; y < kh; y++ {
				for x := 0; x < kw; x++ {
					out[((oc*kh+y)*kw+x)*ci+c] = w.Int8[((oc*ci+c)*kh+y)*kw+x]
				}
			}
		}
	}
	return out
}

// qdqBuilder writes a small QDQ model the way PyTorch's exporter does:
// QuantizeLinear, a no-op Cast, DequantizeLinear between ops; weights and
// biases as integer constants through DequantizeLinear, the bias's int32
// zero point from ConstantOfShape and Cast.
type qdqBuilder struct {
	g *nn.Graph
	n int
}

func (b *qdqBuilder) name(base string) string {
	b.n++
	return base + "_" + strconv.Itoa(b.n)
}

func (b *qdqBuilder) init(t *nn.Tensor) string {
	name := b.name("c")
	b.g.Initializers[name] = t
	return name
}

func (b *qdqBuilder) node(op string, in []string, attrs map[string]nn.Attr) string {
	out := b.name(strings.ToLower(op))
	b.g.Nodes = append(b.g.Nodes, &nn.Node{Name: b.name(op), Op: op, Inputs: in, Outputs: []string{out}, Attrs: attrs})
	return out
}

// qdq quantizes x (uint8, scalar scale and zero point) and dequantizes it
// again, returning the float tensor the next op reads.
func (b *qdqBuilder) qdq(x string, scale float32, zp uint8) string {
	s := func() string { return b.init(nn.Float32Tensor([]int{}, []float32{scale})) }
	z := func() string { return b.init(nn.Uint8Tensor([]int{}, []uint8{zp})) }
	q := b.node("QuantizeLinear", []string{x, s(), z()}, nil)
	c := b.node("Cast", []string{q}, map[string]nn.Attr{"to": {Type: nn.AttrInt, I: int64(nn.Uint8)}})
	return b.node("DequantizeLinear", []string{c, s(), z()}, nil)
}

// constant dequantizes an integer constant (per tensor when one scale,
// else along axis 0).
func (b *qdqBuilder) constant(codes *nn.Tensor, scales []float32, zps *nn.Tensor) string {
	var attrs map[string]nn.Attr
	if len(scales) > 1 {
		attrs = map[string]nn.Attr{"axis": {Type: nn.AttrInt, I: 0}}
	}
	return b.node("DequantizeLinear", []string{b.init(codes), b.init(nn.Float32Tensor([]int{len(scales)}, scales)), b.init(zps)}, attrs)
}

// layer adds a Conv or Gemm reading x (at scale inScale) with random int8
// weights of the shape, per-channel scales, and an int32 bias at the
// accumulator's scale.
func (b *qdqBuilder) layer(r *rand.Rand, op, x string, inScale float32, shape []int, attrs map[string]nn.Attr) string {
	units, per := shape[0], 1
	for _, d := range shape[1:] {
		per *= d
	}
	w := make([]int8, units*per)
	for i := range w {
		w[i] = int8(r.IntN(255) - 127)
	}
	ws, bs, bias := make([]float32, units), make([]float32, units), make([]int32, units)
	for c := range ws {
		ws[c] = float32(0.002 + 0.004*r.Float64())
		bs[c] = inScale * ws[c]
		bias[c] = int32(r.IntN(2001) - 1000)
	}
	wq := b.constant(nn.Int8Tensor(shape, w), ws, nn.Int8Tensor([]int{units}, make([]int8, units)))
	zp := b.node("ConstantOfShape", []string{b.init(nn.Int64Tensor([]int{1}, []int64{int64(units)}))},
		map[string]nn.Attr{"value": {Type: nn.AttrTensor, T: nn.Int32Tensor([]int{1}, []int32{0})}})
	zp = b.node("Cast", []string{zp}, map[string]nn.Attr{"to": {Type: nn.AttrInt, I: int64(nn.Int32)}})
	bq := b.node("DequantizeLinear", []string{b.init(nn.Int32Tensor([]int{units}, bias)), b.init(nn.Float32Tensor([]int{units}, bs)), zp},
		map[string]nn.Attr{"axis": {Type: nn.AttrInt, I: 0}})
	return b.node(op, []string{x, wq, bq}, attrs)
}

// Scales of the small QDQ model's tensors.
const (
	qdqInScale   = float32(1.0 / 64)
	qdqConvScale = float32(0.05)
	qdqFCScale   = float32(0.1)
)

// qdqCNN is x (1×1×8×8) → Conv 3x3 pads 1 (1→4) → Relu → MaxPool 2x2 →
// Flatten → Gemm 64→10 (transB) → Softmax, quantized as PyTorch exports
// it (Conv and Relu fused; pooling and Flatten requantized with their
// input's parameters).
func qdqCNN(r *rand.Rand) *nn.Graph {
	ints := func(v ...int64) nn.Attr { return nn.Attr{Type: nn.AttrInts, Ints: v} }
	b := &qdqBuilder{g: &nn.Graph{Name: "qdq", Source: "qdq.onnx", Opset: 13,
		Inputs:       []nn.Value{{Name: "x", DType: nn.Float32, Shape: []int{-1, 1, 8, 8}}},
		Outputs:      []nn.Value{{Name: "p", DType: nn.Float32}},
		Initializers: map[string]*nn.Tensor{}, Values: map[string]nn.Value{}}}
	x := b.qdq("x", qdqInScale, 128)
	x = b.layer(r, "Conv", x, qdqInScale, []int{4, 1, 3, 3}, map[string]nn.Attr{"pads": ints(1, 1, 1, 1), "kernel_shape": ints(3, 3)})
	x = b.node("Relu", []string{x}, nil)
	x = b.qdq(x, qdqConvScale, 0)
	x = b.node("MaxPool", []string{x}, map[string]nn.Attr{"kernel_shape": ints(2, 2), "strides": ints(2, 2)})
	x = b.qdq(x, qdqConvScale, 0)
	x = b.node("Flatten", []string{x}, nil)
	x = b.qdq(x, qdqConvScale, 0)
	x = b.layer(r, "Gemm", x, qdqConvScale, []int{10, 64}, map[string]nn.Attr{"transB": {Type: nn.AttrInt, I: 1}})
	x = b.qdq(x, qdqFCScale, 120)
	b.g.Nodes = append(b.g.Nodes, &nn.Node{Name: "softmax", Op: "Softmax", Inputs: []string{x}, Outputs: []string{"p"}})
	return b.g
}

// TestQuantizeQDQ lowers the small QDQ model: structure, parameters (uint8
// zero points as int8), the model's integers, and the int8 golden network
// against the QDQ graph on nn's executor, logit by logit.
func TestQuantizeQDQ(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	net, err := Quantize(qdqCNN(r), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref := qdqCNN(rand.New(rand.NewPCG(5, 6)))
	var kinds []string
	for _, op := range net.Ops {
		kinds = append(kinds, op.Kind.String())
	}
	if got := strings.Join(kinds, " "); got != "layer flatten layer softmax" {
		t.Fatalf("ops %q, want the conv layer (relu, max pool fused), flatten, fc layer, softmax", got)
	}
	want := map[string]quant.Params{
		net.Input:         {Scale: qdqInScale, ZeroPoint: 0, DType: quant.Int8},
		net.Ops[0].Output: {Scale: qdqConvScale, ZeroPoint: -128, DType: quant.Int8},
		net.Ops[2].Output: {Scale: qdqFCScale, ZeroPoint: -8, DType: quant.Int8},
	}
	for name, w := range want {
		if got := net.Tensors[name].Params; got != w {
			t.Errorf("tensor %q: %+v, want %+v", name, got, w)
		}
	}
	conv := net.Ops[0].Layer
	if conv.Pool == nil || conv.Pool.Kind != arch.MaxPool {
		t.Errorf("conv pool %+v, want a fused max pool", conv.Pool)
	}
	if lo, hi := conv.Requant.Range(); lo != -128 || hi != 127 {
		t.Errorf("conv clamp [%d, %d]: a ReLU at zero point -128 clamps nothing", lo, hi)
	}
	if w, _ := refConstant(t, ref, refNode(ref, net.Ops[2].Name).Input(1)); !equalSlices(net.Ops[2].Layer.Weights, w.Int8) {
		t.Error("fc weights are not the model's int8 constant")
	}
	logits := net.Ops[len(net.Ops)-1].Inputs[0]
	lq := net.Tensors[logits].Params
	worst := 0.0
	for i := 0; i < 50; i++ {
		x := randFloats(r, 64, 1)
		for j := range x {
			x[j] = float32(math.Abs(float64(x[j]))) // the input's range is 0..2
		}
		all, err := nn.RunAll(ref, map[string]*nn.Tensor{"x": nn.Float32Tensor([]int{1, 1, 8, 8}, x)})
		if err != nil {
			t.Fatal(err)
		}
		vals, err := verify.GoldenNetwork(arch.Config{Rounding: arch.DoubleRounding}, net, quant.QuantizeInt8(x, net.Tensors[net.Input].Params), 1)
		if err != nil {
			t.Fatal(err)
		}
		got := quant.DequantizeInt8(vals[logits].Data, lq)
		// The softmax reads the last DequantizeLinear's output.
		w := all[refNode(ref, "softmax").Input(0)].Float32
		for j := range w {
			worst = math.Max(worst, math.Abs(float64(got[j]-w[j]))/float64(lq.Scale))
		}
	}
	t.Logf("logits within %.0f output steps of the QDQ graph's", worst)
	if worst > 2 {
		t.Errorf("logits differ by up to %.0f output steps from the QDQ graph's, want at most 2", worst)
	}
}

// TestQuantizeQDQVariants: what the lowering accepts beyond the exporter's
// usual output, and what it refuses with one line naming the node.
func TestQuantizeQDQVariants(t *testing.T) {
	// find returns the n-th node of an operator.
	find := func(g *nn.Graph, op string, nth int) *nn.Node {
		for _, n := range g.Nodes {
			if n.Op == op {
				if nth == 0 {
					return n
				}
				nth--
			}
		}
		t.Fatalf("no %s number %d", op, nth)
		return nil
	}
	setScale := func(g *nn.Graph, n *nn.Node, scale float32) {
		name := n.Input(1) + "_changed"
		g.Initializers[name] = nn.Float32Tensor([]int{}, []float32{scale})
		n.Inputs[1] = name
	}
	tests := []struct {
		desc   string
		change func(g *nn.Graph)
		err    string                                   // "" when it lowers
		check  func(t *testing.T, net *compile.Network) // when it lowers
	}{
		{desc: "bias at another scale is requantized", change: func(g *nn.Graph) {
			bias := g.Producer(find(g, "Gemm", 0).Input(2))
			s := g.Initializers[bias.Input(1)]
			doubled := make([]float32, len(s.Float32))
			for i, v := range s.Float32 {
				doubled[i] = 2 * v
			}
			g.Initializers[bias.Input(1)] = nn.Float32Tensor(s.Shape, doubled)
		}, check: func(t *testing.T, net *compile.Network) {
			ref := qdqCNN(rand.New(rand.NewPCG(5, 6)))
			b, _ := refConstant(t, ref, refNode(ref, net.Ops[2].Name).Input(2))
			for c, v := range net.Ops[2].Layer.Bias {
				if v != 2*b.Int32[c] {
					t.Errorf("channel %d: bias %d, want the model's %d at twice the scale: %d", c, v, b.Int32[c], 2*b.Int32[c])
				}
			}
		}},
		{desc: "weights quantized in the graph", change: func(g *nn.Graph) {
			// The fc's weights as float, through a QuantizeLinear that
			// gives back the same int8 codes.
			dq := g.Producer(find(g, "Gemm", 0).Input(1))
			codes, scales := g.Initializers[dq.Input(0)], g.Initializers[dq.Input(1)].Float32
			w := make([]float32, len(codes.Int8))
			for i, v := range codes.Int8 {
				w[i] = float32(v) * scales[i/64]
			}
			g.Initializers["fc_w"] = nn.Float32Tensor(codes.Shape, w)
			q := &nn.Node{Name: "fc_w_q", Op: "QuantizeLinear", Inputs: []string{"fc_w", dq.Input(1), dq.Input(2)}, Outputs: []string{"fc_w_q"}, Attrs: dq.Attrs}
			g.Nodes = append([]*nn.Node{q}, g.Nodes...)
			dq.Inputs[0] = "fc_w_q"
		}, check: func(t *testing.T, net *compile.Network) {
			ref := qdqCNN(rand.New(rand.NewPCG(5, 6)))
			if w, _ := refConstant(t, ref, refNode(ref, net.Ops[2].Name).Input(1)); !equalSlices(net.Ops[2].Layer.Weights, w.Int8) {
				t.Error("fc weights are not the codes the QuantizeLinear gives")
			}
		}},
		{desc: "int8 activations keep their zero point", change: func(g *nn.Graph) {
			for _, n := range g.Nodes {
				if (n.Op == "QuantizeLinear" || n.Op == "DequantizeLinear") && len(n.Inputs) > 2 {
					if zp := g.Initializers[n.Input(2)]; zp != nil && zp.DType == nn.Uint8 {
						g.Initializers[n.Input(2)] = nn.Int8Tensor([]int{}, []int8{int8(int(zp.Uint8[0]) - 128)})
					}
				}
				if n.Op == "Cast" && n.AttrInt("to", 0) == int64(nn.Uint8) {
					n.Attrs["to"] = nn.Attr{Type: nn.AttrInt, I: int64(nn.Int8)}
				}
			}
		}, check: func(t *testing.T, net *compile.Network) {
			if p := net.Tensors[net.Ops[2].Output].Params; p.ZeroPoint != -8 {
				t.Errorf("fc output zero point %d, want -8", p.ZeroPoint)
			}
		}},
		{desc: "a dequantized graph output", change: func(g *nn.Graph) {
			sm := find(g, "Softmax", 0)
			g.Nodes = g.Nodes[:len(g.Nodes)-1]
			dq := g.Producer(sm.Input(0))
			dq.Outputs[0] = "p"
		}, check: func(t *testing.T, net *compile.Network) {
			if last := net.Ops[len(net.Ops)-1]; last.Kind != compile.OpLayer || net.Output != "p" || last.Output != "p" {
				t.Errorf("last op %s writes %q, network output %q; want the fc layer writing p", last.Kind, last.Output, net.Output)
			}
		}},
		{desc: "requantizing pool", change: func(g *nn.Graph) {
			q := find(g, "QuantizeLinear", 2) // after the max pool
			setScale(g, q, 0.07)
			setScale(g, g.Consumers(g.Consumers(q.Output(0))[0].Output(0))[0], 0.07)
		}, err: "a requantization inside the op is not supported"},
		{desc: "dequantized with other parameters", change: func(g *nn.Graph) {
			setScale(g, find(g, "DequantizeLinear", 4), 0.07)
		}, err: "with scale 0.07, zero point -128; it was quantized with scale 0.05"},
		{desc: "asymmetric weights", change: func(g *nn.Graph) {
			zp := find(g, "DequantizeLinear", 1).Input(2)
			g.Initializers[zp] = nn.Int8Tensor([]int{4}, []int8{0, 3, 0, 0})
		}, err: "zero point 3: the matrix unit takes symmetric weights"},
		{desc: "weights along the input axis", change: func(g *nn.Graph) {
			dq := g.Producer(find(g, "Gemm", 0).Input(1))
			g.Initializers[dq.Input(1)] = nn.Float32Tensor([]int{64}, make64(0.01))
			g.Initializers[dq.Input(2)] = nn.Int8Tensor([]int{64}, make([]int8, 64))
			dq.Attrs["axis"] = nn.Attr{Type: nn.AttrInt, I: 1}
		}, err: "quantized along axis 1, not along the output channels (axis 0)"},
		{desc: "per-channel activation", change: func(g *nn.Graph) {
			q := find(g, "QuantizeLinear", 1)
			g.Initializers[q.Input(1)] = nn.Float32Tensor([]int{4}, []float32{0.05, 0.05, 0.05, 0.05})
			g.Initializers[q.Input(2)] = nn.Uint8Tensor([]int{4}, []uint8{0, 0, 0, 0})
			q.Attrs = map[string]nn.Attr{"axis": {Type: nn.AttrInt, I: 1}}
		}, err: "must be one float constant (per tensor)"},
		{desc: "quantized output", change: func(g *nn.Graph) {
			g.Nodes = g.Nodes[:len(g.Nodes)-3] // Softmax, its DequantizeLinear and Cast
			q := g.Nodes[len(g.Nodes)-1]
			q.Outputs[0] = "p"
			g.Outputs[0].DType = nn.Uint8
		}, err: "the network's output must be float"},
		{desc: "integer input", change: func(g *nn.Graph) {
			g.Nodes = g.Nodes[2:] // the input's QuantizeLinear and Cast
			g.Inputs[0].DType = nn.Uint8
			g.Nodes[0].Inputs[0] = "x"
		}, err: `dequantizes "x", which no QuantizeLinear writes`},
	}
	for _, tc := range tests {
		g := qdqCNN(rand.New(rand.NewPCG(5, 6)))
		tc.change(g)
		net, err := Quantize(g, Options{})
		if tc.err == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.desc, err)
				continue
			}
			tc.check(t, net)
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "qdq.onnx: quantize: ") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want %q", tc.desc, err, tc.err)
		}
	}
}

func make64(v float32) []float32 {
	out := make([]float32, 64)
	for i := range out {
		out[i] = v
	}
	return out
}
