package quant

import (
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Published vector: tensorflow/lite/kernels/fully_connected_test.cc,
// QuantizedFullyConnectedOpTest.SimpleTestQuantizedInt8 — input and weights
// int8 [−63.5, 64] (scale 0.5, zp −1), output [−127, 128] (scale 1, zp −1),
// expected codes {23, 24, 25, 57, 58, 59}.
func TestFullyConnectedPublished(t *testing.T) {
	inP := Params{Scale: 0.5, ZeroPoint: -1, DType: Int8}
	outP := Params{Scale: 1, ZeroPoint: -1, DType: Int8}
	w := []float32{}
	for u := 0; u < 3; u++ {
		w = append(w, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	}
	x := []float32{1, 2, 3, 4, 5, 6, 7, 8, -9, -10, 1, 2, 3, 4, 5, 6, 7, -8, 9, -10}
	bias := []int32{}
	for _, b := range []float32{1, 2, 3} {
		bias = append(bias, QuantizeBias(b, inP.Scale, inP.Scale))
	}
	m, s := QuantizeMultiplier(EffectiveScale(inP.Scale, inP.Scale, outP.Scale))
	p := FCParams{InputZeroPoint: inP.ZeroPoint, WeightZeroPoint: inP.ZeroPoint,
		Output: OutputStage{Multipliers: []int32{m}, Shifts: []int{s}, ZeroPoint: outP.ZeroPoint}}
	got, err := FullyConnected(QuantizeInt8(x, inP), 2, QuantizeInt8(w, inP), 3, bias, p)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]int8{23, 24, 25, 57, 58, 59}, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	ref, err := FullyConnectedFloat(x, 2, w, 3, []float32{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]float32{24, 25, 26, 58, 59, 60}, ref); d != "" {
		t.Errorf("float reference (-want +got):\n%s", d)
	}
}

// TestFullyConnectedMatchesFloat: per-channel symmetric weights, random
// shapes, both rounding modes, within one LSB of the float layer.
func TestFullyConnectedMatchesFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for trial := 0; trial < 50; trial++ {
		batches, depth, units := 1+r.IntN(4), 1+r.IntN(64), 1+r.IntN(16)
		inP := Params{Scale: 0.01 + r.Float32()*0.1, ZeroPoint: int32(r.IntN(100) - 50), DType: Int8}
		ws := make([]float32, units)
		for i := range ws {
			ws[i] = 0.001 + r.Float32()*0.01
		}
		x := randInt8(r, batches*depth, -128, 127)
		w := randInt8(r, units*depth, -127, 127)
		bias := make([]int32, units)
		biasReal := make([]float32, units)
		wr := make([]float32, len(w))
		for u := range bias {
			bias[u] = int32(r.IntN(4001) - 2000)
			biasReal[u] = float32(bias[u]) * inP.Scale * ws[u]
			for d := 0; d < depth; d++ {
				wr[u*depth+d] = float32(w[u*depth+d]) * ws[u]
			}
		}
		ref, err := FullyConnectedFloat(DequantizeInt8(x, inP), batches, wr, units, biasReal)
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := 0.0, 0.0
		for _, v := range ref {
			lo, hi = min(lo, float64(v)), max(hi, float64(v))
		}
		outP, err := ChooseParams(lo-0.01, hi+0.01, Int8, false)
		if err != nil {
			t.Fatal(err)
		}
		mults, shifts := OutputMultipliers(inP.Scale, ws, outP.Scale)
		relu, _, _ := ActivationRange(ActReLU, outP)
		for _, mode := range []Rounding{RoundingDouble, RoundingSingle} {
			p := FCParams{InputZeroPoint: inP.ZeroPoint,
				Output: OutputStage{Multipliers: mults, Shifts: shifts, ZeroPoint: outP.ZeroPoint, ActMin: relu, ActMax: 127, Rounding: mode}}
			got, err := FullyConnected(x, batches, w, units, bias, p)
			if err != nil {
				t.Fatal(err)
			}
			if i := withinOneLSB(got, ref, outP, relu, 127); i >= 0 {
				t.Fatalf("trial %d %v: element %d = %d, float %v", trial, mode, i, got[i], ref[i])
			}
		}
	}
	if _, err := FullyConnected(make([]int8, 10), 3, make([]int8, 10), 1, nil, FCParams{}); err == nil {
		t.Error("10 inputs in 3 batches accepted")
	}
}
