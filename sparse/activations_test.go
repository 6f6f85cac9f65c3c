package sparse_test

import (
	"testing"

	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/sparse"
)

// TestCountMACs counts by hand: an FC layer of two rows over three inputs
// into two outputs, and a 1-channel 2x2 map under a 3x3 SAME convolution,
// whose padded taps are zero activations.
func TestCountMACs(t *testing.T) {
	fc := &compile.Layer{Kind: compile.FC, InShape: quant.Shape{N: 2, H: 1, W: 1, C: 3}, InputZP: -5,
		Input:       []int8{-5, 1, 2, 3, -5, -5},
		WeightShape: quant.Shape{N: 2, H: 1, W: 1, C: 3}, Weights: []int8{0, 1, 0, 2, 0, 3}, Bias: []int32{0, 0}}
	// Weights as B (K x N): row k=0 {0, 2}, k=1 {1, 0}, k=2 {0, 3}: one zero each.
	// Zero activations: (0,0), (1,1), (1,2) → 3 elements × 2 outputs.
	got, err := sparse.CountMACs(fc)
	if err != nil {
		t.Fatal(err)
	}
	want := sparse.MACCount{Total: 12, ZeroActivation: 6, ZeroWeight: 6, Both: 3}
	if got != want {
		t.Errorf("fc: %+v, want %+v", got, want)
	}
	conv := &compile.Layer{Kind: compile.Conv, InShape: quant.Shape{N: 1, H: 2, W: 2, C: 1}, InputZP: 0,
		Input:       []int8{1, 2, 3, 4},
		WeightShape: quant.Shape{N: 1, H: 3, W: 3, C: 1}, Weights: []int8{1, 1, 1, 1, 1, 1, 1, 1, 1}, Bias: []int32{0},
		Window: quant.Window{StrideH: 1, StrideW: 1, Padding: quant.PaddingSame}}
	// 4 output pixels × 9 taps, 4 of each window inside the map.
	got, err = sparse.CountMACs(conv)
	if err != nil {
		t.Fatal(err)
	}
	if want := (sparse.MACCount{Total: 36, ZeroActivation: 20}); got != want {
		t.Errorf("conv: %+v, want %+v", got, want)
	}
}
