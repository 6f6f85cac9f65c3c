package nn

import (
	"testing"
)

func TestGemm(t *testing.T) {
	a := f32([]int{2, 3}, 1, 2, 3, 4, 5, 6)
	aT := f32([]int{3, 2}, 1, 4, 2, 5, 3, 6)
	b := f32([]int{3, 2}, 1, 0, 0, 1, 1, 1)
	bT := f32([]int{2, 3}, 1, 0, 1, 0, 1, 1)
	// A·B = [[4 5] [10 11]]
	tests := []struct {
		desc  string
		attrs map[string]any
		in    []*Tensor
		want  *Tensor
	}{
		{"plain", nil, []*Tensor{a, b}, f32([]int{2, 2}, 4, 5, 10, 11)},
		{"transA", map[string]any{"transA": 1}, []*Tensor{aT, b}, f32([]int{2, 2}, 4, 5, 10, 11)},
		{"transB", map[string]any{"transB": 1}, []*Tensor{a, bT}, f32([]int{2, 2}, 4, 5, 10, 11)},
		{"alpha beta, row bias", map[string]any{"alpha": float32(2), "beta": float32(0.5)},
			[]*Tensor{a, b, f32([]int{2}, 2, 4)}, f32([]int{2, 2}, 9, 12, 21, 24)},
		{"column bias", nil, []*Tensor{a, b, f32([]int{2, 1}, 1, 2)}, f32([]int{2, 2}, 5, 6, 12, 13)},
		{"scalar bias", nil, []*Tensor{a, b, f32([]int{}, 1)}, f32([]int{2, 2}, 5, 6, 11, 12)},
	}
	for _, tc := range tests {
		checkTensor(t, tc.desc, mustRun(t, 13, "Gemm", tc.attrs, tc.in...), tc.want)
	}
	if _, err := runOp(t, 13, "Gemm", nil, 1, a, a); err == nil {
		t.Error("Gemm of 2x3 by 2x3: no error")
	}
	if _, err := runOp(t, 13, "Gemm", nil, 1, a, b, f32([]int{3}, 1, 2, 3)); err == nil {
		t.Error("Gemm with C of 3 for 2x2: no error")
	}
}

func TestMatMulShapes(t *testing.T) {
	tests := []struct {
		desc       string
		a, b, want []int
	}{
		{"matrix", []int{2, 3}, []int{3, 4}, []int{2, 4}},
		{"vector·matrix", []int{3}, []int{3, 4}, []int{4}},
		{"matrix·vector", []int{2, 3}, []int{3}, []int{2}},
		{"vector·vector", []int{3}, []int{3}, []int{}},
		{"batch broadcast", []int{5, 1, 2, 3}, []int{4, 3, 2}, []int{5, 4, 2, 2}},
	}
	for _, tc := range tests {
		s, err := resolveMatMul(tc.a, tc.b)
		if err != nil || !agrees(tc.want, s.out) {
			t.Errorf("%s: %v %v → %v, %v; want %v", tc.desc, tc.a, tc.b, s.out, err, tc.want)
		}
	}
	if _, err := resolveMatMul([]int{2, 3}, []int{2, 3}); err == nil {
		t.Error("2x3 · 2x3: no error")
	}
}

func TestMatMulBatch(t *testing.T) {
	// Batch of two 1×2 by one shared 2×2 (broadcast).
	a := f32([]int{2, 1, 2}, 1, 2, 3, 4)
	b := f32([]int{2, 2}, 1, 10, 100, 1000)
	checkTensor(t, "broadcast", mustRun(t, 13, "MatMul", nil, a, b), f32([]int{2, 1, 2}, 201, 2010, 403, 4030))
	checkTensor(t, "vector", mustRun(t, 13, "MatMul", nil, f32([]int{2}, 1, 2), b), f32([]int{2}, 201, 2010))
}
