//go:build ort

package ort

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/tpugen/tpugen/nn/onnxpb"
)

// ONNX element types used here.
const (
	elemFloat = 1
	elemUint8 = 2
	elemInt8  = 3
	elemInt32 = 6
)

// Graph is a parsed model with the look-ups the checks need.
type Graph struct {
	Model     *onnxpb.ModelProto
	producer  map[string]*onnxpb.NodeProto
	consumers map[string][]*onnxpb.NodeProto
	// Quantized maps a float tensor to the output of the QuantizeLinear
	// that reads it, and QuantType that output's element type.
	Quantized map[string]string
	QuantType map[string]int32
}

// ParseGraph parses an ONNX model and indexes its QuantizeLinear nodes.
func ParseGraph(data []byte) (*Graph, error) {
	m := &onnxpb.ModelProto{}
	if err := proto.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("ort: parse: %w", err)
	}
	g := &Graph{Model: m, producer: map[string]*onnxpb.NodeProto{}, consumers: map[string][]*onnxpb.NodeProto{},
		Quantized: map[string]string{}, QuantType: map[string]int32{}}
	consts := map[string]int32{}
	for _, t := range m.GetGraph().GetInitializer() {
		consts[t.GetName()] = t.GetDataType()
	}
	for _, n := range m.GetGraph().GetNode() {
		for _, o := range n.GetOutput() {
			g.producer[o] = n
		}
		for _, i := range n.GetInput() {
			g.consumers[i] = append(g.consumers[i], n)
		}
		if n.GetOpType() == "Constant" {
			for _, a := range n.GetAttribute() {
				if a.GetName() == "value" && a.GetT() != nil {
					consts[n.GetOutput()[0]] = a.GetT().GetDataType()
				}
			}
		}
	}
	for _, n := range m.GetGraph().GetNode() {
		if n.GetOpType() != "QuantizeLinear" {
			continue
		}
		in, out := n.GetInput(), n.GetOutput()[0]
		typ := int32(elemUint8) // ONNX's default without a zero point
		if len(in) > 2 {
			t, ok := consts[in[2]]
			if !ok {
				return nil, fmt.Errorf("ort: QuantizeLinear %s: zero point %s is not a constant", n.GetName(), in[2])
			}
			typ = t
		}
		g.Quantized[in[0]] = out
		g.QuantType[out] = typ
	}
	return g, nil
}

// Node is the node called name, or nil.
func (g *Graph) Node(name string) *onnxpb.NodeProto {
	for _, n := range g.Model.GetGraph().GetNode() {
		if n.GetName() == name {
			return n
		}
	}
	return nil
}

// Next is the first node after n's output that is not part of the
// quantization (QuantizeLinear, Cast, DequantizeLinear), or nil.
func (g *Graph) Next(n *onnxpb.NodeProto) *onnxpb.NodeProto {
	t := n.GetOutput()[0]
	for {
		cs := g.consumers[t]
		if len(cs) == 0 {
			return nil
		}
		c := cs[0]
		switch c.GetOpType() {
		case "QuantizeLinear", "Cast", "DequantizeLinear":
			t = c.GetOutput()[0]
			continue
		}
		return c
	}
}

// WithOutputs returns the model's bytes with outputs added as graph
// outputs of the given element types (the model's own outputs stay first).
func (g *Graph) WithOutputs(outputs []string, types []int32) ([]byte, error) {
	m := proto.Clone(g.Model).(*onnxpb.ModelProto)
	for i, name := range outputs {
		tt := &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(types[i])}
		m.Graph.Output = append(m.Graph.Output, &onnxpb.ValueInfoProto{Name: proto.String(name),
			Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}})
	}
	data, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("ort: %w", err)
	}
	return data, nil
}

// A Builder writes a small model (opset 13) for the synthetic checks.
type Builder struct{ g *onnxpb.GraphProto }

// NewBuilder starts a graph.
func NewBuilder(name string) *Builder {
	return &Builder{g: &onnxpb.GraphProto{Name: proto.String(name)}}
}

func valueInfo(name string, elem int32, shape []int64) *onnxpb.ValueInfoProto {
	tt := &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(elem), Shape: &onnxpb.TensorShapeProto{}}
	for _, d := range shape {
		tt.Shape.Dim = append(tt.Shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}}
}

// Input declares a graph input, Output a graph output.
func (b *Builder) Input(name string, elem int32, shape ...int64) {
	b.g.Input = append(b.g.Input, valueInfo(name, elem, shape))
}
func (b *Builder) Output(name string, elem int32, shape ...int64) {
	b.g.Output = append(b.g.Output, valueInfo(name, elem, shape))
}

// Init adds an initializer; data is []float32, []int8, []uint8 or []int32.
func (b *Builder) Init(name string, shape []int64, data any) {
	t := &onnxpb.TensorProto{Name: proto.String(name), Dims: shape}
	le := binary.LittleEndian
	var raw []byte
	switch d := data.(type) {
	case []float32:
		t.DataType = proto.Int32(elemFloat)
		for _, v := range d {
			raw = le.AppendUint32(raw, math.Float32bits(v))
		}
	case []int8:
		t.DataType = proto.Int32(elemInt8)
		for _, v := range d {
			raw = append(raw, byte(v))
		}
	case []uint8:
		t.DataType = proto.Int32(elemUint8)
		raw = append(raw, d...)
	case []int32:
		t.DataType = proto.Int32(elemInt32)
		for _, v := range d {
			raw = le.AppendUint32(raw, uint32(v))
		}
	default:
		panic(fmt.Sprintf("ort: initializer of type %T", data))
	}
	t.RawData = raw
	b.g.Initializer = append(b.g.Initializer, t)
}

// Node adds a node with integer-list attributes.
func (b *Builder) Node(op string, in, out []string, ints map[string][]int64) {
	n := &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(out[0]), Input: in, Output: out}
	for _, k := range []string{"pads", "strides", "kernel_shape", "dilations"} {
		if v, ok := ints[k]; ok {
			n.Attribute = append(n.Attribute, &onnxpb.AttributeProto{Name: proto.String(k), Ints: v,
				Type: onnxpb.AttributeProto_INTS.Enum()})
		}
	}
	b.g.Node = append(b.g.Node, n)
}

// Bytes serializes the model.
func (b *Builder) Bytes() ([]byte, error) {
	m := &onnxpb.ModelProto{IrVersion: proto.Int64(8), Graph: b.g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}}}
	data, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("ort: %w", err)
	}
	return data, nil
}
