package nn

import (
	"math/rand"
	"testing"

	"github.com/tpugen/tpugen/quant"
)

func TestMaxPool(t *testing.T) {
	x := seq(1, 1, 3, 4) // 0…11
	tests := []struct {
		desc         string
		attrs        map[string]any
		want, argmax *Tensor
	}{
		{"2x2 stride 2", map[string]any{"kernel_shape": []int64{2, 2}, "strides": []int64{2, 2}},
			f32([]int{1, 1, 1, 2}, 5, 7), Int64Tensor([]int{1, 1, 1, 2}, []int64{5, 7})},
		{"ceil_mode", map[string]any{"kernel_shape": []int64{2, 2}, "strides": []int64{2, 2}, "ceil_mode": 1},
			f32([]int{1, 1, 2, 2}, 5, 7, 9, 11), Int64Tensor([]int{1, 1, 2, 2}, []int64{5, 7, 9, 11})},
		{"column-major indices", map[string]any{"kernel_shape": []int64{2, 2}, "strides": []int64{2, 2}, "storage_order": 1},
			f32([]int{1, 1, 1, 2}, 5, 7), Int64Tensor([]int{1, 1, 1, 2}, []int64{1*1 + 1*3, 1*1 + 3*3})},
		{"pads never win", map[string]any{"kernel_shape": []int64{3, 3}, "pads": []int64{1, 1, 1, 1}},
			f32([]int{1, 1, 3, 4}, 5, 6, 7, 7, 9, 10, 11, 11, 9, 10, 11, 11), nil},
		{"dilation 2", map[string]any{"kernel_shape": []int64{2, 2}, "dilations": []int64{2, 2}},
			f32([]int{1, 1, 1, 2}, 10, 11), nil},
	}
	for _, tc := range tests {
		outs := 1
		if tc.argmax != nil {
			outs = 2
		}
		got, err := runOp(t, 12, "MaxPool", tc.attrs, outs, x)
		if err != nil {
			t.Fatalf("%s: %v", tc.desc, err)
		}
		checkTensor(t, tc.desc, got[0], tc.want)
		if tc.argmax != nil {
			checkTensor(t, tc.desc+" indices", got[1], tc.argmax)
		}
	}
	u := mustRun(t, 12, "MaxPool", map[string]any{"kernel_shape": []int64{2}}, Uint8Tensor([]int{1, 1, 3}, []uint8{200, 3, 255}))
	checkTensor(t, "uint8", u, Uint8Tensor([]int{1, 1, 2}, []uint8{200, 255}))
}

func TestAveragePool(t *testing.T) {
	x := seq(1, 1, 3, 3) // 0…8
	tests := []struct {
		desc  string
		attrs map[string]any
		want  *Tensor
	}{
		{"pads excluded", map[string]any{"kernel_shape": []int64{2, 2}, "pads": []int64{1, 1, 0, 0}},
			f32([]int{1, 1, 3, 3}, 0, 0.5, 1.5, 1.5, 2, 3, 4.5, 5, 6)},
		{"count_include_pad", map[string]any{"kernel_shape": []int64{2, 2}, "pads": []int64{1, 1, 0, 0}, "count_include_pad": 1},
			f32([]int{1, 1, 3, 3}, 0, 0.25, 0.75, 0.75, 2, 3, 2.25, 5, 6)},
		// ceil_mode: the window past the end pad averages what it covers.
		{"ceil_mode", map[string]any{"kernel_shape": []int64{2, 2}, "strides": []int64{2, 2}, "ceil_mode": 1},
			f32([]int{1, 1, 2, 2}, 2, 3.5, 6.5, 8)},
		{"ceil_mode count_include_pad", map[string]any{"kernel_shape": []int64{2, 2}, "strides": []int64{2, 2}, "ceil_mode": 1, "count_include_pad": 1},
			f32([]int{1, 1, 2, 2}, 2, 3.5, 6.5, 8)},
		{"SAME_LOWER", map[string]any{"kernel_shape": []int64{2, 2}, "auto_pad": "SAME_LOWER"},
			f32([]int{1, 1, 3, 3}, 0, 0.5, 1.5, 1.5, 2, 3, 4.5, 5, 6)},
		{"SAME_UPPER", map[string]any{"kernel_shape": []int64{2, 2}, "auto_pad": "SAME_UPPER"},
			f32([]int{1, 1, 3, 3}, 2, 3, 3.5, 5, 6, 6.5, 6.5, 7.5, 8)},
	}
	for _, tc := range tests {
		checkTensor(t, tc.desc, mustRun(t, 11, "AveragePool", tc.attrs, x), tc.want)
	}
}

// TestPoolMatchesQuant compares 2-D pooling with quant's NHWC float
// reference, which also leaves pads out.
func TestPoolMatchesQuant(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	x := randTensor(r, 2, 3, 7, 6)
	p := quant.PoolParams{FilterH: 3, FilterW: 2, Window: quant.Window{StrideH: 2, StrideW: 1, Padding: quant.PaddingExplicit, PadTop: 1, PadLeft: 0, PadBottom: 1, PadRight: 1}}
	attrs := map[string]any{"kernel_shape": []int64{3, 2}, "strides": []int64{2, 1}, "pads": []int64{1, 0, 1, 1}}
	in := quant.Shape{N: 2, H: 7, W: 6, C: 3}
	for _, op := range []string{"MaxPool", "AveragePool"} {
		f := quant.MaxPoolFloat
		if op == "AveragePool" {
			f = quant.AveragePoolFloat
		}
		ref, s, err := f(nchwToNHWC(x.Float32, 2, 3, 7, 6), in, p)
		if err != nil {
			t.Fatal(err)
		}
		want := Float32Tensor([]int{s.N, s.C, s.H, s.W}, nhwcToNCHW(ref, s.N, s.C, s.H, s.W))
		checkTensor(t, op, mustRun(t, 12, op, attrs, x), want)
	}
}

func TestGlobalAveragePool(t *testing.T) {
	checkTensor(t, "2-D", mustRun(t, 13, "GlobalAveragePool", nil, seq(1, 2, 2, 2)), f32([]int{1, 2, 1, 1}, 1.5, 5.5))
	checkTensor(t, "1-D", mustRun(t, 13, "GlobalAveragePool", nil, seq(1, 1, 3)), f32([]int{1, 1, 1}, 1))
}
