package nn

import "fmt"

// Add with numpy broadcasting.

// numericTypes are the element types arithmetic accepts.
func numericTypes() []DType { return []DType{Float32, Uint8, Int8, Int32, Int64} }

func inferAdd(_ *Node, _ int, in []Value, _ []*Tensor) ([]Value, error) {
	if err := wantType("A", in[0].DType, numericTypes()...); err != nil {
		return nil, err
	}
	if in[1].DType != in[0].DType {
		return nil, fmt.Errorf("input A is %v, input B is %v", in[0].DType, in[1].DType)
	}
	out, err := broadcastShape(in[0].Shape, in[1].Shape)
	if err != nil {
		return nil, err
	}
	if _, err := numElements(out); err != nil {
		return nil, err
	}
	return []Value{{DType: in[0].DType, Shape: out}}, nil
}

// runAdd adds in float32 (exactly rounded) or in the integer type, which
// wraps.
func runAdd(_ *Node, _ int, in []*Tensor) ([]*Tensor, error) {
	a, b := in[0], in[1]
	out, err := broadcastShape(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	ai, bi := broadcastIndex(a.Shape, out), broadcastIndex(b.Shape, out)
	if a.DType == Float32 {
		y := make([]float32, len(ai))
		for i := range y {
			y[i] = a.Float32[ai[i]] + b.Float32[bi[i]]
		}
		return []*Tensor{Float32Tensor(out, y)}, nil
	}
	av, bv := a.int64s(), b.int64s()
	y := make([]int64, len(ai))
	for i := range y {
		y[i] = av[ai[i]] + bv[bi[i]]
	}
	return []*Tensor{fromInt64s(a.DType, out, y)}, nil
}
