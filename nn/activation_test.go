package nn

import (
	"math"
	"testing"
)

func TestActivations(t *testing.T) {
	x := f32([]int{4}, -2, -0.5, 0, 3)
	sig := func(v float64) float32 { return float32(1 / (1 + math.Exp(-v))) }
	tests := []struct {
		op    string
		opset int
		attrs map[string]any
		in    []*Tensor
		want  *Tensor
	}{
		{"Relu", 14, nil, []*Tensor{x}, f32([]int{4}, 0, 0, 0, 3)},
		{"Relu", 14, nil, []*Tensor{Int8Tensor([]int{2}, []int8{-5, 5})}, Int8Tensor([]int{2}, []int8{0, 5})},
		{"LeakyRelu", 16, nil, []*Tensor{x}, f32([]int{4}, -0.02, -0.005, 0, 3)},
		{"LeakyRelu", 16, map[string]any{"alpha": float32(0.5)}, []*Tensor{x}, f32([]int{4}, -1, -0.25, 0, 3)},
		{"Sigmoid", 13, nil, []*Tensor{x}, f32([]int{4}, sig(-2), sig(-0.5), 0.5, sig(3))},
		{"Tanh", 13, nil, []*Tensor{x}, f32([]int{4}, float32(math.Tanh(-2)), float32(math.Tanh(-0.5)), 0, float32(math.Tanh(3)))},
		// Clip: attributes before opset 11, inputs after (min alone,
		// max alone, both), integer types from opset 12.
		{"Clip", 6, map[string]any{"min": float32(-1), "max": float32(1)}, []*Tensor{x}, f32([]int{4}, -1, -0.5, 0, 1)},
		{"Clip", 6, map[string]any{"max": float32(0)}, []*Tensor{x}, f32([]int{4}, -2, -0.5, 0, 0)},
		{"Clip", 13, nil, []*Tensor{x, f32([]int{}, -1), f32([]int{}, 1)}, f32([]int{4}, -1, -0.5, 0, 1)},
		{"Clip", 13, nil, []*Tensor{x, nil, f32([]int{}, 0)}, f32([]int{4}, -2, -0.5, 0, 0)},
		{"Clip", 13, nil, []*Tensor{x, f32([]int{}, 0)}, f32([]int{4}, 0, 0, 0, 3)},
		{"Clip", 13, nil, []*Tensor{Int8Tensor([]int{3}, []int8{-100, 0, 100}), Int8Tensor([]int{}, []int8{-6}), Int8Tensor([]int{}, []int8{6})},
			Int8Tensor([]int{3}, []int8{-6, 0, 6})},
	}
	for _, tc := range tests {
		checkTensor(t, tc.op, mustRun(t, tc.opset, tc.op, tc.attrs, tc.in...), tc.want)
	}
}

// TestSoftmaxAxisSemantics: before opset 13 Softmax normalizes the input
// coerced to 2-D at axis; from 13 on, along the one axis.
func TestSoftmaxAxisSemantics(t *testing.T) {
	x := f32([]int{1, 2, 2}, 0, 0, 0, 0)
	q := float32(0.25)
	h := float32(0.5)
	tests := []struct {
		opset int
		attrs map[string]any
		want  *Tensor
	}{
		{11, nil, f32([]int{1, 2, 2}, q, q, q, q)},                        // axis 1: rows of 4
		{11, map[string]any{"axis": 0}, f32([]int{1, 2, 2}, q, q, q, q)},  // one row of 4
		{11, map[string]any{"axis": -1}, f32([]int{1, 2, 2}, h, h, h, h)}, // rows of 2
		{13, nil, f32([]int{1, 2, 2}, h, h, h, h)},                        // along axis -1
		{13, map[string]any{"axis": 1}, f32([]int{1, 2, 2}, h, h, h, h)},  // along axis 1 only
		{13, map[string]any{"axis": 0}, f32([]int{1, 2, 2}, 1, 1, 1, 1)},  // an axis of size 1
		{13, map[string]any{"axis": -3}, f32([]int{1, 2, 2}, 1, 1, 1, 1)}, // the same, negative
	}
	for _, tc := range tests {
		checkTensor(t, "softmax", mustRun(t, tc.opset, "Softmax", tc.attrs, x), tc.want)
	}
	// Distinct values show the lane layout: along axis 1 of [1 2 2].
	y := mustRun(t, 13, "Softmax", map[string]any{"axis": 1}, f32([]int{1, 2, 2}, 0, 1, float32(math.Log(3)), 1))
	checkTensor(t, "axis 1 lanes", y, f32([]int{1, 2, 2}, 0.25, 0.5, 0.75, 0.5))
	if _, err := runOp(t, 13, "Softmax", map[string]any{"axis": 3}, 1, x); err == nil {
		t.Error("axis 3 of rank 3: no error")
	}
}
