package nn

import "fmt"

// Pad, as opsets 2 to 17 define it. pads lists [x1_begin, x2_begin, …,
// x1_end, x2_end, …] for every axis of the data; a negative pad removes
// elements (the axis is cropped first, then padded). The modes: constant
// fills with the value, reflect mirrors the data without repeating the
// edge element (numpy's "reflect", periodically when a pad is wider than
// the axis), edge repeats the edge element. Before opset 11 pads and value
// are attributes and the data is float; from opset 11 pads is an int64
// input and constant_value an optional input of the data's type, and every
// numeric type pads (bool too from opset 13).

// padModes are the values of the mode attribute (opset 19's wrap is beyond
// MaxOpset).
var padModes = []string{"constant", "reflect", "edge"}

func checkPad(n *Node, opset int) error {
	mode := n.AttrString("mode", "constant")
	known := false
	for _, m := range padModes {
		known = known || mode == m
	}
	if !known {
		return fmt.Errorf("attribute mode=%q out of range %v", mode, padModes)
	}
	if opset >= 11 {
		for _, a := range []string{"pads", "value"} {
			if n.HasAttr(a) {
				return fmt.Errorf("attribute %s is an input from opset 11", a)
			}
		}
		if n.Input(1) == "" {
			return fmt.Errorf("input pads is required from opset 11")
		}
		return nil
	}
	if len(n.Inputs) > 1 {
		return fmt.Errorf("%d inputs before opset 11, want 1 (pads and value are attributes)", len(n.Inputs))
	}
	if !n.HasAttr("pads") {
		return fmt.Errorf("attribute pads is required before opset 11")
	}
	if err := checkPadValues(n.AttrInts("pads")); err != nil {
		return fmt.Errorf("attribute %w", err)
	}
	return nil
}

// checkPadValues checks what can be checked without the data's rank: a
// begin and an end per axis, each within the tensor size bound.
func checkPadValues(pads []int64) error {
	if len(pads)%2 != 0 {
		return fmt.Errorf("pads has %d values, want 2 per axis", len(pads))
	}
	for _, p := range pads {
		if p < -maxElements || p > maxElements {
			return fmt.Errorf("pads=%v out of range [%d, %d]", pads, -maxElements, maxElements)
		}
	}
	return nil
}

// padTypes are the data types Pad takes at an opset.
func padTypes(opset int) []DType {
	switch {
	case opset < 11:
		return []DType{Float32}
	case opset < 13:
		return []DType{Float32, Uint8, Int8, Int32, Int64}
	}
	return []DType{Float32, Uint8, Int8, Int32, Int64, Bool}
}

// padAxis is one axis of a resolved Pad: the input range [lo, hi) kept
// after cropping, and the elements added before and after it.
type padAxis struct {
	lo, hi, before, after int
}

func (a padAxis) out() int { return a.before + a.hi - a.lo + a.after }

// resolvePad checks pads against the data's shape and returns each axis
// and the output shape.
func resolvePad(mode string, shape []int, pads []int64) ([]padAxis, []int, error) {
	if err := checkPadValues(pads); err != nil {
		return nil, nil, err
	}
	rank := len(shape)
	if len(pads) != 2*rank {
		return nil, nil, fmt.Errorf("pads has %d values for rank %d, want %d", len(pads), rank, 2*rank)
	}
	axes := make([]padAxis, rank)
	out := make([]int, rank)
	for d, size := range shape {
		begin, end := int(pads[d]), int(pads[rank+d])
		a := padAxis{lo: max(-begin, 0), hi: size - max(-end, 0), before: max(begin, 0), after: max(end, 0)}
		if a.hi < a.lo {
			return nil, nil, fmt.Errorf("pads %d and %d crop axis %d of size %d below zero", begin, end, d, size)
		}
		if a.hi == a.lo && mode != "constant" && a.before+a.after > 0 {
			return nil, nil, fmt.Errorf("mode %s cannot pad axis %d, which is empty", mode, d)
		}
		axes[d], out[d] = a, a.out()
	}
	if _, err := numElements(out); err != nil {
		return nil, nil, err
	}
	return axes, out, nil
}

// sources maps each output position along the axis to the input index it
// copies, -1 where the constant fills.
func (a padAxis) sources(mode string) []int {
	kept := a.hi - a.lo
	src := make([]int, a.out())
	for o := range src {
		j := o - a.before // position relative to the kept range
		switch {
		case j >= 0 && j < kept:
		case mode == "edge":
			j = min(max(j, 0), kept-1)
		case mode == "reflect" && kept == 1:
			j = 0
		case mode == "reflect":
			// The mirrored data repeats with period 2(kept−1):
			// 0 1 … kept−1 kept−2 … 1, 0 1 ….
			period := 2 * (kept - 1)
			j %= period
			if j < 0 {
				j += period
			}
			if j >= kept {
				j = period - j
			}
		default:
			src[o] = -1
			continue
		}
		src[o] = a.lo + j
	}
	return src
}

func inferPad(n *Node, opset int, in []Value, konst []*Tensor) ([]Value, error) {
	x := in[0]
	if err := wantType("data", x.DType, padTypes(opset)...); err != nil {
		return nil, err
	}
	pads := n.AttrInts("pads")
	if opset >= 11 {
		if in[1].DType != Int64 || len(in[1].Shape) != 1 {
			return nil, fmt.Errorf("pads is %v%v, want a 1-D int64 tensor", in[1].DType, in[1].Shape)
		}
		if konst[1] == nil {
			return nil, fmt.Errorf("pads %q is computed at run time: cannot infer a static shape", n.Input(1))
		}
		if len(in) > 2 && in[2].Name != "" {
			if c, err := numElements(in[2].Shape); in[2].DType != x.DType || err != nil || c != 1 {
				return nil, fmt.Errorf("constant_value is %v%v, want one %v", in[2].DType, in[2].Shape, x.DType)
			}
		}
		pads = konst[1].Int64
	}
	_, out, err := resolvePad(n.AttrString("mode", "constant"), x.Shape, pads)
	if err != nil {
		return nil, err
	}
	return []Value{{DType: x.DType, Shape: out}}, nil
}

func runPad(n *Node, opset int, in []*Tensor) ([]*Tensor, error) {
	x := in[0]
	// Before opset 11 pads and the (float) value are attributes.
	pads := n.AttrInts("pads")
	value := Float32Tensor([]int{}, []float32{n.AttrFloat("value", 0)})
	if opset >= 11 {
		pads, value = in[1].Int64, nil
		if len(in) > 2 {
			value = in[2]
		}
	}
	mode := n.AttrString("mode", "constant")
	axes, out, err := resolvePad(mode, x.Shape, pads)
	if err != nil {
		return nil, err
	}
	src := make([][]int, len(axes))
	for d, a := range axes {
		src[d] = a.sources(mode)
	}
	if value == nil {
		value = &Tensor{} // every slice nil: the fill is zero
	}
	y := &Tensor{DType: x.DType, Shape: out}
	switch x.DType {
	case Float32:
		y.Float32 = padData(x.Float32, x.Shape, src, out, first(value.Float32))
	case Uint8:
		y.Uint8 = padData(x.Uint8, x.Shape, src, out, first(value.Uint8))
	case Int8:
		y.Int8 = padData(x.Int8, x.Shape, src, out, first(value.Int8))
	case Int32:
		y.Int32 = padData(x.Int32, x.Shape, src, out, first(value.Int32))
	case Int64:
		y.Int64 = padData(x.Int64, x.Shape, src, out, first(value.Int64))
	case Bool:
		y.Bool = padData(x.Bool, x.Shape, src, out, first(value.Bool))
	default:
		return nil, fmt.Errorf("data is %v %w", x.DType, ErrUnsupported)
	}
	return []*Tensor{y}, nil
}

// padData builds the row-major output: each element copies the input
// element the per-axis sources name, or is fill where an axis says -1.
func padData[T any](x []T, inShape []int, src [][]int, outShape []int, fill T) []T {
	rank := len(inShape)
	stride := make([]int, rank)
	s := 1
	for d := rank - 1; d >= 0; d-- {
		stride[d] = s
		s *= inShape[d]
	}
	out := make([]T, prod(outShape))
	idx := make([]int, rank)
	for i := range out {
		off := 0
		for d, k := range idx {
			j := src[d][k]
			if j < 0 {
				off = -1
				break
			}
			off += j * stride[d]
		}
		if off < 0 {
			out[i] = fill
		} else {
			out[i] = x[off]
		}
		next(idx, outShape)
	}
	return out
}

// first is a slice's first element, the zero value when it is empty.
func first[T any](s []T) T {
	var z T
	if len(s) > 0 {
		z = s[0]
	}
	return z
}
