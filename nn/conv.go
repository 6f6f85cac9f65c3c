package nn

import "fmt"

// Sliding windows (Conv, ConvInteger, QLinearConv, MaxPool, AveragePool)
// over the spatial dimensions of N×C×D1×…×Dk tensors, as the ONNX
// operator specs define them: pads are [x1_begin, x2_begin, …, x1_end,
// x2_end, …]; auto_pad SAME_UPPER puts the odd pad at the end, SAME_LOWER
// at the beginning.

// maxWindowAttr bounds kernel, stride, dilation, pad and group attributes.
const maxWindowAttr = 1 << 16

// window is a resolved sliding window along each spatial axis.
type window struct {
	kernel, strides, dilations []int
	padBegin, padEnd           []int
	in, out                    []int
}

// checkWindow validates the window attributes at load.
func checkWindow(n *Node, needKernel bool) error {
	switch p := n.AttrString("auto_pad", "NOTSET"); p {
	case "NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER":
		if p != "NOTSET" && n.HasAttr("pads") {
			return fmt.Errorf("attributes pads and auto_pad=%s are exclusive", p)
		}
	default:
		return fmt.Errorf("attribute auto_pad=%q out of range (NOTSET, VALID, SAME_UPPER, SAME_LOWER)", p)
	}
	if needKernel && !n.HasAttr("kernel_shape") {
		return fmt.Errorf("attribute kernel_shape is required")
	}
	rank := -1
	for _, a := range []struct {
		name   string
		lo     int64
		factor int
	}{{"kernel_shape", 1, 1}, {"strides", 1, 1}, {"dilations", 1, 1}, {"pads", 0, 2}} {
		if !n.HasAttr(a.name) {
			continue
		}
		vs := n.AttrInts(a.name)
		if len(vs) == 0 || len(vs)%a.factor != 0 {
			return fmt.Errorf("attribute %s has %d values", a.name, len(vs))
		}
		if r := len(vs) / a.factor; rank < 0 {
			rank = r
		} else if r != rank {
			return fmt.Errorf("attribute %s has %d values for %d spatial axes", a.name, len(vs), rank)
		}
		for _, v := range vs {
			if v < a.lo || v > maxWindowAttr {
				return fmt.Errorf("attribute %s=%v out of range [%d, %d]", a.name, vs, a.lo, maxWindowAttr)
			}
		}
	}
	return nil
}

func checkConv(n *Node, _ int) error {
	if g := n.AttrInt("group", 1); g < 1 || g > maxWindowAttr {
		return fmt.Errorf("attribute group=%d out of range [1, %d]", g, maxWindowAttr)
	}
	return checkWindow(n, false)
}

func ints(vs []int64) []int {
	out := make([]int, len(vs))
	for i, v := range vs {
		out[i] = int(v)
	}
	return out
}

// axisAttr returns an ints attribute with one value per spatial axis, or
// def for each axis when it is not set.
func axisAttr(n *Node, name string, k, def int) ([]int, error) {
	vs := n.AttrInts(name)
	if vs == nil {
		out := make([]int, k)
		for i := range out {
			out[i] = def
		}
		return out, nil
	}
	if len(vs) != k {
		return nil, fmt.Errorf("attribute %s has %d values for %d spatial axes", name, len(vs), k)
	}
	return ints(vs), nil
}

// resolveWindow computes pads and output sizes for a kernel over the
// spatial input sizes; ceil rounds the output size up (pooling ceil_mode).
func resolveWindow(n *Node, in, kernel []int, ceil bool) (window, error) {
	k := len(in)
	w := window{kernel: kernel, in: in, padBegin: make([]int, k), padEnd: make([]int, k), out: make([]int, k)}
	var err error
	if len(kernel) != k {
		return w, fmt.Errorf("kernel %v for %d spatial axes", kernel, k)
	}
	if w.strides, err = axisAttr(n, "strides", k, 1); err != nil {
		return w, err
	}
	if w.dilations, err = axisAttr(n, "dilations", k, 1); err != nil {
		return w, err
	}
	autoPad := n.AttrString("auto_pad", "NOTSET")
	if autoPad == "NOTSET" {
		pads, err := axisAttr(n, "pads", 2*k, 0)
		if err != nil {
			return w, err
		}
		copy(w.padBegin, pads[:k])
		copy(w.padEnd, pads[k:])
	}
	for i := 0; i < k; i++ {
		s, eff := w.strides[i], (kernel[i]-1)*w.dilations[i]+1
		if kernel[i] < 1 || s < 1 || w.dilations[i] < 1 || in[i] < 0 {
			return w, fmt.Errorf("kernel %v, strides %v, dilations %v over %v", kernel, w.strides, w.dilations, in)
		}
		switch autoPad {
		case "SAME_UPPER", "SAME_LOWER":
			w.out[i] = (in[i] + s - 1) / s
			total := max(0, (w.out[i]-1)*s+eff-in[i])
			small, big := total/2, total-total/2
			if autoPad == "SAME_UPPER" {
				w.padBegin[i], w.padEnd[i] = small, big
			} else {
				w.padBegin[i], w.padEnd[i] = big, small
			}
		default: // NOTSET (explicit pads) and VALID (no pads)
			span := in[i] + w.padBegin[i] + w.padEnd[i] - eff
			if span < 0 {
				return w, fmt.Errorf("window %d (dilated) does not fit input %d with pads %d+%d on spatial axis %d", eff, in[i], w.padBegin[i], w.padEnd[i], i)
			}
			w.out[i] = span/s + 1
			if ceil && span%s != 0 {
				w.out[i]++
			}
		}
		if w.out[i] < 1 {
			return w, fmt.Errorf("empty output on spatial axis %d", i)
		}
	}
	return w, nil
}

// tap is one kernel position inside the input for an output position.
type tap struct{ k, in int }

// taps lists, for the output position with spatial index pos, the kernel
// positions that fall inside the input and the input offsets they read
// (padding contributes nothing). buf is reused.
func (w *window) taps(pos []int, buf []tap) []tap {
	buf = buf[:0]
	k := len(w.in)
	kpos := make([]int, k)
	kSize := prod(w.kernel)
	for kf := 0; kf < kSize; kf++ {
		off, inside := 0, true
		for d := 0; d < k; d++ {
			p := pos[d]*w.strides[d] - w.padBegin[d] + kpos[d]*w.dilations[d]
			if p < 0 || p >= w.in[d] {
				inside = false
				break
			}
			off = off*w.in[d] + p
		}
		if inside {
			buf = append(buf, tap{kf, off})
		}
		next(kpos, w.kernel)
	}
	return buf
}

// next advances a row-major multi-index within dims (an odometer).
func next(idx, dims []int) {
	for d := len(idx) - 1; d >= 0; d-- {
		idx[d]++
		if idx[d] < dims[d] {
			return
		}
		idx[d] = 0
	}
}

func prod(xs []int) int {
	p := 1
	for _, x := range xs {
		p *= x
	}
	return p
}

// convShape is a resolved convolution: batch, channels, groups, window.
type convShape struct {
	n, c, m, group int
	win            window
}

// outShape is the N×M×O1×…×Ok output shape.
func (s convShape) outShape() []int {
	return append([]int{s.n, s.m}, s.win.out...)
}

// resolveConv checks X (N×C×D…) against W (M×C/group×K…) and resolves
// the window.
func resolveConv(n *Node, x, w []int) (convShape, error) {
	if len(x) < 3 {
		return convShape{}, fmt.Errorf("input shape %v: want N×C×D1×…", x)
	}
	if len(w) != len(x) {
		return convShape{}, fmt.Errorf("weight shape %v for input shape %v", w, x)
	}
	s := convShape{n: x[0], c: x[1], m: w[0], group: int(n.AttrInt("group", 1))}
	if s.group < 1 || s.c%s.group != 0 || s.m%s.group != 0 || w[1]*s.group != s.c {
		return s, fmt.Errorf("input channels %d, weight %v do not make %d groups", s.c, w, s.group)
	}
	kernel := append([]int{}, w[2:]...)
	if ks := n.AttrInts("kernel_shape"); ks != nil {
		if fmt.Sprint(ints(ks)) != fmt.Sprint(kernel) {
			return s, fmt.Errorf("kernel_shape %v does not match weight shape %v", ks, w)
		}
	}
	var err error
	if s.win, err = resolveWindow(n, x[2:], kernel, false); err != nil {
		return s, err
	}
	if _, err := numElements(s.outShape()); err != nil {
		return s, err
	}
	return s, nil
}

// convolve is the grouped N-d convolution of N×C×D… x with M×C/g×K… w,
// plus bias (nil for none), in the element type of the accumulation:
// float64 for the float reference, int32 (wrapping) for the integer ops.
func convolve[T float64 | int32](x, w, bias []T, s convShape) []T {
	inSize, outSize, kSize := prod(s.win.in), prod(s.win.out), prod(s.win.kernel)
	cg, mg := s.c/s.group, s.m/s.group
	out := make([]T, s.n*s.m*outSize)
	pos := make([]int, len(s.win.out))
	var buf []tap
	for op := 0; op < outSize; op++ {
		buf = s.win.taps(pos, buf)
		for b := 0; b < s.n; b++ {
			for oc := 0; oc < s.m; oc++ {
				var sum T
				if bias != nil {
					sum = bias[oc]
				}
				g := oc / mg
				for ic := 0; ic < cg; ic++ {
					xc := (b*s.c + g*cg + ic) * inSize
					wc := (oc*cg + ic) * kSize
					for _, t := range buf {
						sum += x[xc+t.in] * w[wc+t.k]
					}
				}
				out[(b*s.m+oc)*outSize+op] = sum
			}
		}
		next(pos, s.win.out)
	}
	return out
}

func inferConv(n *Node, _ int, in []Value, _ []*Tensor) ([]Value, error) {
	for i, v := range in {
		if v.Name != "" || i < 2 {
			if err := wantType(fmt.Sprintf("input %d", i), v.DType, Float32); err != nil {
				return nil, err
			}
		}
	}
	s, err := resolveConv(n, in[0].Shape, in[1].Shape)
	if err != nil {
		return nil, err
	}
	if len(in) > 2 && in[2].Name != "" && (len(in[2].Shape) != 1 || in[2].Shape[0] != s.m) {
		return nil, fmt.Errorf("bias shape %v for %d output channels", in[2].Shape, s.m)
	}
	return []Value{{DType: Float32, Shape: s.outShape()}}, nil
}

// runConv is Conv: float32 in and out, accumulated in float64.
func runConv(n *Node, _ int, in []*Tensor) ([]*Tensor, error) {
	s, err := resolveConv(n, in[0].Shape, in[1].Shape)
	if err != nil {
		return nil, err
	}
	var bias []float64
	if len(in) > 2 && in[2] != nil {
		bias = in[2].float64s()
	}
	out := convolve(in[0].float64s(), in[1].float64s(), bias, s)
	return []*Tensor{fromFloat64s(Float32, s.outShape(), out)}, nil
}
