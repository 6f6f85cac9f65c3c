package nn

import (
	"fmt"
	"math"
)

// Cast (opsets 6 to 17) between the element types nn holds, with the
// conversion rules the ONNX operator documentation gives (written out in
// opset 19, which adds nothing for these types but the saturate attribute
// of 8-bit float targets):
//   - float to integer truncates toward zero; out of the target's range the
//     result is undefined by the specification, and nn wraps the truncated
//     integer as an integer cast would;
//   - integer to integer keeps the low bits (two's complement wrap-around,
//     200 as int32 to int8 is −56);
//   - integer to float rounds to the nearest float32;
//   - to bool: zero is false, anything else (NaN too) true; from bool:
//     1 and 0.
//
// Before opset 6 the target was a string attribute; that form is not read.

func checkCast(n *Node, _ int) error {
	if !n.HasAttr("to") {
		return fmt.Errorf("attribute to is required")
	}
	to := DType(n.AttrInt("to", 0))
	if int64(to) != n.AttrInt("to", 0) || !to.Supported() {
		return fmt.Errorf("attribute to=%d: data type %v %w", n.AttrInt("to", 0), to, ErrUnsupported)
	}
	return nil
}

func inferCast(n *Node, _ int, in []Value, _ []*Tensor) ([]Value, error) {
	return []Value{{DType: DType(n.AttrInt("to", 0)), Shape: in[0].Shape}}, nil
}

func runCast(n *Node, _ int, in []*Tensor) ([]*Tensor, error) {
	return []*Tensor{castTensor(in[0], DType(n.AttrInt("to", 0)))}, nil
}

// castTensor converts x to type to (x itself when it already has it).
func castTensor(x *Tensor, to DType) *Tensor {
	if x.DType == to {
		return x
	}
	shape := append([]int{}, x.Shape...)
	switch {
	case to == Float32 || to == Bool:
		// float64 holds every float32, and every integer type but int64
		// exactly; int64 goes straight to float32 to round only once.
		if x.DType == Int64 && to == Float32 {
			y := make([]float32, len(x.Int64))
			for i, v := range x.Int64 {
				y[i] = float32(v)
			}
			return Float32Tensor(shape, y)
		}
		return fromFloat64s(to, shape, x.float64s())
	case x.DType == Float32:
		ints := make([]int64, len(x.Float32))
		for i, v := range x.Float32 {
			ints[i] = truncFloat(v)
		}
		return fromInt64s(to, shape, ints)
	}
	return fromInt64s(to, shape, x.int64s())
}

// truncFloat truncates toward zero; NaN gives 0 and values beyond int64
// saturate (the specification leaves both undefined).
func truncFloat(v float32) int64 {
	f := math.Trunc(float64(v))
	switch {
	case math.IsNaN(f):
		return 0
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return int64(f)
}
