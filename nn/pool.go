package nn

import (
	"fmt"
	"math"
)

// MaxPool, AveragePool and GlobalAveragePool over N×C×D1×…×Dk.

func checkPool(n *Node, opset int) error {
	for _, a := range []string{"ceil_mode", "count_include_pad", "storage_order"} {
		if err := checkBool(a)(n, opset); err != nil {
			return err
		}
	}
	return checkWindow(n, true)
}

// resolvePool checks X and resolves the window of a pooling node.
func resolvePool(n *Node, x []int) (window, error) {
	if len(x) < 3 {
		return window{}, fmt.Errorf("input shape %v: want N×C×D1×…", x)
	}
	kernel := ints(n.AttrInts("kernel_shape"))
	if len(kernel) != len(x)-2 {
		return window{}, fmt.Errorf("kernel_shape %v for input shape %v", kernel, x)
	}
	return resolveWindow(n, x[2:], kernel, n.AttrInt("ceil_mode", 0) != 0)
}

func inferPool(n *Node, _ int, in []Value, _ []*Tensor) ([]Value, error) {
	allowed := []DType{Float32}
	if n.Op == "MaxPool" {
		allowed = []DType{Float32, Int8, Uint8}
	}
	if err := wantType("input", in[0].DType, allowed...); err != nil {
		return nil, err
	}
	w, err := resolvePool(n, in[0].Shape)
	if err != nil {
		return nil, err
	}
	shape := append([]int{in[0].Shape[0], in[0].Shape[1]}, w.out...)
	if _, err := numElements(shape); err != nil {
		return nil, err
	}
	outs := []Value{{DType: in[0].DType, Shape: shape}}
	if len(n.Outputs) > 1 {
		outs = append(outs, Value{DType: Int64, Shape: shape})
	}
	return outs, nil
}

// pool runs f over the taps of every window of every N×C plane.
func pool(x *Tensor, w window, f func(plane []float64, taps []tap, pos []int) float64) []float64 {
	planes := x.Shape[0] * x.Shape[1]
	inSize, outSize := prod(w.in), prod(w.out)
	xs := x.float64s()
	out := make([]float64, planes*outSize)
	pos := make([]int, len(w.out))
	var buf []tap
	for op := 0; op < outSize; op++ {
		buf = w.taps(pos, buf)
		for p := 0; p < planes; p++ {
			out[p*outSize+op] = f(xs[p*inSize:(p+1)*inSize], buf, pos)
		}
		next(pos, w.out)
	}
	return out
}

// runMaxPool takes the maximum over the taps inside the input (padding
// never wins) and, when asked, its flat index into X (row-major, or with
// storage_order=1 column-major within each plane).
func runMaxPool(n *Node, _ int, in []*Tensor) ([]*Tensor, error) {
	x := in[0]
	w, err := resolvePool(n, x.Shape)
	if err != nil {
		return nil, err
	}
	shape := append([]int{x.Shape[0], x.Shape[1]}, w.out...)
	y := pool(x, w, func(plane []float64, taps []tap, _ []int) float64 {
		m := -math.MaxFloat32
		for _, t := range taps {
			m = math.Max(m, plane[t.in])
		}
		return m
	})
	outs := []*Tensor{fromFloat64s(x.DType, shape, y)}
	if len(n.Outputs) > 1 && n.Outputs[1] != "" {
		colMajor := n.AttrInt("storage_order", 0) != 0
		inSize, outSize := prod(w.in), prod(w.out)
		idx := pool(x, w, func(vals []float64, taps []tap, pos []int) float64 {
			best, at := -math.MaxFloat32, -1
			for _, t := range taps {
				if vals[t.in] > best {
					best, at = vals[t.in], t.in
				}
			}
			if at >= 0 && colMajor {
				at = columnMajor(at, w.in)
			}
			return float64(at)
		})
		// Offsets are within a plane; add the plane's base.
		for i := range idx {
			if idx[i] >= 0 {
				idx[i] += float64(i / outSize * inSize)
			}
		}
		outs = append(outs, fromFloat64s(Int64, shape, idx))
	}
	return outs, nil
}

// columnMajor converts a row-major offset within dims to column-major
// (first axis fastest).
func columnMajor(off int, dims []int) int {
	idx := make([]int, len(dims))
	for d := len(dims) - 1; d >= 0; d-- {
		idx[d] = off % dims[d]
		off /= dims[d]
	}
	res, stride := 0, 1
	for d, i := range idx {
		res += i * stride
		stride *= dims[d]
	}
	return res
}

// runAveragePool averages the taps inside the input; with
// count_include_pad the divisor also counts the padded taps (but not the
// positions past the end pad that ceil_mode adds).
func runAveragePool(n *Node, _ int, in []*Tensor) ([]*Tensor, error) {
	x := in[0]
	w, err := resolvePool(n, x.Shape)
	if err != nil {
		return nil, err
	}
	includePad := n.AttrInt("count_include_pad", 0) != 0
	shape := append([]int{x.Shape[0], x.Shape[1]}, w.out...)
	y := pool(x, w, func(plane []float64, taps []tap, pos []int) float64 {
		sum := 0.0
		for _, t := range taps {
			sum += plane[t.in]
		}
		count := len(taps)
		if includePad {
			count = 1
			for d, p := range pos {
				start := p*w.strides[d] - w.padBegin[d]
				end := min(start+w.kernel[d], w.in[d]+w.padEnd[d])
				count *= end - start
			}
		}
		if count == 0 {
			return 0
		}
		return sum / float64(count)
	})
	return []*Tensor{fromFloat64s(Float32, shape, y)}, nil
}

func inferGlobalPool(_ *Node, _ int, in []Value, _ []*Tensor) ([]Value, error) {
	if err := wantType("input", in[0].DType, Float32); err != nil {
		return nil, err
	}
	x := in[0].Shape
	if len(x) < 3 {
		return nil, fmt.Errorf("input shape %v: want N×C×D1×…", x)
	}
	shape := []int{x[0], x[1]}
	for range x[2:] {
		shape = append(shape, 1)
	}
	return []Value{{DType: Float32, Shape: shape}}, nil
}

func runGlobalAveragePool(_ *Node, _ int, in []*Tensor) ([]*Tensor, error) {
	x := in[0]
	planes, size := x.Shape[0]*x.Shape[1], prod(x.Shape[2:])
	y := make([]float64, planes)
	for p := range y {
		sum := 0.0
		for _, v := range x.Float32[p*size : (p+1)*size] {
			sum += float64(v)
		}
		if size > 0 {
			y[p] = sum / float64(size)
		}
	}
	shape := []int{x.Shape[0], x.Shape[1]}
	for range x.Shape[2:] {
		shape = append(shape, 1)
	}
	return []*Tensor{fromFloat64s(Float32, shape, y)}, nil
}
