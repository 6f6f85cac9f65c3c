package nn

import (
	"math/rand"
	"strings"
	"testing"

	"github.com/tpugen/tpugen/quant"
)

func TestConvPadOrder(t *testing.T) {
	// ONNX pads are [x1_begin, x2_begin, x1_end, x2_end]: one row on top,
	// two columns on the left.
	y := mustRun(t, 13, "Conv", map[string]any{"pads": []int64{1, 2, 0, 0}}, seq(1, 1, 2, 2), f32([]int{1, 1, 1, 1}, 1))
	want := f32([]int{1, 1, 3, 4},
		0, 0, 0, 0,
		0, 0, 0, 1,
		0, 0, 2, 3)
	checkTensor(t, "pads [1 2 0 0]", y, want)
}

func TestConvAutoPad(t *testing.T) {
	ones := f32([]int{1, 1, 2, 2}, 1, 1, 1, 1)
	tests := []struct {
		autoPad string
		want    *Tensor
	}{
		// Input 3×3 (0…8), kernel 2×2 of ones, stride 1: one pad row and
		// column in total, at the end (UPPER) or the beginning (LOWER).
		{"SAME_UPPER", f32([]int{1, 1, 3, 3}, 8, 12, 7, 20, 24, 13, 13, 15, 8)},
		{"SAME_LOWER", f32([]int{1, 1, 3, 3}, 0, 1, 3, 3, 8, 12, 9, 20, 24)},
		{"VALID", f32([]int{1, 1, 2, 2}, 8, 12, 20, 24)},
	}
	for _, tc := range tests {
		y := mustRun(t, 13, "Conv", map[string]any{"auto_pad": tc.autoPad}, seq(1, 1, 3, 3), ones)
		checkTensor(t, tc.autoPad, y, tc.want)
	}
}

// nchwToNHWC and back, to compare with quant's NHWC float reference.
func nchwToNHWC(x []float32, n, c, h, w int) []float32 {
	out := make([]float32, len(x))
	for b := 0; b < n; b++ {
		for ch := 0; ch < c; ch++ {
			for i := 0; i < h*w; i++ {
				out[(b*h*w+i)*c+ch] = x[(b*c+ch)*h*w+i]
			}
		}
	}
	return out
}

func nhwcToNCHW(x []float32, n, c, h, w int) []float32 {
	out := make([]float32, len(x))
	for b := 0; b < n; b++ {
		for ch := 0; ch < c; ch++ {
			for i := 0; i < h*w; i++ {
				out[(b*c+ch)*h*w+i] = x[(b*h*w+i)*c+ch]
			}
		}
	}
	return out
}

func randTensor(r *rand.Rand, shape ...int) *Tensor {
	v := make([]float32, prod(shape))
	for i := range v {
		v[i] = r.Float32()*2 - 1
	}
	return Float32Tensor(shape, v)
}

// TestConvMatchesQuant checks Conv (NCHW, OIHW) against quant's float
// reference (NHWC, OHWI) over strides, dilations, pads and groups.
func TestConvMatchesQuant(t *testing.T) {
	tests := []struct {
		desc                  string
		n, c, h, w, m, kh, kw int
		group                 int
		strides, dilations    []int64
		pads                  []int64 // top, left, bottom, right
	}{
		{desc: "dense 3x3", n: 2, c: 3, h: 7, w: 6, m: 4, kh: 3, kw: 3, group: 1, strides: []int64{1, 1}, dilations: []int64{1, 1}, pads: []int64{1, 1, 1, 1}},
		{desc: "stride 2 asymmetric pads", n: 1, c: 2, h: 8, w: 9, m: 3, kh: 3, kw: 2, group: 1, strides: []int64{2, 3}, dilations: []int64{1, 1}, pads: []int64{0, 2, 1, 0}},
		{desc: "dilation 2", n: 1, c: 2, h: 9, w: 9, m: 2, kh: 3, kw: 3, group: 1, strides: []int64{1, 1}, dilations: []int64{2, 2}, pads: []int64{2, 2, 2, 2}},
		{desc: "two groups", n: 1, c: 4, h: 5, w: 5, m: 6, kh: 3, kw: 3, group: 2, strides: []int64{1, 1}, dilations: []int64{1, 1}, pads: []int64{1, 1, 1, 1}},
		{desc: "depthwise", n: 1, c: 3, h: 6, w: 6, m: 3, kh: 3, kw: 3, group: 3, strides: []int64{2, 2}, dilations: []int64{1, 1}, pads: []int64{1, 1, 1, 1}},
		{desc: "depthwise multiplier 2", n: 1, c: 3, h: 5, w: 4, m: 6, kh: 2, kw: 3, group: 3, strides: []int64{1, 1}, dilations: []int64{1, 1}, pads: []int64{0, 1, 1, 1}},
	}
	r := rand.New(rand.NewSource(1))
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			x := randTensor(r, tc.n, tc.c, tc.h, tc.w)
			cg := tc.c / tc.group
			w := randTensor(r, tc.m, cg, tc.kh, tc.kw)
			b := randTensor(r, tc.m)
			y := mustRun(t, 13, "Conv", map[string]any{
				"group": tc.group, "strides": tc.strides, "dilations": tc.dilations,
				"pads": []int64{tc.pads[0], tc.pads[1], tc.pads[2], tc.pads[3]},
			}, x, w, b)

			win := quant.Window{StrideH: int(tc.strides[0]), StrideW: int(tc.strides[1]),
				DilationH: int(tc.dilations[0]), DilationW: int(tc.dilations[1]), Padding: quant.PaddingExplicit,
				PadTop: int(tc.pads[0]), PadLeft: int(tc.pads[1]), PadBottom: int(tc.pads[2]), PadRight: int(tc.pads[3])}
			inShape := quant.Shape{N: tc.n, H: tc.h, W: tc.w, C: tc.c}
			fShape := quant.Shape{N: tc.m, H: tc.kh, W: tc.kw, C: cg}
			ref, out, err := quant.Conv2DFloat(nchwToNHWC(x.Float32, tc.n, tc.c, tc.h, tc.w), inShape,
				nchwToNHWC(w.Float32, tc.m, cg, tc.kh, tc.kw), fShape, b.Float32, win)
			if err != nil {
				t.Fatal(err)
			}
			want := Float32Tensor([]int{out.N, out.C, out.H, out.W}, nhwcToNCHW(ref, out.N, out.C, out.H, out.W))
			checkTensor(t, tc.desc, y, want)
		})
	}
}

func TestConvShapes(t *testing.T) {
	tests := []struct {
		desc  string
		x, w  []int
		attrs map[string]any
		want  []int
	}{
		{"1-D", []int{1, 2, 10}, []int{4, 2, 3}, map[string]any{"strides": []int64{2}}, []int{1, 4, 4}},
		{"3-D", []int{1, 1, 4, 5, 6}, []int{2, 1, 3, 3, 3}, map[string]any{"pads": []int64{1, 1, 1, 1, 1, 1}}, []int{1, 2, 4, 5, 6}},
		{"SAME_UPPER stride 2", []int{1, 1, 7, 8}, []int{1, 1, 3, 3}, map[string]any{"auto_pad": "SAME_UPPER", "strides": []int64{2, 2}}, []int{1, 1, 4, 4}},
		{"dilated VALID", []int{1, 1, 7, 7}, []int{1, 1, 3, 3}, map[string]any{"auto_pad": "VALID", "dilations": []int64{3, 3}}, []int{1, 1, 1, 1}},
	}
	for _, tc := range tests {
		x, _ := NewTensor(Float32, tc.x)
		w, _ := NewTensor(Float32, tc.w)
		y := mustRun(t, 13, "Conv", tc.attrs, x, w)
		if !agrees(tc.want, y.Shape) {
			t.Errorf("%s: shape %v, want %v", tc.desc, y.Shape, tc.want)
		}
	}
}

func TestConvRunErrors(t *testing.T) {
	x4, _ := NewTensor(Float32, []int{1, 4, 5, 5})
	x3, _ := NewTensor(Float32, []int{1, 3, 5, 5})
	w3, _ := NewTensor(Float32, []int{2, 3, 3, 3})
	w2, _ := NewTensor(Float32, []int{2, 2, 3, 3})
	small, _ := NewTensor(Float32, []int{1, 2, 2, 2})
	tests := []struct {
		desc  string
		attrs map[string]any
		in    []*Tensor
		want  string
	}{
		{"channels", nil, []*Tensor{x4, w3}, "do not make 1 groups"},
		{"kernel_shape", map[string]any{"kernel_shape": []int64{2, 2}}, []*Tensor{x3, w3}, "kernel_shape"},
		{"bias", map[string]any{"group": 2}, []*Tensor{x4, w2, f32([]int{3}, 1, 2, 3)}, "bias shape"},
		{"window too big", nil, []*Tensor{small, w2}, "does not fit"},
		{"int8 input", nil, []*Tensor{Int8Tensor([]int{1, 2, 3, 3}, make([]int8, 18)), w2}, "want [float32]"},
	}
	for _, tc := range tests {
		_, err := runOp(t, 13, "Conv", tc.attrs, 1, tc.in...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line containing %q", tc.desc, err, tc.want)
		}
	}
}
