package quant

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var softmaxOut = Params{Scale: SoftmaxOutputScale, ZeroPoint: SoftmaxOutputZeroPoint, DType: Int8}

// Published vectors: tensorflow/lite/micro/kernels/softmax_test.cc
// (Softmax1D/2D/3DQuantizedInt8ShouldMatchGolden): input scale 0.1, zero
// point 0, beta 1, output 1/256 and −128; the file accepts ±1 against its
// quantized float goldens.
func TestSoftmaxPublished(t *testing.T) {
	cases := []struct {
		depth  int
		input  []float32
		golden []float32
	}{
		{5, []float32{1, 2, 3, 4, 5}, []float32{0.011656231, 0.031684921, 0.086128544, 0.234121657, 0.636408647}},
		{5, []float32{1, 2, 3, 4, 5, -1, -2, -3, -4, -5},
			[]float32{0.011656231, 0.031684921, 0.086128544, 0.234121657, 0.636408647, 0.636408647, 0.234121657, 0.086128544, 0.031684921, 0.011656231}},
		{5, []float32{
			3, 6, -5, 4, -9, -10, -10, -8, 2, 2, 8, -5, -8, 5, -6, -8, 6, 1, -10, -8,
			7, 6, -10, -4, -5, 2, 7, 9, -9, 7, -4, -2, 8, 2, 2, 3, 6, 6, 2, 4,
			9, 7, -7, 0, 4, -3, 8, 8, -3, -4, -9, -9, 4, -8, -1, -10, -2, 6, -7, 0},
			[]float32{
				0.042009463, 0.843782625, 0.000014093, 0.114193561, 0.000000258,
				0.000003072, 0.000003072, 0.000022699, 0.499985578, 0.499985578,
				0.952571219, 0.000002153, 0.000000107, 0.047425728, 0.000000792,
				0.000000826, 0.993305397, 0.006692839, 0.000000112, 0.000000826,
				0.731046347, 0.268936922, 0.000000030, 0.000012210, 0.000004492,
				0.000717124, 0.106430599, 0.786421666, 0.000000012, 0.106430599,
				0.000006114, 0.000045174, 0.995015917, 0.002466398, 0.002466398,
				0.022595176, 0.453836234, 0.453836234, 0.008312301, 0.061420055,
				0.875505904, 0.118486839, 0.000000099, 0.000108046, 0.005899112,
				0.000008351, 0.499990113, 0.499990113, 0.000008351, 0.000003072,
				0.000002245, 0.000002245, 0.993296627, 0.000006103, 0.006692780,
				0.000000112, 0.000334520, 0.997191323, 0.000002254, 0.002471790}},
	}
	inP := Params{Scale: 0.1, DType: Int8}
	sp, err := PrepareSoftmax(1, inP.Scale)
	if err != nil {
		t.Fatal(err)
	}
	for n, c := range cases {
		got, err := SoftmaxInt8(QuantizeInt8(c.input, inP), c.depth, sp)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if w := softmaxOut.Quantize(c.golden[i]); absDiff(float64(got[i]), float64(w)) > 1 {
				t.Errorf("case %d element %d: %d, golden %d", n, i, got[i], w)
			}
		}
	}
}

// TestPreprocessSoftmaxScaling: quantization_util_test.cc
// (PreprocessSoftmaxScaling, double rounding) — a multiplier beyond 2^31−1
// is capped: beta 1 scale 16 with 4 integer bits → (2147483647, 31), beta 1
// scale 8 → (1073741824, 31). PrepareSoftmax uses 5 integer bits, so beta 2
// (and scale 16 or 8) reproduces the same pairs.
func TestPreprocessSoftmaxScaling(t *testing.T) {
	for _, c := range []struct {
		beta  float64
		scale float32
		m     int32
		shift int
	}{{2, 16, 2147483647, 31}, {2, 8, 1073741824, 31}} {
		p, err := PrepareSoftmax(c.beta, c.scale)
		if err != nil {
			t.Fatal(err)
		}
		if p.InputMultiplier != c.m || p.InputLeftShift != c.shift {
			t.Errorf("PrepareSoftmax(%v, %v) = (%d, %d), want (%d, %d)", c.beta, c.scale, p.InputMultiplier, p.InputLeftShift, c.m, c.shift)
		}
	}
}

func TestSoftmaxMatchesFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	for trial := 0; trial < 200; trial++ {
		depth := 1 + r.IntN(40)
		inP := Params{Scale: 0.01 + r.Float32()*0.3, ZeroPoint: int32(r.IntN(256) - 128), DType: Int8}
		beta := []float64{1, 1, 0.5, 2}[r.IntN(4)]
		x := randInt8(r, depth*3, -128, 127)
		sp, err := PrepareSoftmax(beta, inP.Scale)
		if err != nil {
			t.Fatal(err)
		}
		got, err := SoftmaxInt8(x, depth, sp)
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := SoftmaxFloat(DequantizeInt8(x, inP), depth, beta)
		if i := withinOneLSB(got, ref, softmaxOut, -128, 127); i >= 0 {
			t.Fatalf("trial %d (scale %v beta %v depth %d): element %d = %d, float %v", trial, inP.Scale, beta, depth, i, got[i], ref[i])
		}
	}
	if _, err := SoftmaxInt8(make([]int8, 7), 3, SoftmaxParams{}); err == nil {
		t.Error("7 values in rows of 3 accepted")
	}
}

// Published vector, bit exact: tensorflow/lite/kernels/activations_test.cc,
// Softmax1DInt8 — beta 0.1, int8 input range [−10, 10], expected dequantized
// outputs {0.09766, 0.05469, 0.12109, 0.14453, 0.13281, 0.07813, 0.26563,
// 0.10938}, all multiples of 1/256, i.e. exact codes. The input is quantized
// as the TFLite test utility does: float32 scale 20/255, zero point
// round(−128 + 10/scale) = −1, codes round(zp + x/scale).
func TestSoftmaxPublishedExact(t *testing.T) {
	scale := float32(20) / float32(255)
	zp := float32(math.Round(float64(float32(-128) - float32(-10)/scale)))
	in := []float32{0, -6, 2, 4, 3, -2, 10, 1}
	q := make([]int8, len(in))
	for i, f := range in {
		q[i] = int8(math.Round(float64(zp + f/scale)))
	}
	p, err := PrepareSoftmax(0.1, scale)
	if err != nil {
		t.Fatal(err)
	}
	got, err := SoftmaxInt8(q, len(q), p)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]int8, len(in))
	for i, v := range []float64{0.09766, 0.05469, 0.12109, 0.14453, 0.13281, 0.07813, 0.26563, 0.10938} {
		want[i] = int8(math.Round(v*256) - 128)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
