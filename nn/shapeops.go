package nn

import "fmt"

// Reshape, Flatten, Identity, Dropout (inference), Constant and
// ConstantOfShape. Outputs share the input's data.

// reshapeTo resolves Reshape's shape input against the data's shape: -1 is
// inferred, 0 copies the input dimension unless allowzero.
func reshapeTo(in []int, spec []int64, allowZero bool) ([]int, error) {
	out := make([]int, len(spec))
	infer, known := -1, 1
	for i, d := range spec {
		switch {
		case d == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("shape %v has more than one -1", spec)
			}
			infer = i
			continue
		case d == 0 && !allowZero:
			if i >= len(in) {
				return nil, fmt.Errorf("shape %v copies dimension %d of %v", spec, i, in)
			}
			out[i] = in[i]
		case d < 0 || d > maxElements:
			return nil, fmt.Errorf("shape %v has dimension %d", spec, d)
		default:
			out[i] = int(d)
		}
		if out[i] != 0 && known > maxElements/out[i] {
			return nil, fmt.Errorf("shape %v is too large", spec)
		}
		known *= out[i]
	}
	total, err := numElements(in)
	if err != nil {
		return nil, err
	}
	if infer >= 0 {
		if known == 0 || total%known != 0 {
			return nil, fmt.Errorf("cannot reshape %v into %v", in, spec)
		}
		out[infer] = total / known
	} else if known != total {
		return nil, fmt.Errorf("cannot reshape %v (%d elements) into %v", in, total, spec)
	}
	return out, nil
}

func inferReshape(n *Node, _ int, in []Value, konst []*Tensor) ([]Value, error) {
	if in[1].DType != Int64 || len(in[1].Shape) != 1 {
		return nil, fmt.Errorf("shape is %v%v, want a 1-D int64 tensor", in[1].DType, in[1].Shape)
	}
	if len(konst) < 2 || konst[1] == nil {
		return nil, fmt.Errorf("shape %q is computed at run time: cannot infer a static shape", n.Input(1))
	}
	out, err := reshapeTo(in[0].Shape, konst[1].Int64, n.AttrInt("allowzero", 0) != 0)
	if err != nil {
		return nil, err
	}
	return []Value{{DType: in[0].DType, Shape: out}}, nil
}

func runReshape(n *Node, _ int, in []*Tensor) ([]*Tensor, error) {
	out, err := reshapeTo(in[0].Shape, in[1].Int64, n.AttrInt("allowzero", 0) != 0)
	if err != nil {
		return nil, err
	}
	return []*Tensor{in[0].reshaped(out)}, nil
}

// flattenTo is Flatten's 2-D shape: the axes before axis, and the rest.
func flattenTo(n *Node, in []int) ([]int, error) {
	axis, err := normAxis(n.AttrInt("axis", 1), len(in), true)
	if err != nil {
		return nil, err
	}
	return []int{prod(in[:axis]), prod(in[axis:])}, nil
}

func inferFlatten(n *Node, _ int, in []Value, _ []*Tensor) ([]Value, error) {
	out, err := flattenTo(n, in[0].Shape)
	if err != nil {
		return nil, err
	}
	return []Value{{DType: in[0].DType, Shape: out}}, nil
}

func runFlatten(n *Node, _ int, in []*Tensor) ([]*Tensor, error) {
	out, err := flattenTo(n, in[0].Shape)
	if err != nil {
		return nil, err
	}
	return []*Tensor{in[0].reshaped(out)}, nil
}

func runIdentity(_ *Node, _ int, in []*Tensor) ([]*Tensor, error) {
	return []*Tensor{in[0]}, nil
}

// Dropout is the identity in inference. From opset 12 ratio and
// training_mode are inputs; training mode with a non-zero ratio drops at
// random and is not supported.
func checkDropout(n *Node, opset int) error {
	if opset >= 12 {
		if n.HasAttr("ratio") {
			return fmt.Errorf("attribute ratio is an input from opset 12")
		}
		return nil
	}
	if n.HasAttr("seed") {
		return fmt.Errorf("attribute seed does not exist before opset 12")
	}
	if len(n.Inputs) > 1 {
		return fmt.Errorf("%d inputs before opset 12, want 1", len(n.Inputs))
	}
	if r := n.AttrFloat("ratio", 0.5); !(r >= 0 && r < 1) {
		return fmt.Errorf("attribute ratio=%v out of range [0, 1)", r)
	}
	return nil
}

func inferDropout(_ *Node, opset int, in []Value, _ []*Tensor) ([]Value, error) {
	if len(in) > 1 && in[1].Name != "" && (in[1].DType != Float32 || len(in[1].Shape) != 0) {
		return nil, fmt.Errorf("ratio is %v%v, want a float32 scalar", in[1].DType, in[1].Shape)
	}
	if len(in) > 2 && in[2].Name != "" && (in[2].DType != Bool || len(in[2].Shape) != 0) {
		return nil, fmt.Errorf("training_mode is %v%v, want a bool scalar", in[2].DType, in[2].Shape)
	}
	mask := in[0].DType
	if opset >= 10 {
		mask = Bool
	}
	return []Value{in[0], {DType: mask, Shape: in[0].Shape}}, nil
}

func runDropout(n *Node, opset int, in []*Tensor) ([]*Tensor, error) {
	if len(in) > 2 && in[2] != nil && in[2].Bool[0] {
		ratio := float32(0.5)
		if in[1] != nil {
			ratio = in[1].Float32[0]
		}
		if ratio != 0 {
			return nil, fmt.Errorf("training-mode dropout with ratio %v is random: %w", ratio, ErrUnsupported)
		}
	}
	outs := []*Tensor{in[0]}
	if len(n.Outputs) > 1 && n.Outputs[1] != "" {
		dt := in[0].DType
		if opset >= 10 {
			dt = Bool
		}
		ones := make([]int64, in[0].Len())
		for i := range ones {
			ones[i] = 1
		}
		outs = append(outs, fromInt64s(dt, in[0].Shape, ones))
	}
	return outs, nil
}

// constantValue is the tensor a Constant node holds.
func constantValue(n *Node) (*Tensor, error) {
	if len(n.Attrs) != 1 {
		return nil, fmt.Errorf("want exactly one value attribute, have %d", len(n.Attrs))
	}
	switch {
	case n.HasAttr("value"):
		return n.Attrs["value"].T, nil
	case n.HasAttr("value_float"):
		return Float32Tensor([]int{}, []float32{n.AttrFloat("value_float", 0)}), nil
	case n.HasAttr("value_floats"):
		v := n.AttrFloats("value_floats")
		return Float32Tensor([]int{len(v)}, v), nil
	case n.HasAttr("value_int"):
		return Int64Tensor([]int{}, []int64{n.AttrInt("value_int", 0)}), nil
	default:
		v := n.AttrInts("value_ints")
		return Int64Tensor([]int{len(v)}, v), nil
	}
}

// ConstantOfShape (opsets 9 to 17; opset 20 only adds types) fills a shape
// given as a 1-D int64 tensor with the one value of its value attribute,
// float32 0 when the attribute is absent. An empty shape gives a scalar.
func checkConstantOfShape(n *Node, _ int) error {
	if !n.HasAttr("value") {
		return nil
	}
	v := n.Attrs["value"].T
	if err := v.Check(); err != nil {
		return fmt.Errorf("attribute value: %w", err)
	}
	if v.Len() != 1 || len(v.Shape) > 1 {
		return fmt.Errorf("attribute value is %v, want one element", v)
	}
	return nil
}

// constantOfShapeValue is the fill value, a one-element tensor.
func constantOfShapeValue(n *Node) *Tensor {
	if n.HasAttr("value") {
		return n.Attrs["value"].T
	}
	return Float32Tensor([]int{1}, []float32{0})
}

// constantShape reads a shape input: a 1-D int64 tensor of non-negative
// dimensions.
func constantShape(t *Tensor) ([]int, error) {
	if t.DType != Int64 || len(t.Shape) != 1 {
		return nil, fmt.Errorf("shape is %v, want a 1-D int64 tensor", t)
	}
	shape := make([]int, len(t.Int64))
	for i, d := range t.Int64 {
		if d < 0 || d > maxElements {
			return nil, fmt.Errorf("shape %v has dimension %d", t.Int64, d)
		}
		shape[i] = int(d)
	}
	if _, err := numElements(shape); err != nil {
		return nil, err
	}
	return shape, nil
}

func inferConstantOfShape(n *Node, _ int, in []Value, konst []*Tensor) ([]Value, error) {
	if in[0].DType != Int64 || len(in[0].Shape) != 1 {
		return nil, fmt.Errorf("shape is %v%v, want a 1-D int64 tensor", in[0].DType, in[0].Shape)
	}
	if len(konst) < 1 || konst[0] == nil {
		return nil, fmt.Errorf("shape %q is computed at run time: cannot infer a static shape", n.Input(0))
	}
	shape, err := constantShape(konst[0])
	if err != nil {
		return nil, err
	}
	return []Value{{DType: constantOfShapeValue(n).DType, Shape: shape}}, nil
}

func runConstantOfShape(n *Node, _ int, in []*Tensor) ([]*Tensor, error) {
	shape, err := constantShape(in[0])
	if err != nil {
		return nil, err
	}
	v := constantOfShapeValue(n)
	t, err := NewTensor(v.DType, shape)
	if err != nil {
		return nil, err
	}
	switch v.DType {
	case Float32:
		fill(t.Float32, v.Float32[0])
	case Uint8:
		fill(t.Uint8, v.Uint8[0])
	case Int8:
		fill(t.Int8, v.Int8[0])
	case Int32:
		fill(t.Int32, v.Int32[0])
	case Int64:
		fill(t.Int64, v.Int64[0])
	case Bool:
		fill(t.Bool, v.Bool[0])
	}
	return []*Tensor{t}, nil
}

func fill[T any](xs []T, v T) {
	for i := range xs {
		xs[i] = v
	}
}
