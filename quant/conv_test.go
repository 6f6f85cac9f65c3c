package quant

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Published vector: tensorflow/lite/kernels/conv_test.cc,
// ConvolutionOpTest.SimplePerChannelTest — int8 input [−63.5, 64] (scale
// 0.5, zp −1), per-channel filter scales {1, 2}, output [−63.5, 64],
// expected codes {61, 127, −115, −93}.
func TestConv2DPublishedPerChannel(t *testing.T) {
	inP := Params{Scale: 0.5, ZeroPoint: -1, DType: Int8}
	outP := inP
	inReal := []float32{3, 2, 1, -1, -2, -3, 4, 3, 2, -2, -3, -4}
	filterReal := []float32{1, 2, 3, 4, 3, 4, 5, 6, 7, 8, 5, 6, 3, 4, 1, 2}
	fShape := Shape{N: 2, H: 2, W: 2, C: 2}
	wpc := PerChannel{Scales: []float32{1, 2}, ZeroPoints: []int32{0, 0}, Axis: 0, DType: Int8, NarrowRange: true}
	fq, err := wpc.QuantizeTensor(filterReal, []int{2, 2, 2, 2})
	if err != nil {
		t.Fatal(err)
	}
	filter := make([]int8, len(fq))
	for i, v := range fq {
		filter[i] = int8(v)
	}
	bias := []int32{QuantizeBias(3, inP.Scale, 1), QuantizeBias(-2, inP.Scale, 2)}
	mults, shifts := OutputMultipliers(inP.Scale, wpc.Scales, outP.Scale)
	p := ConvParams{
		Window:         Window{StrideH: 1, StrideW: 1, Padding: PaddingValid},
		InputZeroPoint: inP.ZeroPoint,
		Output:         OutputStage{Multipliers: mults, Shifts: shifts, ZeroPoint: outP.ZeroPoint},
	}
	got, shape, err := Conv2D(QuantizeInt8(inReal, inP), Shape{N: 1, H: 2, W: 3, C: 2}, filter, fShape, bias, p)
	if err != nil {
		t.Fatal(err)
	}
	if shape != (Shape{N: 1, H: 1, W: 2, C: 2}) {
		t.Errorf("output shape %v", shape)
	}
	if d := cmp.Diff([]int8{61, 127, -115, -93}, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// TestConv2DPaddingIsZeroPoint: SAME padding equals explicitly padding the
// input with its zero point and running VALID, bit for bit — padded taps
// count as the input zero point, never as a raw 0.
func TestConv2DPaddingIsZeroPoint(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	in := Shape{N: 1, H: 5, W: 6, C: 3}
	f := Shape{N: 4, H: 3, W: 3, C: 3}
	x := randInt8(r, in.Len(), -128, 127)
	w := randInt8(r, f.Len(), -127, 127)
	const zp = 37
	out := OutputStage{Multipliers: []int32{1 << 30}, Shifts: []int{-6}, ZeroPoint: -5}
	same, sShape, err := Conv2D(x, in, w, f, nil, ConvParams{Window: Window{StrideH: 1, StrideW: 1, Padding: PaddingSame}, InputZeroPoint: zp, Output: out})
	if err != nil {
		t.Fatal(err)
	}
	padded := Shape{N: 1, H: in.H + 2, W: in.W + 2, C: in.C}
	px := make([]int8, padded.Len())
	for i := range px {
		px[i] = zp
	}
	for h := 0; h < in.H; h++ {
		for w := 0; w < in.W; w++ {
			for c := 0; c < in.C; c++ {
				px[padded.Index(0, h+1, w+1, c)] = x[in.Index(0, h, w, c)]
			}
		}
	}
	valid, vShape, err := Conv2D(px, padded, w, f, nil, ConvParams{Window: Window{StrideH: 1, StrideW: 1, Padding: PaddingValid}, InputZeroPoint: zp, Output: out})
	if err != nil {
		t.Fatal(err)
	}
	if sShape != vShape {
		t.Fatalf("shapes %v vs %v", sShape, vShape)
	}
	if d := cmp.Diff(valid, same); d != "" {
		t.Errorf("SAME vs zero-point-padded VALID (-valid +same):\n%s", d)
	}
	// The off-by-zp bug this guards against: padding with a raw 0 differs.
	for i := range px {
		if px[i] == zp {
			px[i] = 0
		}
	}
	wrong, _, _ := Conv2D(px, padded, w, f, nil, ConvParams{Window: Window{StrideH: 1, StrideW: 1, Padding: PaddingValid}, InputZeroPoint: zp, Output: out})
	if cmp.Equal(wrong, same) {
		t.Error("padding with raw zeros gave the same result: the test does not discriminate")
	}
}

// TestConv2DMatchesFloat: over random geometries (SAME, VALID, explicit
// padding; strides; dilations; groups; per-channel weights) the int8 conv is
// within one LSB of the float conv on the dequantized operands.
func TestConv2DMatchesFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for trial := 0; trial < 60; trial++ {
		groups := []int{1, 1, 2, 3}[r.IntN(4)]
		cinPerGroup := 1 + r.IntN(3)
		in := Shape{N: 1 + r.IntN(2), H: 3 + r.IntN(6), W: 3 + r.IntN(6), C: groups * cinPerGroup}
		f := Shape{N: groups * (1 + r.IntN(3)), H: 1 + r.IntN(3), W: 1 + r.IntN(3), C: cinPerGroup}
		win := Window{StrideH: 1 + r.IntN(2), StrideW: 1 + r.IntN(2), DilationH: 1 + r.IntN(2), DilationW: 1 + r.IntN(2), Padding: Padding(r.IntN(3))}
		if win.Padding == PaddingExplicit {
			win.PadTop, win.PadBottom, win.PadLeft, win.PadRight = r.IntN(3), r.IntN(3), r.IntN(3), r.IntN(3)
		}
		name := fmt.Sprintf("trial %d in %v filter %v %+v", trial, in, f, win)
		inP := Params{Scale: 0.02 + r.Float32()*0.1, ZeroPoint: int32(r.IntN(60) - 30), DType: Int8}
		wScales := make([]float32, f.N)
		for i := range wScales {
			wScales[i] = 0.005 + r.Float32()*0.02
		}
		x := randInt8(r, in.Len(), -128, 127)
		w := randInt8(r, f.Len(), -127, 127)
		biasReal := make([]float32, f.N)
		bias := make([]int32, f.N)
		for c := range bias {
			bias[c] = int32(r.IntN(2001) - 1000)
			biasReal[c] = float32(bias[c]) * inP.Scale * wScales[c]
		}
		xr := DequantizeInt8(x, inP)
		wr := make([]float32, len(w))
		for i := range w {
			wr[i] = float32(w[i]) * wScales[i/(f.H*f.W*f.C)]
		}
		ref, rShape, err := Conv2DFloat(xr, in, wr, f, biasReal, win)
		if err != nil {
			if _, _, err2 := Conv2D(x, in, w, f, bias, ConvParams{Window: win, Output: OutputStage{Multipliers: []int32{1}, Shifts: []int{0}}}); err2 == nil {
				t.Fatalf("%s: float rejects (%v) what int8 accepts", name, err)
			}
			continue
		}
		lo, hi := 0.0, 0.0
		for _, v := range ref {
			lo, hi = min(lo, float64(v)), max(hi, float64(v))
		}
		outP, err := ChooseParams(lo-0.1, hi+0.1, Int8, false)
		if err != nil {
			t.Fatal(err)
		}
		mults, shifts := OutputMultipliers(inP.Scale, wScales, outP.Scale)
		for _, mode := range []Rounding{RoundingDouble, RoundingSingle} {
			p := ConvParams{Window: win, InputZeroPoint: inP.ZeroPoint,
				Output: OutputStage{Multipliers: mults, Shifts: shifts, ZeroPoint: outP.ZeroPoint, Rounding: mode}}
			got, gShape, err := Conv2D(x, in, w, f, bias, p)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if gShape != rShape {
				t.Fatalf("%s: shape %v, float %v", name, gShape, rShape)
			}
			if i := withinOneLSB(got, ref, outP, -128, 127); i >= 0 {
				t.Fatalf("%s %v: element %d = %d, float %v → %d", name, mode, i, got[i], ref[i], outP.Quantize(ref[i]))
			}
		}
	}
}

// TestDepthwiseIsGroupedConv: a depthwise conv with multiplier M equals the
// grouped conv with groups = C and the filter reordered.
func TestDepthwiseIsGroupedConv(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	in := Shape{N: 2, H: 6, W: 5, C: 3}
	const m = 2
	fd := Shape{N: 1, H: 3, W: 3, C: in.C * m}
	x := randInt8(r, in.Len(), -128, 127)
	w := randInt8(r, fd.Len(), -127, 127)
	bias := []int32{5, -7, 100, 0, -3, 9}
	p := ConvParams{Window: Window{StrideH: 2, StrideW: 1, Padding: PaddingSame}, InputZeroPoint: -9,
		Output: OutputStage{Multipliers: []int32{1 << 30, 1 << 30, 1 << 30, 1 << 30, 1 << 30, 1 << 30}, Shifts: []int{-5, -5, -4, -4, -6, -6}, ZeroPoint: 3}}
	dw, dShape, err := DepthwiseConv2D(x, in, w, fd, bias, p)
	if err != nil {
		t.Fatal(err)
	}
	// Hand-built OHWI grouped filter: output channel ic·M+k.
	g := Shape{N: in.C * m, H: 3, W: 3, C: 1}
	gw := make([]int8, g.Len())
	for oc := 0; oc < g.N; oc++ {
		for y := 0; y < 3; y++ {
			for xx := 0; xx < 3; xx++ {
				gw[g.Index(oc, y, xx, 0)] = w[fd.Index(0, y, xx, oc)]
			}
		}
	}
	gc, gShape, err := Conv2D(x, in, gw, g, bias, p)
	if err != nil {
		t.Fatal(err)
	}
	if dShape != gShape || !cmp.Equal(dw, gc) {
		t.Errorf("depthwise %v differs from grouped conv %v", dShape, gShape)
	}
}

func TestConv2DErrors(t *testing.T) {
	in := Shape{N: 1, H: 4, W: 4, C: 4}
	x := make([]int8, in.Len())
	out := OutputStage{Multipliers: []int32{1 << 30}, Shifts: []int{0}}
	bad := []struct {
		name string
		f    Shape
		bias []int32
		w    Window
		out  OutputStage
	}{
		{"depth not divisible", Shape{N: 2, H: 1, W: 1, C: 3}, nil, Window{StrideH: 1, StrideW: 1}, out},
		{"zero stride", Shape{N: 2, H: 1, W: 1, C: 4}, nil, Window{}, out},
		{"filter larger than input", Shape{N: 2, H: 5, W: 1, C: 4}, nil, Window{StrideH: 1, StrideW: 1}, out},
		{"bias length", Shape{N: 2, H: 1, W: 1, C: 4}, []int32{1}, Window{StrideH: 1, StrideW: 1}, out},
		{"multiplier count", Shape{N: 3, H: 1, W: 1, C: 4}, nil, Window{StrideH: 1, StrideW: 1}, OutputStage{Multipliers: []int32{1, 2}, Shifts: []int{0, 0}}},
		{"empty activation range", Shape{N: 2, H: 1, W: 1, C: 4}, nil, Window{StrideH: 1, StrideW: 1}, OutputStage{Multipliers: []int32{1}, Shifts: []int{0}, ActMin: 5, ActMax: 4}},
	}
	for _, b := range bad {
		if _, _, err := Conv2D(x, in, make([]int8, b.f.Len()), b.f, b.bias, ConvParams{Window: b.w, Output: b.out}); err == nil {
			t.Errorf("%s: no error", b.name)
		} else {
			t.Logf("%s: %v", b.name, err)
		}
	}
}

// BenchmarkConv2D measures the reference conv kernel on a 32×32×32 input
// with 32 3×3 filters (SAME), reporting multiply-accumulates per second.
func BenchmarkConv2D(b *testing.B) {
	r := rand.New(rand.NewPCG(27, 28))
	in := Shape{N: 1, H: 32, W: 32, C: 32}
	f := Shape{N: 32, H: 3, W: 3, C: 32}
	x := randInt8(r, in.Len(), -128, 127)
	w := randInt8(r, f.Len(), -127, 127)
	mults, shifts := OutputMultipliers(0.05, make32(f.N, 0.01), 0.1)
	p := ConvParams{Window: Window{StrideH: 1, StrideW: 1, Padding: PaddingSame}, InputZeroPoint: 3,
		Output: OutputStage{Multipliers: mults, Shifts: shifts, ZeroPoint: -2}}
	macs := float64(in.H * in.W * f.N * f.H * f.W * f.C)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := Conv2D(x, in, w, f, nil, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds(), "MACs/s")
}

func make32(n int, v float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	return s
}
