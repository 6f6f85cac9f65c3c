package nn

import (
	"math"
	"testing"
)

func TestQuantizeLinear(t *testing.T) {
	tests := []struct {
		desc  string
		opset int
		attrs map[string]any
		in    []*Tensor
		want  *Tensor
	}{
		{"half to even, uint8 default", 13, nil,
			[]*Tensor{f32([]int{6}, 0.5, 1.5, 2.5, -0.5, 300, -3), f32([]int{}, 1)},
			Uint8Tensor([]int{6}, []uint8{0, 2, 2, 0, 255, 0})},
		{"int8 zero point saturates", 13, nil,
			[]*Tensor{f32([]int{5}, -2.5, 2.5, 1000, -1000, 0), f32([]int{}, 1), Int8Tensor([]int{}, []int8{1})},
			Int8Tensor([]int{5}, []int8{-1, 3, 127, -128, 1})},
		{"scale divides", 10, nil,
			[]*Tensor{f32([]int{3}, 0.3, 0.5, 0.7), f32([]int{}, 0.2), Uint8Tensor([]int{}, []uint8{128})},
			Uint8Tensor([]int{3}, []uint8{130, 130, 132})},
		{"per axis 1", 13, nil,
			[]*Tensor{f32([]int{1, 2, 2}, 1, 2, 1, 2), f32([]int{2}, 1, 0.5), Int8Tensor([]int{2}, []int8{0, -10})},
			Int8Tensor([]int{1, 2, 2}, []int8{1, 2, -8, -6})},
		{"per axis 0", 13, map[string]any{"axis": 0},
			[]*Tensor{f32([]int{2, 2}, 1, 2, 1, 2), f32([]int{2}, 1, 0.5), Int8Tensor([]int{2}, []int8{0, -10})},
			Int8Tensor([]int{2, 2}, []int8{1, 2, -8, -6})},
	}
	for _, tc := range tests {
		checkTensor(t, tc.desc, mustRun(t, tc.opset, "QuantizeLinear", tc.attrs, tc.in...), tc.want)
	}
	if _, err := runOp(t, 10, "QuantizeLinear", nil, 1, f32([]int{2}, 1, 2), f32([]int{2}, 1, 1)); err == nil {
		t.Error("per-axis scale at opset 10: no error")
	}
}

func TestDequantizeLinear(t *testing.T) {
	checkTensor(t, "uint8", mustRun(t, 13, "DequantizeLinear", nil,
		Uint8Tensor([]int{3}, []uint8{0, 128, 255}), f32([]int{}, 0.5), Uint8Tensor([]int{}, []uint8{128})),
		f32([]int{3}, -64, 0, 63.5))
	checkTensor(t, "int32 no zero point", mustRun(t, 13, "DequantizeLinear", nil,
		Int32Tensor([]int{2}, []int32{-4, 6}), f32([]int{}, 0.25)), f32([]int{2}, -1, 1.5))
	checkTensor(t, "per axis", mustRun(t, 13, "DequantizeLinear", nil,
		Int8Tensor([]int{1, 2, 1}, []int8{4, 4}), f32([]int{2}, 1, 2), Int8Tensor([]int{2}, []int8{0, 2})),
		f32([]int{1, 2, 1}, 4, 4))
}

// requantizeRef is the spec's formula in float64, the half-to-even
// rounding spelled out.
func requantizeRef(acc float64, scale float64, zp int64) int64 {
	v := acc * scale
	r := math.Floor(v)
	if d := v - r; d > 0.5 || d == 0.5 && int64(r)%2 != 0 {
		r++
	}
	return min(255, max(0, int64(r)+zp))
}

func TestQLinearMatMul(t *testing.T) {
	// a: 2×2 uint8 zp 10 scale 0.5; b: 2×2 uint8 zp 0 scale 0.25 per
	// column; y scale 0.125 zp 3.
	a := Uint8Tensor([]int{2, 2}, []uint8{12, 20, 10, 255})
	b := Uint8Tensor([]int{2, 2}, []uint8{1, 2, 3, 4})
	y := mustRun(t, 10, "QLinearMatMul", nil,
		a, f32([]int{}, 0.5), Uint8Tensor([]int{}, []uint8{10}),
		b, f32([]int{}, 0.25), Uint8Tensor([]int{}, []uint8{0}),
		f32([]int{}, 0.125), Uint8Tensor([]int{}, []uint8{3}))
	// (a−10)·b = [[2·1+10·3, 2·2+10·4], [0+245·3, 0+245·4]] = [[32 44] [735 980]],
	// times 0.5·0.25/0.125 = 1, plus 3, saturated.
	checkTensor(t, "qlinearmatmul", y, Uint8Tensor([]int{2, 2}, []uint8{35, 47, 255, 255}))

	// Ties round to even: acc 5 × 0.5 = 2.5 → 2, acc 7 × 0.5 = 3.5 → 4.
	y = mustRun(t, 10, "QLinearMatMul", nil,
		Uint8Tensor([]int{1, 2}, []uint8{5, 7}), f32([]int{}, 1), Uint8Tensor([]int{}, []uint8{0}),
		Uint8Tensor([]int{2, 2}, []uint8{1, 0, 0, 1}), f32([]int{}, 1), Uint8Tensor([]int{}, []uint8{0}),
		f32([]int{}, 2), Uint8Tensor([]int{}, []uint8{0}))
	checkTensor(t, "ties", y, Uint8Tensor([]int{1, 2}, []uint8{uint8(requantizeRef(5, 0.5, 0)), uint8(requantizeRef(7, 0.5, 0))}))
	checkTensor(t, "ties literal", y, Uint8Tensor([]int{1, 2}, []uint8{2, 4}))
}

func TestMatMulInteger(t *testing.T) {
	a := Uint8Tensor([]int{2, 2}, []uint8{11, 12, 13, 14})
	b := Int8Tensor([]int{2, 2}, []int8{1, -1, 2, -2})
	// Per-row a zero points 10 and 12, scalar b zero point 0.
	y := mustRun(t, 10, "MatMulInteger", nil, a, b, Uint8Tensor([]int{2}, []uint8{10, 12}))
	// rows (1,2) and (1,2): [1+4, -1-4]
	checkTensor(t, "per-row zp", y, Int32Tensor([]int{2, 2}, []int32{5, -5, 5, -5}))
	// Per-column b zero points: b − zp = [[0 0] [1 −1]].
	y = mustRun(t, 10, "MatMulInteger", nil, a, b, nil, Int8Tensor([]int{2}, []int8{1, -1}))
	checkTensor(t, "per-column zp", y, Int32Tensor([]int{2, 2}, []int32{12, -12, 14, -14}))
}

func TestConvIntegerPadsWithZeroPoint(t *testing.T) {
	// Padding contributes the input zero point, i.e. nothing: with x all
	// equal to its zero point the output is 0 everywhere, pads included.
	x := Uint8Tensor([]int{1, 1, 2, 2}, []uint8{7, 7, 7, 7})
	w := Uint8Tensor([]int{1, 1, 2, 2}, []uint8{1, 2, 3, 4})
	y := mustRun(t, 10, "ConvInteger", map[string]any{"pads": []int64{1, 1, 1, 1}}, x, w, Uint8Tensor([]int{}, []uint8{7}))
	checkTensor(t, "zero", y, Int32Tensor([]int{1, 1, 3, 3}, make([]int32, 9)))
	// x − 7 = 1 at one corner.
	x = Uint8Tensor([]int{1, 1, 2, 2}, []uint8{8, 7, 7, 7})
	y = mustRun(t, 10, "ConvInteger", map[string]any{"pads": []int64{1, 1, 1, 1}}, x, w, Uint8Tensor([]int{}, []uint8{7}), Uint8Tensor([]int{}, []uint8{1}))
	checkTensor(t, "corner", y, Int32Tensor([]int{1, 1, 3, 3}, []int32{3, 2, 0, 1, 0, 0, 0, 0, 0}))
}

func TestQLinearConv(t *testing.T) {
	// 1×1 convolution, two output channels with per-channel weight
	// scales, bias, int8 output.
	x := Uint8Tensor([]int{1, 1, 1, 2}, []uint8{130, 126}) // zp 128 → 2, −2
	w := Int8Tensor([]int{2, 1, 1, 1}, []int8{3, -5})
	y := mustRun(t, 10, "QLinearConv", nil,
		x, f32([]int{}, 0.5), Uint8Tensor([]int{}, []uint8{128}),
		w, f32([]int{2}, 1, 0.25), Int8Tensor([]int{2}, []int8{0, 0}),
		f32([]int{}, 1), Int8Tensor([]int{}, []int8{-1}),
		Int32Tensor([]int{2}, []int32{1, 0}))
	// ch0: (2·3+1)·0.5 = 3.5 → 4, (−2·3+1)·0.5 = −2.5 → −2; plus −1.
	// ch1: (2·−5)·0.125 = −1.25 → −1, (10)·0.125 = 1.25 → 1; plus −1.
	checkTensor(t, "qlinearconv", y, Int8Tensor([]int{1, 2, 1, 2}, []int8{3, -3, -2, 0}))
}
