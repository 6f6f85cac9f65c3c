package nn

import (
	"errors"
	"strings"
	"testing"
)

// runPadOp runs one Pad node: before opset 11 pads and value go in
// attributes, from 11 as inputs (value nil: omitted).
func runPadOp(t *testing.T, opset int, mode string, x *Tensor, pads []int64, value *Tensor) (*Tensor, error) {
	t.Helper()
	attrs := map[string]any{}
	if mode != "" {
		attrs["mode"] = mode
	}
	if opset < 11 {
		attrs["pads"] = pads
		if value != nil {
			attrs["value"] = value.Float32[0]
		}
		out, err := runOp(t, opset, "Pad", attrs, 1, x)
		if err != nil {
			return nil, err
		}
		return out[0], nil
	}
	in := []*Tensor{x, Int64Tensor([]int{len(pads)}, pads)}
	if value != nil {
		in = append(in, value)
	}
	out, err := runOp(t, opset, "Pad", attrs, 1, in...)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

func TestPad(t *testing.T) {
	nine := f32([]int{}, 9)
	tests := []struct {
		desc  string
		opset int
		mode  string
		x     *Tensor
		pads  []int64
		value *Tensor
		want  *Tensor
	}{
		{"constant", 13, "constant", seq(2, 3), []int64{1, 0, 0, 2}, nine,
			f32([]int{3, 5}, 9, 9, 9, 9, 9, 0, 1, 2, 9, 9, 3, 4, 5, 9, 9)},
		{"constant, no value", 11, "", seq(2, 3), []int64{0, 0, 1, 1},
			nil, f32([]int{3, 4}, 0, 1, 2, 0, 3, 4, 5, 0, 0, 0, 0, 0)},
		{"constant, value of shape [1]", 13, "constant", seq(2, 3), []int64{1, 0, 0, 2}, f32([]int{1}, 9),
			f32([]int{3, 5}, 9, 9, 9, 9, 9, 0, 1, 2, 9, 9, 3, 4, 5, 9, 9)},
		{"opset 2 attributes", 2, "constant", seq(2, 3), []int64{1, 0, 0, 2}, nine,
			f32([]int{3, 5}, 9, 9, 9, 9, 9, 0, 1, 2, 9, 9, 3, 4, 5, 9, 9)},
		{"edge", 13, "edge", seq(2, 3), []int64{0, 2, 1, 1}, nil,
			f32([]int{3, 6}, 0, 0, 0, 1, 2, 2, 3, 3, 3, 4, 5, 5, 3, 3, 3, 4, 5, 5)},
		{"opset 7 edge", 7, "edge", seq(2, 3), []int64{0, 2, 1, 1}, nil,
			f32([]int{3, 6}, 0, 0, 0, 1, 2, 2, 3, 3, 3, 4, 5, 5, 3, 3, 3, 4, 5, 5)},
		{"reflect", 13, "reflect", seq(2, 3), []int64{1, 2, 1, 2}, nil,
			f32([]int{4, 7}, 5, 4, 3, 4, 5, 4, 3, 2, 1, 0, 1, 2, 1, 0, 5, 4, 3, 4, 5, 4, 3, 2, 1, 0, 1, 2, 1, 0)},
		{"reflect wider than the axis", 13, "reflect", f32([]int{3}, 1, 2, 3), []int64{5, 0}, nil,
			f32([]int{8}, 2, 1, 2, 3, 2, 1, 2, 3)},
		{"reflect one element", 13, "reflect", f32([]int{1}, 5), []int64{2, 2}, nil,
			f32([]int{5}, 5, 5, 5, 5, 5)},
		{"negative pads crop", 13, "constant", seq(2, 3), []int64{0, -1, 0, 1}, nil,
			f32([]int{2, 3}, 1, 2, 0, 4, 5, 0)},
		{"crop, then edge", 13, "edge", seq(4), []int64{-1, 2}, nil, f32([]int{5}, 1, 2, 3, 3, 3)},
		{"crop, then reflect", 13, "reflect", seq(4), []int64{3, -1}, nil, f32([]int{6}, 1, 2, 1, 0, 1, 2)},
		{"crop to empty", 13, "constant", seq(2, 3), []int64{0, -2, 0, -1}, nil, f32([]int{2, 0})},
		{"pad an empty axis", 13, "constant", f32([]int{0, 2}), []int64{1, 0, 0, 0}, nine, f32([]int{1, 2}, 9, 9)},
		{"scalar", 13, "reflect", f32([]int{}, 3), []int64{}, nil, f32([]int{}, 3)},
		{"int8", 11, "constant", Int8Tensor([]int{3}, []int8{1, -2, 3}), []int64{1, 1}, Int8Tensor([]int{}, []int8{-7}),
			Int8Tensor([]int{5}, []int8{-7, 1, -2, 3, -7})},
		{"uint8 edge", 13, "edge", Uint8Tensor([]int{2}, []uint8{200, 7}), []int64{1, 2}, nil,
			Uint8Tensor([]int{5}, []uint8{200, 200, 7, 7, 7})},
		{"int32 reflect", 13, "reflect", Int32Tensor([]int{3}, []int32{-1, 5, 9}), []int64{2, 2}, nil,
			Int32Tensor([]int{7}, []int32{9, 5, -1, 5, 9, 5, -1})},
		{"int64", 11, "constant", Int64Tensor([]int{1}, []int64{1 << 40}), []int64{0, 1}, nil,
			Int64Tensor([]int{2}, []int64{1 << 40, 0})},
		{"bool from opset 13", 13, "constant", BoolTensor([]int{2}, []bool{false, true}), []int64{1, 0}, BoolTensor([]int{}, []bool{true}),
			BoolTensor([]int{3}, []bool{true, false, true})},
	}
	for _, tc := range tests {
		got, err := runPadOp(t, tc.opset, tc.mode, tc.x, tc.pads, tc.value)
		if err != nil {
			t.Errorf("%s: %v", tc.desc, err)
			continue
		}
		checkTensor(t, tc.desc, got, tc.want)
	}
}

func TestPadErrors(t *testing.T) {
	tests := []struct {
		desc        string
		opset       int
		attrs       map[string]any
		in          []*Tensor
		want        string
		unsupported bool
	}{
		{"pads for another rank", 13, nil, []*Tensor{seq(2, 3), Int64Tensor([]int{2}, []int64{1, 1})},
			"pads has 2 values for rank 2, want 4", false},
		{"crop below zero", 13, nil, []*Tensor{seq(2, 3), Int64Tensor([]int{4}, []int64{0, -2, 0, -2})},
			"pads -2 and -2 crop axis 1 of size 3 below zero", false},
		{"edge of an empty axis", 13, map[string]any{"mode": "edge"}, []*Tensor{f32([]int{0, 2}), Int64Tensor([]int{4}, []int64{1, 0, 0, 0})},
			"mode edge cannot pad axis 0, which is empty", false},
		{"wrap mode", 13, map[string]any{"mode": "wrap"}, []*Tensor{seq(2), Int64Tensor([]int{2}, []int64{1, 1})},
			`attribute mode="wrap" out of range [constant reflect edge]`, false},
		{"pads attribute from opset 11", 13, map[string]any{"pads": []int64{1, 1}}, []*Tensor{seq(2), Int64Tensor([]int{2}, []int64{1, 1})},
			"attribute pads is an input from opset 11", false},
		{"no pads input from opset 11", 11, nil, []*Tensor{seq(2)}, "input pads is required from opset 11", false},
		{"pads input before opset 11", 7, map[string]any{"pads": []int64{1, 1}}, []*Tensor{seq(2), Int64Tensor([]int{2}, []int64{1, 1})},
			"2 inputs before opset 11, want 1", false},
		{"no pads attribute", 7, nil, []*Tensor{seq(2)}, "attribute pads is required before opset 11", false},
		{"odd pads attribute", 7, map[string]any{"pads": []int64{1, 1, 1}}, []*Tensor{seq(2)},
			"attribute pads has 3 values, want 2 per axis", false},
		{"pads out of range", 7, map[string]any{"pads": []int64{0, 1 << 40}}, []*Tensor{seq(2)},
			"attribute pads=[0 1099511627776] out of range", false},
		{"output too large", 13, nil, []*Tensor{seq(2, 2), Int64Tensor([]int{4}, []int64{1 << 29, 0, 1 << 29, 0})},
			"elements", false},
		{"int32 before opset 11", 7, map[string]any{"pads": []int64{1, 1}}, []*Tensor{Int32Tensor([]int{1}, []int32{1})},
			"data is int32, want [float32]", false},
		{"bool before opset 13", 11, nil, []*Tensor{BoolTensor([]int{1}, []bool{true}), Int64Tensor([]int{2}, []int64{1, 1})},
			"data is bool", false},
		{"value of another type", 13, nil, []*Tensor{seq(2), Int64Tensor([]int{2}, []int64{1, 1}), Int32Tensor([]int{}, []int32{1})},
			"constant_value is int32[], want one float32", false},
		{"two values", 13, nil, []*Tensor{seq(2), Int64Tensor([]int{2}, []int64{1, 1}), seq(2)},
			"constant_value is float32[2], want one float32", false},
		{"float pads", 13, nil, []*Tensor{seq(2), seq(2)}, "pads is float32[2], want a 1-D int64 tensor", false},
		{"opset 1", 1, map[string]any{"pads": []int64{1, 1}}, []*Tensor{seq(2)}, "unsupported before opset 2", true},
	}
	for _, tc := range tests {
		_, err := runOp(t, tc.opset, "Pad", tc.attrs, 1, tc.in...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.desc, err, tc.want)
			continue
		}
		if errors.Is(err, ErrUnsupported) != tc.unsupported {
			t.Errorf("%s: %v: errors.Is(ErrUnsupported) = %v", tc.desc, err, !tc.unsupported)
		}
	}
}

func TestPadInferShapes(t *testing.T) {
	m := tmodel{
		opset:   13,
		inputs:  []Value{{Name: "x", DType: Float32, Shape: []int{-1, 3, 4, 5}}},
		outputs: []Value{{Name: "y", DType: Float32}},
		inits:   map[string]*Tensor{"pads": Int64Tensor([]int{8}, []int64{0, 0, 1, -1, 0, 0, 2, 3})},
		nodes:   []tnode{{op: "Pad", in: []string{"x", "pads"}, out: []string{"y"}, attrs: map[string]any{"mode": "reflect"}}},
	}
	g := m.parse(t)
	if err := InferShapes(g, map[string][]int{"x": {2, 3, 4, 5}}); err != nil {
		t.Fatal(err)
	}
	if got := g.Values["y"].String(); got != "y: float32[2 3 7 7]" {
		t.Errorf("inferred %s", got)
	}
	delete(m.inits, "pads")
	m.inputs = append(m.inputs, Value{Name: "pads", DType: Int64, Shape: []int{8}})
	g = m.parse(t)
	err := InferShapes(g, map[string][]int{"x": {2, 3, 4, 5}})
	if err == nil || !strings.Contains(err.Error(), `pads "pads" is computed at run time`) {
		t.Errorf("pads from data: %v", err)
	}
}
