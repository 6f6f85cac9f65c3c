package quant

import "testing"

// TestAddExhaustive: all 65536 input pairs of a residual add with three
// different scales are within one LSB of the float sum; with a fused ReLU
// the clamp holds.
func TestAddExhaustive(t *testing.T) {
	a := Params{Scale: 0.05, ZeroPoint: -7, DType: Int8}
	b := Params{Scale: 0.03, ZeroPoint: 12, DType: Int8}
	out := Params{Scale: 0.07, ZeroPoint: -3, DType: Int8}
	p, err := PrepareAdd(a, b, out, ActNone)
	if err != nil {
		t.Fatal(err)
	}
	for i := -128; i < 128; i++ {
		for j := -128; j < 128; j++ {
			got := AddInt8(int8(i), int8(j), p)
			ref := a.Dequantize(int32(i)) + b.Dequantize(int32(j))
			if w := out.Quantize(ref); absDiff(float64(got), float64(w)) > 1 {
				t.Fatalf("add(%d, %d) = %d, float %d", i, j, got, w)
			}
		}
	}
	relu, err := PrepareAdd(a, b, out, ActReLU)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Add([]int8{-128, 127}, []int8{-128, 127}, relu)
	if err != nil || res[0] != -3 || res[1] != 127 {
		t.Errorf("relu add = %v, %v; want [-3 127]", res, err)
	}
	if _, err := Add([]int8{1}, []int8{1, 2}, p); err == nil {
		t.Error("mismatched lengths accepted")
	}
	if _, err := PrepareAdd(a, b, Params{Scale: 1e-9, DType: Int8}, ActNone); err == nil {
		t.Error("output multiplier ≥ 1 accepted")
	}
}
