package nn

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tpugen/tpugen/nn/onnxpb"
)

// convModel is a valid one-Conv model that the error cases perturb.
func convModel() tmodel {
	return tmodel{
		opset:   13,
		inputs:  []Value{{Name: "x", DType: Float32, Shape: []int{-1, 1, 4, 4}}},
		outputs: []Value{{Name: "y", DType: Float32}},
		inits:   map[string]*Tensor{"w": f32([]int{1, 1, 1, 1}, 2)},
		nodes: []tnode{{op: "Conv", name: "conv7", in: []string{"x", "w"}, out: []string{"y"},
			attrs: map[string]any{"strides": []int64{1, 1}}}},
	}
}

func TestParseErrors(t *testing.T) {
	valid := convModel()
	if _, err := Parse(valid.bytes(t), "model.onnx"); err != nil {
		t.Fatalf("valid model: %v", err)
	}
	with := func(f func(m *tmodel)) []byte {
		m := convModel()
		m.nodes = append([]tnode{}, m.nodes...)
		f(&m)
		return m.bytes(t)
	}
	withProto := func(f func(p *onnxpb.ModelProto)) []byte {
		p := convModel().proto()
		f(p)
		data, err := proto.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	full := valid.bytes(t)
	tests := []struct {
		desc        string
		data        []byte
		want        string // the whole message, or a part of it
		unsupported bool
	}{
		{"unsupported operator", with(func(m *tmodel) { m.nodes[0].op = "LSTM" }),
			`model.onnx: node "conv7" (op LSTM, opset 13): unsupported operator`, true},
		{"other domain", withProto(func(p *onnxpb.ModelProto) { p.Graph.Node[0].Domain = proto.String("com.microsoft") }),
			`node "conv7" (op com.microsoft.Conv, opset 13): unsupported operator`, true},
		{"truncated", full[:len(full)-7], "model.onnx: not an ONNX model (truncated or corrupt)", false},
		{"not protobuf", []byte("this is not a model\n\x00\xff\xff\xff"), "not an ONNX model", false},
		{"empty", nil, "model has no graph", false},
		{"opset too new", with(func(m *tmodel) { m.opset = 18 }), "opset 18 unsupported (1 to 17)", true},
		{"op older than implemented", with(func(m *tmodel) {
			m.opset = 6
			m.nodes[0] = tnode{op: "Add", in: []string{"x", "x"}, out: []string{"y"}}
		}), `node "Add_0" (op Add, opset 6): unsupported before opset 7`, true},
		{"op newer than opset", with(func(m *tmodel) {
			m.opset = 9
			m.nodes[0] = tnode{op: "QuantizeLinear", in: []string{"x", "w"}, out: []string{"y"}}
		}), "unsupported before opset 10", true},
		{"stride 0", with(func(m *tmodel) { m.nodes[0].attrs = map[string]any{"strides": []int64{0, 1}} }),
			`node "conv7" (op Conv, opset 13): attribute strides=[0 1] out of range [1, 65536]`, false},
		{"negative pad", with(func(m *tmodel) { m.nodes[0].attrs = map[string]any{"pads": []int64{0, -1, 0, 0}} }),
			"attribute pads=[0 -1 0 0] out of range", false},
		{"odd pads", with(func(m *tmodel) { m.nodes[0].attrs = map[string]any{"pads": []int64{1, 1, 1}} }),
			"attribute pads has 3 values", false},
		{"group 0", with(func(m *tmodel) { m.nodes[0].attrs = map[string]any{"group": 0} }),
			"attribute group=0 out of range", false},
		{"auto_pad", with(func(m *tmodel) { m.nodes[0].attrs = map[string]any{"auto_pad": "SAME"} }),
			`attribute auto_pad="SAME" out of range`, false},
		{"pads with auto_pad", with(func(m *tmodel) {
			m.nodes[0].attrs = map[string]any{"auto_pad": "VALID", "pads": []int64{0, 0, 0, 0}}
		}), "exclusive", false},
		{"axes disagree", with(func(m *tmodel) {
			m.nodes[0].attrs = map[string]any{"strides": []int64{1, 1}, "dilations": []int64{1, 1, 1}}
		}), "attribute dilations has 3 values for 2 spatial axes", false},
		{"unknown attribute", with(func(m *tmodel) { m.nodes[0].attrs = map[string]any{"alpha": float32(1)} }),
			`attribute "alpha" unsupported`, true},
		{"attribute type", with(func(m *tmodel) { m.nodes[0].attrs = map[string]any{"group": float32(1)} }),
			`attribute "group" is float, want int`, false},
		{"leaky alpha NaN", with(func(m *tmodel) {
			m.nodes[0] = tnode{op: "LeakyRelu", in: []string{"x"}, out: []string{"y"}, attrs: map[string]any{"alpha": float32(nan())}}
		}), "attribute alpha=NaN out of range", false},
		{"ceil_mode 2", with(func(m *tmodel) {
			m.nodes[0] = tnode{op: "MaxPool", in: []string{"x"}, out: []string{"y"}, attrs: map[string]any{"kernel_shape": []int64{2, 2}, "ceil_mode": 2}}
		}), "attribute ceil_mode=2 out of range (0 or 1)", false},
		{"pool without kernel", with(func(m *tmodel) {
			m.nodes[0] = tnode{op: "AveragePool", in: []string{"x"}, out: []string{"y"}}
		}), "attribute kernel_shape is required", false},
		{"clip attribute at 13", with(func(m *tmodel) {
			m.nodes[0] = tnode{op: "Clip", in: []string{"x"}, out: []string{"y"}, attrs: map[string]any{"min": float32(0)}}
		}), "attribute min is an input from opset 11", false},
		{"too few inputs", with(func(m *tmodel) { m.nodes[0].in = []string{"x"} }), "1 inputs, want 2 to 3", false},
		{"undefined input", with(func(m *tmodel) { m.nodes[0].in = []string{"x", "nope"} }),
			`input "nope" is not defined before use`, false},
		{"output twice", with(func(m *tmodel) {
			m.nodes = append(m.nodes, tnode{op: "Relu", in: []string{"x"}, out: []string{"y"}})
		}), `node "Relu_1" (op Relu, opset 13): output "y" is defined twice`, false},
		{"output not computed", with(func(m *tmodel) { m.outputs[0].Name = "z" }), `output "z" is not computed by the graph`, false},
		{"double input", with(func(m *tmodel) { m.inputs[0].DType = DType(11) }), `input "x": data type DOUBLE unsupported`, true},
		{"raw data short", withProto(func(p *onnxpb.ModelProto) { p.Graph.Initializer[0].RawData = []byte{1, 2} }),
			`initializer "w": float32 tensor of shape [1 1 1 1] has 2 bytes of raw data, want 4`, false},
		{"raw data long", withProto(func(p *onnxpb.ModelProto) { p.Graph.Initializer[0].RawData = make([]byte, 8) }),
			"has 8 bytes of raw data, want 4", false},
		{"external data", withProto(func(p *onnxpb.ModelProto) {
			p.Graph.Initializer[0].DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
		}), `initializer "w": external data unsupported`, true},
		{"negative dim", withProto(func(p *onnxpb.ModelProto) { p.Graph.Initializer[0].Dims[0] = -1 }),
			`initializer "w": dimension 0 is -1`, false},
		{"huge dims", withProto(func(p *onnxpb.ModelProto) { p.Graph.Initializer[0].Dims = []int64{1 << 20, 1 << 20, 1 << 20} }),
			"more than", false},
		{"no opset", withProto(func(p *onnxpb.ModelProto) { p.OpsetImport = nil }), "imports no default-domain opset", false},
		{"constant without value", with(func(m *tmodel) {
			m.nodes[0] = tnode{op: "Constant", out: []string{"y"}}
		}), "want exactly one value attribute", false},
	}
	for _, tc := range tests {
		_, err := Parse(tc.data, "model.onnx")
		switch {
		case err == nil:
			t.Errorf("%s: no error, want %q", tc.desc, tc.want)
		case strings.Contains(err.Error(), "\n"):
			t.Errorf("%s: error has several lines: %q", tc.desc, err)
		case !strings.HasPrefix(err.Error(), "model.onnx: "):
			t.Errorf("%s: error %q does not start with the source", tc.desc, err)
		case !strings.Contains(err.Error(), tc.want):
			t.Errorf("%s: error %q, want %q", tc.desc, err, tc.want)
		case errors.Is(err, ErrUnsupported) != tc.unsupported:
			t.Errorf("%s: errors.Is(%q, ErrUnsupported) = %v", tc.desc, err, !tc.unsupported)
		}
	}
}

func nan() float32 {
	var zero float32
	return zero / zero
}

func TestParseGraph(t *testing.T) {
	m := tmodel{
		opset:   11,
		inputs:  []Value{{Name: "x", DType: Float32, Shape: []int{-1, 3}}, {Name: "w", DType: Float32, Shape: []int{3, 2}}},
		outputs: []Value{{Name: "y", DType: Float32, Shape: []int{-1, 2}}},
		inits:   map[string]*Tensor{"w": seq(3, 2)},
		nodes: []tnode{
			{op: "MatMul", name: "mm", in: []string{"x", "w"}, out: []string{"t"}},
			{op: "Relu", in: []string{"t"}, out: []string{"y"}},
		},
	}
	g := m.parse(t)
	if g.Opset != 11 || g.Source != "test.onnx" || g.Name != "test" {
		t.Errorf("opset %d, source %q, name %q", g.Opset, g.Source, g.Name)
	}
	// An initializer listed among the inputs (IR < 4) is a constant.
	if len(g.Inputs) != 1 || g.Inputs[0].Name != "x" || !agrees([]int{-1, 3}, g.Inputs[0].Shape) || g.Inputs[0].Shape[0] != -1 {
		t.Errorf("inputs %v, want x with shape [-1 3]", g.Inputs)
	}
	if len(g.Nodes) != 2 || g.Nodes[0].Name != "mm" || g.Nodes[1].Name != "Relu_1" {
		t.Errorf("nodes %v %v, want mm and Relu_1", g.Nodes[0], g.Nodes[1])
	}
	if g.Producer("t") != g.Nodes[0] || len(g.Consumers("t")) != 1 || !g.IsOutput("y") {
		t.Error("producer/consumer/output queries")
	}
}

// TestTensorFields reads initializers from each typed field.
func TestTensorFields(t *testing.T) {
	tests := []struct {
		desc string
		p    *onnxpb.TensorProto
		want *Tensor
	}{
		{"float_data", &onnxpb.TensorProto{DataType: proto.Int32(1), Dims: []int64{2}, FloatData: []float32{1.5, -2}}, f32([]int{2}, 1.5, -2)},
		{"int32_data int8", &onnxpb.TensorProto{DataType: proto.Int32(3), Dims: []int64{2}, Int32Data: []int32{-128, 127}}, Int8Tensor([]int{2}, []int8{-128, 127})},
		{"int32_data uint8", &onnxpb.TensorProto{DataType: proto.Int32(2), Dims: []int64{1}, Int32Data: []int32{200}}, Uint8Tensor([]int{1}, []uint8{200})},
		{"int32_data int32", &onnxpb.TensorProto{DataType: proto.Int32(6), Dims: []int64{1}, Int32Data: []int32{-7}}, Int32Tensor([]int{1}, []int32{-7})},
		{"int64_data", &onnxpb.TensorProto{DataType: proto.Int32(7), Dims: []int64{2}, Int64Data: []int64{1 << 40, -1}}, Int64Tensor([]int{2}, []int64{1 << 40, -1})},
		{"raw int8", &onnxpb.TensorProto{DataType: proto.Int32(3), Dims: []int64{2}, RawData: []byte{0xff, 0x01}}, Int8Tensor([]int{2}, []int8{-1, 1})},
		{"raw int64", tensorProto("", Int64Tensor([]int{1}, []int64{-3})), Int64Tensor([]int{1}, []int64{-3})},
		{"scalar", &onnxpb.TensorProto{DataType: proto.Int32(1), FloatData: []float32{4}}, f32([]int{}, 4)},
		{"bool", &onnxpb.TensorProto{DataType: proto.Int32(9), Dims: []int64{2}, Int32Data: []int32{1, 0}}, BoolTensor([]int{2}, []bool{true, false})},
	}
	for _, tc := range tests {
		got, err := tensorFromProto(tc.p)
		if err != nil {
			t.Errorf("%s: %v", tc.desc, err)
			continue
		}
		checkTensor(t, tc.desc, got, tc.want)
	}
	if _, err := tensorFromProto(&onnxpb.TensorProto{DataType: proto.Int32(1), Dims: []int64{3}, FloatData: []float32{1}}); err == nil {
		t.Error("3 floats declared, 1 given: no error")
	}
}

func TestLoadAndReadTensor(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.onnx")
	m := convModel()
	if err := os.WriteFile(path, m.bytes(t), 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(g, map[string]*Tensor{"x": seq(1, 1, 4, 4)})
	if err != nil {
		t.Fatal(err)
	}
	want := seq(1, 1, 4, 4)
	for i := range want.Float32 {
		want.Float32[i] *= 2
	}
	checkTensor(t, "run", out["y"], want)
	if _, err := Load(filepath.Join(dir, "missing.onnx")); err == nil {
		t.Error("missing file: no error")
	}

	tp, _ := proto.Marshal(tensorProto("x", seq(2)))
	x, name, err := ParseTensor(tp)
	if err != nil || name != "x" {
		t.Fatalf("ParseTensor: %v, %q", err, name)
	}
	checkTensor(t, "tensor", x, seq(2))
}

func TestRunInputErrors(t *testing.T) {
	g := convModel().parse(t)
	tests := []struct {
		desc   string
		inputs map[string]*Tensor
		want   string
	}{
		{"missing", nil, `input "x" not given`},
		{"wrong type", map[string]*Tensor{"x": Int8Tensor([]int{1, 1, 4, 4}, make([]int8, 16))}, "got int8, want float32"},
		{"wrong shape", map[string]*Tensor{"x": seq(1, 2, 4, 4)}, "got shape [1 2 4 4], want [-1 1 4 4]"},
		{"short data", map[string]*Tensor{"x": f32([]int{1, 1, 4, 4}, 1)}, "holds 1 values, want 16"},
		{"extra", map[string]*Tensor{"x": seq(1, 1, 4, 4), "q": seq(1)}, `"q" is not a graph input`},
	}
	for _, tc := range tests {
		_, err := Run(g, tc.inputs)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.desc, err, tc.want)
		}
	}
	// A dynamic batch runs at any size.
	if _, err := Run(g, map[string]*Tensor{"x": seq(3, 1, 4, 4)}); err != nil {
		t.Errorf("batch 3: %v", err)
	}
}
