package nn

import (
	"errors"
	"testing"
)

func TestReshape(t *testing.T) {
	tests := []struct {
		desc      string
		in        []int
		spec      []int64
		allowZero bool
		want      []int
		ok        bool
	}{
		{"plain", []int{2, 3, 4}, []int64{4, 6}, false, []int{4, 6}, true},
		{"infer -1", []int{2, 3, 4}, []int64{-1, 2}, false, []int{12, 2}, true},
		{"0 copies", []int{2, 3, 4}, []int64{0, -1}, false, []int{2, 12}, true},
		{"allowzero keeps 0", []int{0, 3}, []int64{3, 0}, true, []int{3, 0}, true},
		{"two -1", []int{2, 3}, []int64{-1, -1}, false, nil, false},
		{"wrong count", []int{2, 3}, []int64{4}, false, nil, false},
		{"0 past rank", []int{6}, []int64{1, 0}, false, nil, false},
		{"-1 with zero", []int{0, 3}, []int64{-1, 0}, true, nil, false},
	}
	for _, tc := range tests {
		got, err := reshapeTo(tc.in, tc.spec, tc.allowZero)
		if (err == nil) != tc.ok || tc.ok && !agrees(tc.want, got) {
			t.Errorf("%s: reshape %v to %v: %v, %v; want %v", tc.desc, tc.in, tc.spec, got, err, tc.want)
		}
	}
	y := mustRun(t, 14, "Reshape", nil, seq(2, 3), Int64Tensor([]int{2}, []int64{3, -1}))
	checkTensor(t, "run", y, seq(3, 2))
}

func TestFlatten(t *testing.T) {
	tests := []struct {
		axis int
		want []int
	}{{0, []int{1, 24}}, {1, []int{2, 12}}, {3, []int{24, 1}}, {-1, []int{6, 4}}, {-2, []int{2, 12}}, {-3, []int{1, 24}}}
	for _, tc := range tests {
		y := mustRun(t, 13, "Flatten", map[string]any{"axis": tc.axis}, seq(2, 3, 4))
		checkTensor(t, "flatten", y, seq(tc.want...))
	}
	if _, err := runOp(t, 13, "Flatten", map[string]any{"axis": 4}, 1, seq(2, 3, 4)); err == nil {
		t.Error("axis 4 of rank 3: no error")
	}
}

func TestDropout(t *testing.T) {
	x := seq(2, 2)
	ones := BoolTensor([]int{2, 2}, []bool{true, true, true, true})
	out, err := runOp(t, 13, "Dropout", nil, 2, x, f32([]int{}, 0.3))
	if err != nil {
		t.Fatal(err)
	}
	checkTensor(t, "inference", out[0], x)
	checkTensor(t, "mask", out[1], ones)
	out, err = runOp(t, 13, "Dropout", nil, 2, x, f32([]int{}, 0), BoolTensor([]int{}, []bool{true}))
	if err != nil {
		t.Fatal(err)
	}
	checkTensor(t, "training, ratio 0", out[0], x)
	_, err = runOp(t, 13, "Dropout", nil, 1, x, f32([]int{}, 0.5), BoolTensor([]int{}, []bool{true}))
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("training with ratio 0.5: %v, want ErrUnsupported", err)
	}
	out, err = runOp(t, 7, "Dropout", map[string]any{"ratio": float32(0.2)}, 2, x)
	if err != nil {
		t.Fatal(err)
	}
	checkTensor(t, "opset 7 mask has the input type", out[1], f32([]int{2, 2}, 1, 1, 1, 1))
}

func TestBatchNormalization(t *testing.T) {
	x := f32([]int{1, 2, 1, 2}, 1, 2, 3, 4)
	scale, bias := f32([]int{2}, 2, 1), f32([]int{2}, 0, 10)
	mean, variance := f32([]int{2}, 1, 3), f32([]int{2}, 4, 1)
	y := mustRun(t, 15, "BatchNormalization", map[string]any{"epsilon": float32(0)}, x, scale, bias, mean, variance)
	// ch0: 2·(x−1)/2 = x−1; ch1: (x−3)/1 + 10.
	checkTensor(t, "inference", y, f32([]int{1, 2, 1, 2}, 0, 1, 10, 11))
	_, err := runOp(t, 15, "BatchNormalization", map[string]any{"training_mode": 1}, 1, x, scale, bias, mean, variance)
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("training_mode=1: %v, want ErrUnsupported", err)
	}
	if _, err := runOp(t, 15, "BatchNormalization", nil, 1, x, f32([]int{3}, 1, 1, 1), bias, mean, variance); err == nil {
		t.Error("scale of 3 for 2 channels: no error")
	}
}

func TestIdentityAndConstant(t *testing.T) {
	checkTensor(t, "identity", mustRun(t, 16, "Identity", nil, seq(3)), seq(3))
	m := tmodel{opset: 13,
		outputs: []Value{{Name: "a", DType: Float32}, {Name: "b", DType: Int64}, {Name: "c", DType: Float32}},
		nodes: []tnode{
			{op: "Constant", out: []string{"a"}, attrs: map[string]any{"value": seq(2, 2)}},
			{op: "Constant", out: []string{"b"}, attrs: map[string]any{"value_ints": []int64{4, 5}}},
			{op: "Constant", out: []string{"c"}, attrs: map[string]any{"value_float": float32(1.5)}},
		}}
	g := m.parse(t)
	if len(g.Nodes) != 0 || len(g.Initializers) != 3 {
		t.Fatalf("constants: %d nodes, %d initializers; want 0 and 3", len(g.Nodes), len(g.Initializers))
	}
	out, err := Run(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkTensor(t, "value", out["a"], seq(2, 2))
	checkTensor(t, "value_ints", out["b"], Int64Tensor([]int{2}, []int64{4, 5}))
	checkTensor(t, "value_float", out["c"], f32([]int{}, 1.5))
}
