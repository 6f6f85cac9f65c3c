package nn

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestCast(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		desc string
		in   *Tensor
		to   DType
		want *Tensor
	}{
		{"float to int8 truncates toward zero", f32([]int{4}, -1.7, 2.9, -0.5, 127.99), Int8, Int8Tensor([]int{4}, []int8{-1, 2, 0, 127})},
		{"float to int8 out of range wraps (undefined in the spec)", f32([]int{2}, 200.5, -129), Int8, Int8Tensor([]int{2}, []int8{-56, 127})},
		{"float NaN to int32 is 0", f32([]int{2}, nan, -3.5), Int32, Int32Tensor([]int{2}, []int32{0, -3})},
		{"float to uint8", f32([]int{3}, 3.99, -0.9, 255.5), Uint8, Uint8Tensor([]int{3}, []uint8{3, 0, 255})},
		{"float to int64", f32([]int{2}, -1e10, 1e10), Int64, Int64Tensor([]int{2}, []int64{-10000000000, 10000000000})},
		{"float to bool", f32([]int{4}, 0, float32(math.Copysign(0, -1)), 0.25, nan), Bool, BoolTensor([]int{4}, []bool{false, false, true, true})},
		{"int32 to int8 keeps the low bits", Int32Tensor([]int{3}, []int32{200, -129, 127}), Int8, Int8Tensor([]int{3}, []int8{-56, 127, 127})},
		{"uint8 to int8", Uint8Tensor([]int{2}, []uint8{255, 128}), Int8, Int8Tensor([]int{2}, []int8{-1, -128})},
		{"int8 to uint8", Int8Tensor([]int{2}, []int8{-1, 5}), Uint8, Uint8Tensor([]int{2}, []uint8{255, 5})},
		{"int8 to int32", Int8Tensor([]int{2}, []int8{-128, 127}), Int32, Int32Tensor([]int{2}, []int32{-128, 127})},
		{"int64 to float32 rounds once to nearest even", Int64Tensor([]int{2}, []int64{16777217, 1<<60 + 1<<36 + 1}), Float32, f32([]int{2}, 16777216, 1<<60+1<<37)},
		{"int32 to float32", Int32Tensor([]int{2}, []int32{-7, 1 << 30}), Float32, f32([]int{2}, -7, 1<<30)},
		{"int64 to bool", Int64Tensor([]int{3}, []int64{0, 256, -1}), Bool, BoolTensor([]int{3}, []bool{false, true, true})},
		{"bool to float", BoolTensor([]int{2}, []bool{true, false}), Float32, f32([]int{2}, 1, 0)},
		{"bool to int8", BoolTensor([]int{2}, []bool{false, true}), Int8, Int8Tensor([]int{2}, []int8{0, 1})},
		{"same type", Int32Tensor([]int{1}, []int32{9}), Int32, Int32Tensor([]int{1}, []int32{9})},
		{"scalar", f32([]int{}, 2.5), Int32, Int32Tensor([]int{}, []int32{2})},
	}
	for _, tc := range tests {
		for _, opset := range []int{6, 13, 17} {
			got := mustRun(t, opset, "Cast", map[string]any{"to": int(tc.to)}, tc.in)
			if got.DType != tc.to {
				t.Errorf("%s (opset %d): got %v, want %v", tc.desc, opset, got.DType, tc.to)
			}
			checkTensor(t, tc.desc, got, tc.want)
		}
	}
}

func TestCastErrors(t *testing.T) {
	x := f32([]int{1}, 1)
	for _, tc := range []struct {
		desc   string
		opset  int
		attrs  map[string]any
		want   string
		unsupp bool
	}{
		{"double", 13, map[string]any{"to": 11}, "attribute to=11: data type DOUBLE unsupported", true},
		{"float16", 13, map[string]any{"to": 10}, "data type FLOAT16 unsupported", true},
		{"unknown code", 13, map[string]any{"to": 1000}, "attribute to=1000", true},
		{"no target", 13, nil, "attribute to is required", false},
		{"string attribute before opset 6", 5, map[string]any{"to": "FLOAT"}, "unsupported before opset 6", true},
	} {
		_, err := runOp(t, tc.opset, "Cast", tc.attrs, 1, x)
		if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, ErrUnsupported) != tc.unsupp {
			t.Errorf("%s: %v, want %q (unsupported %v)", tc.desc, err, tc.want, tc.unsupp)
		}
	}
}

func TestConstantOfShape(t *testing.T) {
	shape := func(d ...int64) *Tensor { return Int64Tensor([]int{len(d)}, d) }
	got := mustRun(t, 9, "ConstantOfShape", nil, shape(2, 3))
	checkTensor(t, "default float zeros", got, f32([]int{2, 3}, 0, 0, 0, 0, 0, 0))
	got = mustRun(t, 13, "ConstantOfShape", map[string]any{"value": Int32Tensor([]int{1}, []int32{-4})}, shape(3))
	checkTensor(t, "int32 value", got, Int32Tensor([]int{3}, []int32{-4, -4, -4}))
	got = mustRun(t, 13, "ConstantOfShape", map[string]any{"value": Uint8Tensor([]int{1}, []uint8{7})}, shape())
	checkTensor(t, "empty shape is a scalar", got, Uint8Tensor([]int{}, []uint8{7}))
	got = mustRun(t, 17, "ConstantOfShape", map[string]any{"value": BoolTensor([]int{1}, []bool{true})}, shape(2, 0))
	checkTensor(t, "zero dimension", got, BoolTensor([]int{2, 0}, []bool{}))
	for _, tc := range []struct {
		desc  string
		opset int
		attrs map[string]any
		shape *Tensor
		want  string
	}{
		{"negative dimension", 13, nil, shape(2, -1), "dimension -1"},
		{"too large", 13, nil, shape(1<<20, 1<<20), "more than"},
		{"two values", 13, map[string]any{"value": f32([]int{2}, 1, 2)}, shape(2), "want one element"},
		{"int32 shape", 13, nil, Int32Tensor([]int{1}, []int32{2}), "want a 1-D int64 tensor"},
		{"before opset 9", 8, nil, shape(2), "unsupported before opset 9"},
	} {
		if _, err := runOp(t, tc.opset, "ConstantOfShape", tc.attrs, 1, tc.shape); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.desc, err, tc.want)
		}
	}
}
