package nn

import (
	"fmt"
	"math"
	"os"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/tpugen/tpugen/nn/onnxpb"
)

// Load reads and validates an ONNX model file.
func Load(path string) (*Graph, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(data, path)
}

// Parse decodes and validates a serialized ONNX model; source names it in
// diagnostics. Every error is one line that names the offending node,
// operator and opset (or tensor, input or attribute).
func Parse(data []byte, source string) (*Graph, error) {
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: not an ONNX model (truncated or corrupt): %s", source, oneLine(err.Error()))
	}
	g, err := fromModel(&m, source)
	if err != nil {
		return nil, &loadError{msg: source + ": " + oneLine(err.Error()), err: err}
	}
	return g, nil
}

// loadError is a one-line diagnostic that keeps the error it flattens
// (errors.Is(err, ErrUnsupported) tells unsupported from malformed).
type loadError struct {
	msg string
	err error
}

func (e *loadError) Error() string { return e.msg }
func (e *loadError) Unwrap() error { return e.err }

// fromModel converts and validates the model.
func fromModel(m *onnxpb.ModelProto, source string) (*Graph, error) {
	gp := m.GetGraph()
	if gp == nil {
		return nil, fmt.Errorf("model has no graph")
	}
	opset, err := defaultOpset(m)
	if err != nil {
		return nil, err
	}
	g := &Graph{
		Name:         gp.GetName(),
		Source:       source,
		Opset:        opset,
		Initializers: map[string]*Tensor{},
		Values:       map[string]Value{},
	}
	if len(gp.GetSparseInitializer()) > 0 {
		return nil, fmt.Errorf("sparse initializers %w", ErrUnsupported)
	}
	for _, tp := range gp.GetInitializer() {
		name := tp.GetName()
		if name == "" {
			return nil, fmt.Errorf("initializer without a name")
		}
		if _, dup := g.Initializers[name]; dup {
			return nil, fmt.Errorf("initializer %q defined twice", name)
		}
		t, err := tensorFromProto(tp)
		if err != nil {
			return nil, fmt.Errorf("initializer %q: %w", name, err)
		}
		g.Initializers[name] = t
	}
	defined := map[string]bool{}
	for name := range g.Initializers {
		defined[name] = true
	}
	for _, vp := range gp.GetInput() {
		if _, isConst := g.Initializers[vp.GetName()]; isConst {
			continue // IR < 4 lists initializers among the inputs
		}
		v, err := valueFromProto(vp)
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", vp.GetName(), err)
		}
		if defined[v.Name] {
			return nil, fmt.Errorf("input %q defined twice", v.Name)
		}
		defined[v.Name] = true
		g.Inputs = append(g.Inputs, v)
	}
	ops := operators()
	for i, np := range gp.GetNode() {
		n, err := nodeFromProto(np, i)
		if err != nil {
			return nil, nodeError(np, i, opset, err)
		}
		if err := checkNodeProto(np, n, ops, opset, defined); err != nil {
			return nil, nodeError(np, i, opset, err)
		}
		if n.Op == "Constant" {
			t, err := constantValue(n)
			if err == nil {
				err = t.Check()
			}
			if err != nil {
				return nil, nodeError(np, i, opset, err)
			}
			g.Initializers[n.Outputs[0]] = t
		} else {
			g.Nodes = append(g.Nodes, n)
		}
		for _, o := range n.Outputs {
			if o != "" {
				defined[o] = true
			}
		}
	}
	for _, vp := range gp.GetOutput() {
		v, err := valueFromProto(vp)
		if err != nil {
			return nil, fmt.Errorf("output %q: %w", vp.GetName(), err)
		}
		if !defined[v.Name] {
			return nil, fmt.Errorf("output %q is not computed by the graph", v.Name)
		}
		g.Outputs = append(g.Outputs, v)
	}
	if len(g.Outputs) == 0 {
		return nil, fmt.Errorf("graph has no outputs")
	}
	for _, vp := range gp.GetValueInfo() {
		if v, err := valueFromProto(vp); err == nil && defined[v.Name] {
			g.Values[v.Name] = v
		}
	}
	return g, nil
}

// defaultOpset returns the default domain's opset version.
func defaultOpset(m *onnxpb.ModelProto) (int, error) {
	version := int64(-1)
	for _, o := range m.GetOpsetImport() {
		if d := o.GetDomain(); d == "" || d == "ai.onnx" {
			version = o.GetVersion()
		}
	}
	switch {
	case version < 0:
		return 0, fmt.Errorf("model imports no default-domain opset")
	case version < 1 || version > MaxOpset:
		return 0, fmt.Errorf("opset %d %w (1 to %d)", version, ErrUnsupported, MaxOpset)
	}
	return int(version), nil
}

// nodeError prefixes a node's diagnostics with its name, operator and
// opset; unnamed nodes are numbered.
func nodeError(np *onnxpb.NodeProto, i, opset int, err error) error {
	op := np.GetOpType()
	if d := np.GetDomain(); d != "" && d != "ai.onnx" {
		op = d + "." + op
	}
	return fmt.Errorf("node %q (op %s, opset %d): %w", nodeName(np, i), op, opset, err)
}

func nodeName(np *onnxpb.NodeProto, i int) string {
	if name := np.GetName(); name != "" {
		return name
	}
	return np.GetOpType() + "_" + strconv.Itoa(i)
}

// checkNodeProto validates a node: a known default-domain operator, its
// registry entry, inputs defined earlier, outputs defined once.
func checkNodeProto(np *onnxpb.NodeProto, n *Node, ops map[string]opSpec, opset int, defined map[string]bool) error {
	if d := np.GetDomain(); d != "" && d != "ai.onnx" {
		return fmt.Errorf("%w operator", ErrUnsupported)
	}
	spec, ok := ops[n.Op]
	if !ok {
		return fmt.Errorf("%w operator", ErrUnsupported)
	}
	if err := checkNode(n, spec, opset); err != nil {
		return err
	}
	for _, in := range n.Inputs {
		if in != "" && !defined[in] {
			return fmt.Errorf("input %q is not defined before use", in)
		}
	}
	for j, o := range n.Outputs {
		if o != "" && defined[o] {
			return fmt.Errorf("output %q is defined twice", o)
		}
		for _, p := range n.Outputs[:j] {
			if o != "" && o == p {
				return fmt.Errorf("output %q is defined twice", o)
			}
		}
	}
	return nil
}

// nodeFromProto decodes a node and its attributes.
func nodeFromProto(np *onnxpb.NodeProto, i int) (*Node, error) {
	n := &Node{
		Name:    nodeName(np, i),
		Op:      np.GetOpType(),
		Inputs:  append([]string{}, np.GetInput()...),
		Outputs: append([]string{}, np.GetOutput()...),
		Attrs:   map[string]Attr{},
	}
	// Trailing empty names are omitted optional inputs and outputs.
	for len(n.Inputs) > 0 && n.Inputs[len(n.Inputs)-1] == "" {
		n.Inputs = n.Inputs[:len(n.Inputs)-1]
	}
	for len(n.Outputs) > 1 && n.Outputs[len(n.Outputs)-1] == "" {
		n.Outputs = n.Outputs[:len(n.Outputs)-1]
	}
	for _, ap := range np.GetAttribute() {
		name := ap.GetName()
		if _, dup := n.Attrs[name]; dup {
			return nil, fmt.Errorf("attribute %q given twice", name)
		}
		if ap.GetRefAttrName() != "" {
			return nil, fmt.Errorf("attribute %q refers to a function attribute: %w", name, ErrUnsupported)
		}
		a, err := attrFromProto(ap)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", name, err)
		}
		n.Attrs[name] = a
	}
	return n, nil
}

// attrFromProto decodes the typed attribute kinds nn uses.
func attrFromProto(ap *onnxpb.AttributeProto) (Attr, error) {
	switch ap.GetType() {
	case onnxpb.AttributeProto_FLOAT:
		return Attr{Type: AttrFloat, F: ap.GetF()}, nil
	case onnxpb.AttributeProto_INT:
		return Attr{Type: AttrInt, I: ap.GetI()}, nil
	case onnxpb.AttributeProto_STRING:
		return Attr{Type: AttrString, S: string(ap.GetS())}, nil
	case onnxpb.AttributeProto_TENSOR:
		if ap.GetT() == nil {
			return Attr{}, fmt.Errorf("tensor attribute without a tensor")
		}
		t, err := tensorFromProto(ap.GetT())
		if err != nil {
			return Attr{}, err
		}
		return Attr{Type: AttrTensor, T: t}, nil
	case onnxpb.AttributeProto_FLOATS:
		return Attr{Type: AttrFloats, Floats: append([]float32{}, ap.GetFloats()...)}, nil
	case onnxpb.AttributeProto_INTS:
		return Attr{Type: AttrInts, Ints: append([]int64{}, ap.GetInts()...)}, nil
	case onnxpb.AttributeProto_STRINGS:
		ss := make([]string, len(ap.GetStrings()))
		for i, s := range ap.GetStrings() {
			ss[i] = string(s)
		}
		return Attr{Type: AttrStrings, Strings: ss}, nil
	}
	return Attr{}, fmt.Errorf("type %v %w", ap.GetType(), ErrUnsupported)
}

// valueFromProto decodes a tensor-typed graph input or output.
func valueFromProto(vp *onnxpb.ValueInfoProto) (Value, error) {
	v := Value{Name: vp.GetName()}
	if v.Name == "" {
		return v, fmt.Errorf("value without a name")
	}
	tt := vp.GetType().GetTensorType()
	if tt == nil {
		kind := "unknown"
		switch vp.GetType().GetValue().(type) {
		case *onnxpb.TypeProto_SequenceType:
			kind = "sequence"
		case *onnxpb.TypeProto_MapType:
			kind = "map"
		case *onnxpb.TypeProto_OptionalType:
			kind = "optional"
		case *onnxpb.TypeProto_SparseTensorType:
			kind = "sparse tensor"
		}
		return v, fmt.Errorf("%s type %w (tensors only)", kind, ErrUnsupported)
	}
	v.DType = DType(tt.GetElemType())
	if !v.DType.Supported() {
		return v, fmt.Errorf("data type %v %w", v.DType, ErrUnsupported)
	}
	if tt.GetShape() == nil {
		return v, nil // rank unknown
	}
	v.Shape = []int{}
	for _, d := range tt.GetShape().GetDim() {
		dim := -1
		if dv, ok := d.GetValue().(*onnxpb.TensorShapeProto_Dimension_DimValue); ok && dv.DimValue >= 0 && dv.DimValue <= math.MaxInt32 {
			dim = int(dv.DimValue)
		}
		v.Shape = append(v.Shape, dim)
	}
	return v, nil
}
