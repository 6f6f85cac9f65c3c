package nn

import (
	"fmt"
	"strings"
	"testing"
)

// lenet is a small CNN with every shape-changing operator family.
func lenet() tmodel {
	return tmodel{
		opset:   13,
		inputs:  []Value{{Name: "x", DType: Float32, Shape: []int{-1, 1, 12, 12}}},
		outputs: []Value{{Name: "y", DType: Float32, Shape: []int{-1, 10}}},
		inits: map[string]*Tensor{
			"w1": seq(4, 1, 3, 3), "w2": seq(8, 4, 3, 3), "fc": seq(10, 32), "fcb": seq(10),
			"shape": Int64Tensor([]int{2}, []int64{0, -1}),
			"s":     f32([]int{}, 0.1), "zp": Int8Tensor([]int{}, []int8{0}),
		},
		nodes: []tnode{
			{op: "Conv", in: []string{"x", "w1"}, out: []string{"c1"}, attrs: map[string]any{"auto_pad": "SAME_UPPER"}},
			{op: "Relu", in: []string{"c1"}, out: []string{"r1"}},
			{op: "MaxPool", in: []string{"r1"}, out: []string{"p1"}, attrs: map[string]any{"kernel_shape": []int64{2, 2}, "strides": []int64{2, 2}}},
			{op: "Conv", in: []string{"p1", "w2"}, out: []string{"c2"}, attrs: map[string]any{"strides": []int64{2, 2}, "pads": []int64{1, 1, 1, 1}}},
			{op: "QuantizeLinear", in: []string{"c2", "s", "zp"}, out: []string{"q"}},
			{op: "DequantizeLinear", in: []string{"q", "s", "zp"}, out: []string{"dq"}},
			{op: "AveragePool", in: []string{"dq"}, out: []string{"p2"}, attrs: map[string]any{"kernel_shape": []int64{2, 2}, "strides": []int64{1, 1}, "ceil_mode": 1}},
			{op: "Reshape", in: []string{"p2", "shape"}, out: []string{"f"}},
			{op: "Gemm", in: []string{"f", "fc", "fcb"}, out: []string{"g"}, attrs: map[string]any{"transB": 1}},
			{op: "Softmax", in: []string{"g"}, out: []string{"y"}},
		},
	}
}

func TestInferShapes(t *testing.T) {
	want := map[string]string{
		"x": "float32[5 1 12 12]", "c1": "float32[5 4 12 12]", "r1": "float32[5 4 12 12]",
		"p1": "float32[5 4 6 6]", "c2": "float32[5 8 3 3]", "q": "int8[5 8 3 3]",
		"dq": "float32[5 8 3 3]", "p2": "float32[5 8 2 2]", "f": "float32[5 32]",
		"g": "float32[5 10]", "y": "float32[5 10]", "shape": "int64[2]",
	}
	g := lenet().parse(t)
	if err := InferShapes(g, map[string][]int{"x": {5, 1, 12, 12}}); err != nil {
		t.Fatal(err)
	}
	for name, w := range want {
		v, ok := g.Values[name]
		if got := fmt.Sprintf("%v%v", v.DType, v.Shape); !ok || got != w {
			t.Errorf("%s: %v, want %s", name, v, w)
		}
	}
	if !agrees([]int{5, 10}, g.Outputs[0].Shape) || !agrees([]int{5, 1, 12, 12}, g.Inputs[0].Shape) {
		t.Errorf("graph input %v, output %v", g.Inputs[0], g.Outputs[0])
	}
	// The inferred shapes are the ones the executor produces.
	x, _ := NewTensor(Float32, []int{5, 1, 12, 12})
	all, err := RunAll(g, map[string]*Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range g.Values {
		if !agrees(v.Shape, all[name].Shape) || v.DType != all[name].DType {
			t.Errorf("%s: inferred %v, ran %v", name, v, all[name])
		}
	}
}

func TestInferShapesErrors(t *testing.T) {
	tests := []struct {
		desc   string
		model  func() tmodel
		shapes map[string][]int
		want   string
	}{
		{"dynamic input not given", lenet, nil, `input "x" has shape [-1 1 12 12]: give a static shape`},
		{"shape disagrees", lenet, map[string][]int{"x": {1, 2, 12, 12}}, "does not match the declared"},
		{"unknown input", lenet, map[string][]int{"x": {1, 1, 12, 12}, "q": {1}}, `"q" is not a graph input`},
		{"declared output disagrees", func() tmodel {
			m := lenet()
			m.outputs[0].Shape = []int{-1, 11}
			return m
		}, map[string][]int{"x": {1, 1, 12, 12}}, `output "y" is float32[1 10], the model declares float32[-1 11]`},
		{"reshape from data", func() tmodel {
			m := lenet()
			delete(m.inits, "shape")
			m.inputs = append(m.inputs, Value{Name: "shape", DType: Int64, Shape: []int{2}})
			return m
		}, map[string][]int{"x": {1, 1, 12, 12}}, "computed at run time"},
		{"window does not fit", func() tmodel {
			m := lenet()
			m.inputs[0].Shape = []int{-1, 1, -1, -1}
			return m
		}, map[string][]int{"x": {1, 1, 1, 1}}, "does not fit"},
	}
	for _, tc := range tests {
		g := tc.model().parse(t)
		err := InferShapes(g, tc.shapes)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.desc, err, tc.want)
		}
	}
}
