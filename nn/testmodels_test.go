package nn

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tpugen/tpugen/nn/onnxpb"
)

// Test models are built as ModelProtos and serialized, so every test also
// goes through Parse and its validation.

// tnode is a node of a test model; attrs values are int, float32, string,
// []int64, []float32 or *Tensor.
type tnode struct {
	op, name string
	in, out  []string
	attrs    map[string]any
}

// tmodel describes a test model.
type tmodel struct {
	opset   int
	inputs  []Value
	outputs []Value
	inits   map[string]*Tensor
	nodes   []tnode
}

func (m tmodel) proto() *onnxpb.ModelProto {
	g := &onnxpb.GraphProto{Name: proto.String("test")}
	for _, name := range sortedKeys(m.inits) {
		g.Initializer = append(g.Initializer, tensorProto(name, m.inits[name]))
	}
	for _, v := range m.inputs {
		g.Input = append(g.Input, valueProto(v))
	}
	for _, v := range m.outputs {
		g.Output = append(g.Output, valueProto(v))
	}
	for _, n := range m.nodes {
		np := &onnxpb.NodeProto{OpType: proto.String(n.op), Input: n.in, Output: n.out}
		if n.name != "" {
			np.Name = proto.String(n.name)
		}
		for _, k := range sortedKeys(n.attrs) {
			np.Attribute = append(np.Attribute, attrProto(k, n.attrs[k]))
		}
		g.Node = append(g.Node, np)
	}
	return &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(int64(m.opset))}},
		Graph:       g,
	}
}

func (m tmodel) bytes(t testing.TB) []byte {
	t.Helper()
	data, err := proto.Marshal(m.proto())
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func (m tmodel) parse(t testing.TB) *Graph {
	t.Helper()
	g, err := Parse(m.bytes(t), "test.onnx")
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func valueProto(v Value) *onnxpb.ValueInfoProto {
	tt := &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(v.DType))}
	if v.Shape != nil {
		tt.Shape = &onnxpb.TensorShapeProto{}
		for _, d := range v.Shape {
			dim := &onnxpb.TensorShapeProto_Dimension{}
			if d >= 0 {
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}
			} else {
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}
			}
			tt.Shape.Dim = append(tt.Shape.Dim, dim)
		}
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(v.Name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}}
}

// tensorProto serializes a tensor with raw_data.
func tensorProto(name string, t *Tensor) *onnxpb.TensorProto {
	p := &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(t.DType))}
	for _, d := range t.Shape {
		p.Dims = append(p.Dims, int64(d))
	}
	var raw []byte
	le := binary.LittleEndian
	switch t.DType {
	case Float32:
		for _, v := range t.Float32 {
			raw = le.AppendUint32(raw, math.Float32bits(v))
		}
	case Uint8:
		raw = append(raw, t.Uint8...)
	case Int8:
		for _, v := range t.Int8 {
			raw = append(raw, byte(v))
		}
	case Int32:
		for _, v := range t.Int32 {
			raw = le.AppendUint32(raw, uint32(v))
		}
	case Int64:
		for _, v := range t.Int64 {
			raw = le.AppendUint64(raw, uint64(v))
		}
	case Bool:
		for _, v := range t.Bool {
			b := byte(0)
			if v {
				b = 1
			}
			raw = append(raw, b)
		}
	}
	p.RawData = append([]byte{}, raw...)
	return p
}

func attrProto(name string, v any) *onnxpb.AttributeProto {
	a := &onnxpb.AttributeProto{Name: proto.String(name)}
	set := func(t onnxpb.AttributeProto_AttributeType) { a.Type = t.Enum() }
	switch v := v.(type) {
	case int:
		set(onnxpb.AttributeProto_INT)
		a.I = proto.Int64(int64(v))
	case float32:
		set(onnxpb.AttributeProto_FLOAT)
		a.F = proto.Float32(v)
	case string:
		set(onnxpb.AttributeProto_STRING)
		a.S = []byte(v)
	case []int64:
		set(onnxpb.AttributeProto_INTS)
		a.Ints = v
	case []float32:
		set(onnxpb.AttributeProto_FLOATS)
		a.Floats = v
	case *Tensor:
		set(onnxpb.AttributeProto_TENSOR)
		a.T = tensorProto("", v)
	default:
		panic(fmt.Sprintf("test attribute %s: %T", name, v))
	}
	return a
}

// runOp builds a one-node model whose inputs are graph inputs x0, x1, …
// (nil tensors are omitted optional inputs), runs it and returns the
// outputs y0, y1, ….
func runOp(t testing.TB, opset int, op string, attrs map[string]any, outputs int, in ...*Tensor) ([]*Tensor, error) {
	t.Helper()
	m := tmodel{opset: opset}
	n := tnode{op: op, attrs: attrs}
	feed := map[string]*Tensor{}
	for i, x := range in {
		if x == nil {
			n.in = append(n.in, "")
			continue
		}
		name := fmt.Sprint("x", i)
		n.in = append(n.in, name)
		m.inputs = append(m.inputs, x.Value(name))
		feed[name] = x
	}
	for i := 0; i < outputs; i++ {
		name := fmt.Sprint("y", i)
		n.out = append(n.out, name)
		m.outputs = append(m.outputs, Value{Name: name, DType: Float32}) // Run does not check output declarations
	}
	m.nodes = []tnode{n}
	g, err := Parse(m.bytes(t), "test.onnx")
	if err != nil {
		return nil, err
	}
	res, err := Run(g, feed)
	if err != nil {
		return nil, err
	}
	out := make([]*Tensor, outputs)
	for i := range out {
		out[i] = res[fmt.Sprint("y", i)]
	}
	return out, nil
}

// mustRun is runOp failing the test on error; it returns output 0.
func mustRun(t testing.TB, opset int, op string, attrs map[string]any, in ...*Tensor) *Tensor {
	t.Helper()
	out, err := runOp(t, opset, op, attrs, 1, in...)
	if err != nil {
		t.Fatal(err)
	}
	return out[0]
}

func f32(shape []int, v ...float32) *Tensor { return Float32Tensor(shape, v) }

// seq is 0, 1, 2, … as float32 in a shape.
func seq(shape ...int) *Tensor {
	v := make([]float32, prod(shape))
	for i := range v {
		v[i] = float32(i)
	}
	return Float32Tensor(shape, v)
}

func checkTensor(t *testing.T, what string, got, want *Tensor) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: no tensor, want %v", what, want)
		return
	}
	if err := compareTensors(got, want, 1e-5, 1e-6); err != nil {
		t.Errorf("%s: %v\ngot  %v %v%v%v%v\nwant %v %v%v%v%v", what, err, got, got.Float32, got.Int8, got.Uint8, got.Int32, want, want.Float32, want.Int8, want.Uint8, want.Int32)
	}
}
