package quant

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Published vectors: tensorflow/lite/kernels/internal/quantization_util_test.cc
// (ChooseQuantizationParams*), with uint8.
func TestChooseParamsPublished(t *testing.T) {
	cases := []struct {
		min, max float64
		scale    float64
		zp       int32
	}{
		{-10, 30, 0.156863, 64},
		{0, 30, 0.117647, 0},
		{0, 0, 0, 0},
		{-10, 0, 0.039216, 255},
	}
	for _, c := range cases {
		p, err := ChooseParams(c.min, c.max, UInt8, false)
		if err != nil {
			t.Fatalf("ChooseParams(%v, %v): %v", c.min, c.max, err)
		}
		if math.Abs(float64(p.Scale)-c.scale) > 1e-5 || p.ZeroPoint != c.zp {
			t.Errorf("ChooseParams(%v, %v) = %v/%d, want %v/%d", c.min, c.max, p.Scale, p.ZeroPoint, c.scale, c.zp)
		}
	}
	for _, r := range [][2]float64{{10, 30}, {-30, -10}} {
		if _, err := ChooseParams(r[0], r[1], UInt8, false); !errors.Is(err, ErrRangeExcludesZero) {
			t.Errorf("ChooseParams(%v, %v) error %v, want ErrRangeExcludesZero", r[0], r[1], err)
		}
	}
	if _, err := ChooseParams(10, -30, UInt8, false); err == nil {
		t.Error("ChooseParams accepted min > max")
	}
	// The int8 range TFLite tests use everywhere: [−63.5, 64] → 0.5, −1.
	p, err := ChooseParams(-63.5, 64, Int8, false)
	if err != nil || p.Scale != 0.5 || p.ZeroPoint != -1 {
		t.Errorf("ChooseParams(-63.5, 64, int8) = %+v, %v; want scale 0.5 zp -1", p, err)
	}
}

func TestChooseSymmetricParams(t *testing.T) {
	p, err := ChooseSymmetricParams(2.54, Int8)
	if err != nil {
		t.Fatal(err)
	}
	if p.Scale != float32(0.02) || p.ZeroPoint != 0 {
		t.Errorf("scale %v zp %d, want 0.02, 0", p.Scale, p.ZeroPoint)
	}
	if lo, hi := p.QRange(); lo != -127 || hi != 127 {
		t.Errorf("narrow range [%d, %d], want [-127, 127]", lo, hi)
	}
	if got := p.Quantize(-100); got != -127 {
		t.Errorf("saturation to %d, want -127", got)
	}
	if _, err := ChooseSymmetricParams(1, UInt8); err == nil {
		t.Error("symmetric uint8 accepted")
	}
}

// ONNX vectors: onnx/backend/test/case/node/quantizelinear.py (export,
// export_int16, export_uint16, export_int4), the source of Operators.md's
// QuantizeLinear examples.
func TestQuantizeLinearONNX(t *testing.T) {
	type vec struct {
		name string
		p    Params
		x    []float32
		want []int32
	}
	vecs := []vec{
		{"uint8", Params{Scale: 2, ZeroPoint: 128, DType: UInt8},
			[]float32{0, 2, 3, 1000, -254, -1000},
			[]int32{128, 129, 130, 255, 1, 0}},
		{"uint16", Params{Scale: 2, ZeroPoint: 32767, DType: UInt16},
			[]float32{0, -128, 3, -3, 2.9, -2.9, 3.1, -3.1, 65536, -65534, 70000, -70000},
			[]int32{32767, 32703, 32769, 32765, 32768, 32766, 32769, 32765, 65535, 0, 65535, 0}},
		{"int16", Params{Scale: 2, ZeroPoint: 256, DType: Int16},
			[]float32{0, -514, 3, -3, 2.9, -2.9, 3.1, -3.1, 65022, -66046, 65023, -66047, 65024, -66048, 70000, -70000},
			[]int32{256, -1, 258, 254, 257, 255, 258, 254, 32767, -32767, 32767, -32768, 32767, -32768, 32767, -32768}},
	}
	for _, v := range vecs {
		got := make([]int32, len(v.x))
		for i, x := range v.x {
			got[i] = v.p.QuantizeLinear(x)
		}
		if d := cmp.Diff(v.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", v.name, d)
		}
	}
	// export_int4: per-axis (axis 0) int4 with zero point 1.
	pc := PerChannel{Scales: []float32{2, 3, 4}, ZeroPoints: []int32{1, 1, 1}, Axis: 0, DType: Int4}
	got, err := pc.QuantizeLinearTensor([]float32{0, 2.5, 4.8, 8.6, -30, -20, 6, 9, 12, 15, 16, 40}, []int{3, 4})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]int32{1, 2, 3, 5, -8, -6, 3, 4, 4, 5, 5, 7}, got); d != "" {
		t.Errorf("int4 axis (-want +got):\n%s", d)
	}
	if _, err := pc.QuantizeLinearTensor(make([]float32, 8), []int{2, 4}); err == nil {
		t.Error("axis length mismatch accepted")
	}
}

// TestQuantizeTFLiteVsONNX: the two roundings agree except on exact ties
// k + ½, where TFLite goes away from zero and ONNX to even.
func TestQuantizeTFLiteVsONNX(t *testing.T) {
	p := Params{Scale: 0.5, ZeroPoint: -3, DType: Int8}
	if a, b := p.Quantize(1.25), p.QuantizeLinear(1.25); a != 0 || b != -1 { // 2.5
		t.Errorf("tie 2.5: tflite %d onnx %d, want 0 and -1", a, b)
	}
	if a, b := p.Quantize(-1.25), p.QuantizeLinear(-1.25); a != -6 || b != -5 { // −2.5
		t.Errorf("tie -2.5: tflite %d onnx %d, want -6 and -5", a, b)
	}
	r := rand.New(rand.NewPCG(9, 10))
	for i := 0; i < 100000; i++ {
		x := float32(r.NormFloat64() * 40)
		if i%2 == 0 {
			x = float32(r.IntN(400)-200) / 4 // many exact ties
		}
		a, b := p.Quantize(x), p.QuantizeLinear(x)
		q := float64(x / p.Scale)
		isTie := q-math.Floor(q) == 0.5
		if a != b && !isTie {
			t.Fatalf("x=%v: tflite %d onnx %d differ off a tie", x, a, b)
		}
		if isTie && math.Abs(q) < 100 && a == b && math.Mod(math.Floor(math.Abs(q)), 2) == 0 {
			t.Fatalf("x=%v: tie %v rounded the same by both (%d)", x, q, a)
		}
	}
}

func TestQuantizeDequantize(t *testing.T) {
	p := Params{Scale: 0.0372, ZeroPoint: 17, DType: Int8}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	for q := int32(-128); q <= 127; q++ {
		if back := p.Quantize(p.Dequantize(q)); back != q {
			t.Fatalf("code %d → %v → %d", q, p.Dequantize(q), back)
		}
	}
	specials := map[float32]int32{float32(math.Inf(1)): 127, float32(math.Inf(-1)): -128, float32(math.NaN()): 17, 1e30: 127}
	for x, want := range specials {
		if got := p.Quantize(x); got != want {
			t.Errorf("Quantize(%v) = %d, want %d", x, got, want)
		}
	}
	for _, bad := range []Params{{Scale: 0, DType: Int8}, {Scale: 1, ZeroPoint: 200, DType: Int8}, {Scale: 1, DType: DType(99)}} {
		if bad.Validate() == nil {
			t.Errorf("%+v validated", bad)
		}
	}
	for _, dt := range []DType{Int8, UInt8, Int4, UInt4, Int16, UInt16, Int32} {
		lo, hi := dt.Range()
		p := Params{Scale: 1, DType: dt}
		if p.Quantize(1e12) != hi || p.Quantize(-1e12) != lo {
			t.Errorf("%v does not saturate to [%d, %d]", dt, lo, hi)
		}
	}
	// Bias: scale = input scale × weight scale, zero point 0.
	if got := QuantizeBias(3, 0.5, 1); got != 6 {
		t.Errorf("QuantizeBias = %d, want 6", got)
	}
}

func TestPerChannelRoundTrip(t *testing.T) {
	shape := []int{2, 1, 1, 3} // OHWI-like with axis 3 for variety
	pc := PerChannel{Scales: []float32{0.1, 0.2, 0.4}, ZeroPoints: []int32{0, 0, 0}, Axis: 3, DType: Int8, NarrowRange: true}
	if err := pc.Validate(); err != nil {
		t.Fatal(err)
	}
	x := []float32{0.1, 0.2, 0.4, -1, -2, -4}
	q, err := pc.QuantizeTensor(x, shape)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]int32{1, 1, 1, -10, -10, -10}, q); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	back, err := pc.DequantizeTensor(q, shape)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(x, back); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
}
