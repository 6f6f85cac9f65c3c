package nn

import (
	"fmt"
	"math"

	"github.com/tpugen/tpugen/quant"
)

// Element-wise activations and Softmax. The float functions are quant's
// float reference, evaluated in float64 and rounded once to float32.

// mapFloat applies f to every element of a float32 tensor.
func mapFloat(t *Tensor, f func(float64) float64) *Tensor {
	y := make([]float32, len(t.Float32))
	for i, v := range t.Float32 {
		y[i] = float32(f(float64(v)))
	}
	return Float32Tensor(t.Shape, y)
}

// inferFloatSame accepts a float32 input and gives its shape to the output.
func inferFloatSame(n *Node, opset int, in []Value, konst []*Tensor) ([]Value, error) {
	if err := wantType("input", in[0].DType, Float32); err != nil {
		return nil, err
	}
	return inferSame(n, opset, in, konst)
}

func inferRelu(n *Node, opset int, in []Value, konst []*Tensor) ([]Value, error) {
	if err := wantType("input", in[0].DType, Float32, Int8, Int32, Int64); err != nil {
		return nil, err
	}
	return inferSame(n, opset, in, konst)
}

func runRelu(_ *Node, _ int, in []*Tensor) ([]*Tensor, error) {
	x := in[0]
	if x.DType == Float32 {
		return []*Tensor{mapFloat(x, func(v float64) float64 { return math.Max(v, 0) })}, nil
	}
	v := x.int64s()
	for i := range v {
		v[i] = max(v[i], 0)
	}
	return []*Tensor{fromInt64s(x.DType, x.Shape, v)}, nil
}

func runLeakyRelu(n *Node, _ int, in []*Tensor) ([]*Tensor, error) {
	alpha := float64(n.AttrFloat("alpha", 0.01))
	return []*Tensor{mapFloat(in[0], func(v float64) float64 { return quant.LeakyReLUFloat(v, alpha) })}, nil
}

func runSigmoid(_ *Node, _ int, in []*Tensor) ([]*Tensor, error) {
	return []*Tensor{mapFloat(in[0], quant.LogisticFloat)}, nil
}

func runTanh(_ *Node, _ int, in []*Tensor) ([]*Tensor, error) {
	return []*Tensor{mapFloat(in[0], quant.TanhFloat)}, nil
}

// Clip takes its bounds as attributes before opset 11 and as optional
// scalar inputs from opset 11 on.
func checkClip(n *Node, opset int) error {
	if opset >= 11 {
		for _, a := range []string{"min", "max"} {
			if n.HasAttr(a) {
				return fmt.Errorf("attribute %s is an input from opset 11", a)
			}
		}
		return nil
	}
	if len(n.Inputs) > 1 {
		return fmt.Errorf("min and max are attributes before opset 11")
	}
	for _, a := range []string{"min", "max"} {
		if v := n.AttrFloat(a, 0); math.IsNaN(float64(v)) {
			return fmt.Errorf("attribute %s=NaN out of range", a)
		}
	}
	return nil
}

func inferClip(n *Node, opset int, in []Value, konst []*Tensor) ([]Value, error) {
	allowed := []DType{Float32}
	if opset >= 12 {
		allowed = numericTypes()
	}
	if err := wantType("input", in[0].DType, allowed...); err != nil {
		return nil, err
	}
	for i, v := range in[1:] {
		if v.Name == "" {
			continue
		}
		if v.DType != in[0].DType || len(v.Shape) != 0 {
			return nil, fmt.Errorf("bound %d is %v%v, want a %v scalar", i+1, v.DType, v.Shape, in[0].DType)
		}
	}
	return inferSame(n, opset, in, konst)
}

// clipBounds returns the bounds of a float Clip: attributes before opset
// 11, else the optional inputs; the spec's defaults are ±FLT_MAX.
func clipBounds(n *Node, opset int, in []*Tensor) (lo, hi float64) {
	if opset < 11 {
		return float64(n.AttrFloat("min", -math.MaxFloat32)), float64(n.AttrFloat("max", math.MaxFloat32))
	}
	lo, hi = -math.MaxFloat32, math.MaxFloat32
	if len(in) > 1 && in[1] != nil {
		lo = float64(in[1].Float32[0])
	}
	if len(in) > 2 && in[2] != nil {
		hi = float64(in[2].Float32[0])
	}
	return lo, hi
}

func runClip(n *Node, opset int, in []*Tensor) ([]*Tensor, error) {
	x := in[0]
	if x.DType == Float32 {
		lo, hi := clipBounds(n, opset, in)
		return []*Tensor{mapFloat(x, func(v float64) float64 { return math.Min(math.Max(v, lo), hi) })}, nil
	}
	// Integer bounds exactly, int64 included.
	v := x.int64s()
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if len(in) > 1 && in[1] != nil {
		lo = in[1].int64s()[0]
	}
	if len(in) > 2 && in[2] != nil {
		hi = in[2].int64s()[0]
	}
	for i := range v {
		v[i] = min(max(v[i], lo), hi)
	}
	return []*Tensor{fromInt64s(x.DType, x.Shape, v)}, nil
}

// softmaxLanes returns outer × n × inner: Softmax normalizes each lane of
// n elements with stride inner. Before opset 13 the input is coerced to 2-D
// at axis (default 1) and rows are normalized; from 13 on, the single axis
// (default -1).
func softmaxLanes(n *Node, opset int, shape []int) (outer, lane, inner int, err error) {
	def := int64(-1)
	if opset < 13 {
		def = 1
	}
	axis, err := normAxis(n.AttrInt("axis", def), len(shape), opset < 13)
	if err != nil {
		return 0, 0, 0, err
	}
	outer, lane, inner = prod(shape[:axis]), prod(shape[axis:]), 1
	if opset >= 13 {
		lane, inner = shape[axis], prod(shape[axis+1:])
	}
	return outer, lane, inner, nil
}

func inferSoftmax(n *Node, opset int, in []Value, konst []*Tensor) ([]Value, error) {
	if err := wantType("input", in[0].DType, Float32); err != nil {
		return nil, err
	}
	if _, _, _, err := softmaxLanes(n, opset, in[0].Shape); err != nil {
		return nil, err
	}
	return inferSame(n, opset, in, konst)
}

func runSoftmax(n *Node, opset int, in []*Tensor) ([]*Tensor, error) {
	x := in[0]
	outer, lane, inner, err := softmaxLanes(n, opset, x.Shape)
	if err != nil {
		return nil, err
	}
	y := make([]float32, len(x.Float32))
	buf := make([]float32, lane)
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			base := o*lane*inner + i
			for j := range buf {
				buf[j] = x.Float32[base+j*inner]
			}
			if lane == 0 {
				continue
			}
			s, err := quant.SoftmaxFloat(buf, lane, 1)
			if err != nil {
				return nil, err
			}
			for j, v := range s {
				y[base+j*inner] = v
			}
		}
	}
	return []*Tensor{Float32Tensor(x.Shape, y)}, nil
}
