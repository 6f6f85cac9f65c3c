//go:build ort

package ort

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/verify"
)

// synthCase is one synthetic model: a QLinearMatMul (FC) or a QLinearConv
// with random int8 operands and scales drawn over a wide range, so that
// sums reach 2^24 and beyond (float32 rounds them) and products land near
// halves.
type synthCase struct {
	name  string
	model []byte
	layer *compile.Layer // tpugen's form, without its input
	in    []int64        // ONNX input shape
	// allValues: the input is a permutation of every int8 value.
	allValues bool
}

func scalar(v float32) []float32 { return []float32{v} }

func randScale(r *rand.Rand) float32 {
	return float32(math.Ldexp(1+r.Float64(), -4-r.IntN(12)))
}

// qlinearMatMul: Y[M,N] = A[M,K] × B[K,N], per-tensor scales.
func qlinearMatMul(t *testing.T, r *rand.Rand, m, k, n int) synthCase {
	as, bs, ys := randScale(r), randScale(r), randScale(r)
	if r.IntN(2) == 0 {
		ys = float32(math.Ldexp(1, -r.IntN(8))) // a power of two: exact ties are common
	}
	azp, yzp := int8(r.IntN(256)-128), int8(r.IntN(256)-128)
	w := make([]int8, k*n)
	for i := range w {
		w[i] = int8(r.IntN(255) - 127)
	}
	b := NewBuilder("qlinear_matmul")
	b.Input("a", elemInt8, int64(m), int64(k))
	b.Output("y", elemInt8, int64(m), int64(n))
	b.Init("a_scale", nil, scalar(as))
	b.Init("a_zp", nil, []int8{azp})
	b.Init("b", []int64{int64(k), int64(n)}, w)
	b.Init("b_scale", nil, scalar(bs))
	b.Init("b_zp", nil, []int8{0})
	b.Init("y_scale", nil, scalar(ys))
	b.Init("y_zp", nil, []int8{yzp})
	b.Node("QLinearMatMul", []string{"a", "a_scale", "a_zp", "b", "b_scale", "b_zp", "y_scale", "y_zp"}, []string{"y"}, nil)
	data, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	wt := make([]int8, n*k) // tpugen's weights are N×K
	for i := 0; i < k; i++ {
		for j := 0; j < n; j++ {
			wt[j*k+i] = w[i*n+j]
		}
	}
	l := &compile.Layer{Kind: compile.FC, InShape: quant.Shape{N: m, H: 1, W: 1, C: k},
		WeightShape: quant.Shape{N: n, H: 1, W: 1, C: k}, Weights: wt, Bias: make([]int32, n), InputZP: int32(azp),
		Requant: compile.Requant{Scales: quant.OutputScalesFloat(as, []float32{bs}, ys), ZeroPoint: int32(yzp)}}
	return synthCase{name: fmt.Sprintf("QLinearMatMul %dx%dx%d", m, k, n), model: data, layer: l, in: []int64{int64(m), int64(k)}}
}

// qlinearConv: NCHW int8 input, per-channel weight scales, int32 bias,
// 3x3 with padding 1.
func qlinearConv(t *testing.T, r *rand.Rand, h, w, c, o int) synthCase {
	xs, ys := randScale(r), randScale(r)
	xzp, yzp := int8(r.IntN(256)-128), int8(r.IntN(256)-128)
	ws := make([]float32, o)
	for i := range ws {
		ws[i] = randScale(r)
	}
	wt := make([]int8, o*c*9) // OIHW
	for i := range wt {
		wt[i] = int8(r.IntN(255) - 127)
	}
	bias := make([]int32, o)
	for i := range bias {
		bias[i] = int32(r.IntN(1<<20) - 1<<19)
	}
	b := NewBuilder("qlinear_conv")
	b.Input("x", elemInt8, 1, int64(c), int64(h), int64(w))
	b.Output("y", elemInt8, 1, int64(o), int64(h), int64(w))
	b.Init("x_scale", nil, scalar(xs))
	b.Init("x_zp", nil, []int8{xzp})
	b.Init("w", []int64{int64(o), int64(c), 3, 3}, wt)
	b.Init("w_scale", []int64{int64(o)}, ws)
	b.Init("w_zp", []int64{int64(o)}, make([]int8, o))
	b.Init("y_scale", nil, scalar(ys))
	b.Init("y_zp", nil, []int8{yzp})
	b.Init("bias", []int64{int64(o)}, bias)
	b.Node("QLinearConv", []string{"x", "x_scale", "x_zp", "w", "w_scale", "w_zp", "y_scale", "y_zp", "bias"}, []string{"y"},
		map[string][]int64{"kernel_shape": {3, 3}, "pads": {1, 1, 1, 1}, "strides": {1, 1}})
	data, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	ohwi := make([]int8, len(wt))
	for oc := 0; oc < o; oc++ {
		for ic := 0; ic < c; ic++ {
			for y := 0; y < 3; y++ {
				for x := 0; x < 3; x++ {
					ohwi[((oc*3+y)*3+x)*c+ic] = wt[((oc*c+ic)*3+y)*3+x]
				}
			}
		}
	}
	l := &compile.Layer{Kind: compile.Conv, InShape: quant.Shape{N: 1, H: h, W: w, C: c},
		WeightShape: quant.Shape{N: o, H: 3, W: 3, C: c}, Weights: ohwi, Bias: bias, InputZP: int32(xzp),
		Window:  quant.Window{StrideH: 1, StrideW: 1, Padding: quant.PaddingSame},
		Requant: compile.Requant{Scales: quant.OutputScalesFloat(xs, ws, ys), ZeroPoint: int32(yzp)}}
	return synthCase{name: fmt.Sprintf("QLinearConv %dx%dx%d->%d", h, w, c, o), model: data, layer: l, in: []int64{1, int64(c), int64(h), int64(w)}}
}

// qlinearTies is a QLinearConv built so that the roundings decide: a 1x1
// convolution of a 16x16 map holding every int8 value once, one input
// channel, weights 1, input and output scales 1, so channel o's sums are
// the 256 consecutive integers from its bias on and its scale is its weight
// scale. Even channels have power-of-two scales (every 2^k-th output is an
// exact tie); odd ones a scale and a bias found by search so that the sums
// include one where float32 arithmetic rounds differently from exact
// arithmetic. cover counts both kinds of outputs.
func qlinearTies(t *testing.T, r *rand.Rand, o int) (c synthCase, ties, inexact int) {
	xzp := int8(r.IntN(256) - 128)
	ws := make([]float32, o)
	bias := make([]int32, o)
	exact := func(x int32, s float32) int32 {
		return int32(max(-128, min(127, math.RoundToEven(float64(x)*float64(s)))))
	}
	for ch := 0; ch < o; ch++ {
		if ch%2 == 0 {
			k := 1 + r.IntN(6)
			ws[ch] = float32(math.Ldexp(1, -k))
			bias[ch] = int32(r.IntN(200)-100) << k
			continue
		}
		for {
			s := float32(math.Ldexp(1+r.Float64(), -18-r.IntN(8)))
			n := float64(r.IntN(201) - 100)
			x := int32(math.Round((n+0.5)/float64(s))) + int32(r.IntN(7)-3)
			if quant.RequantizeFloat(x, 0, s, 0, -128, 127) != exact(x, s) {
				ws[ch] = s
				bias[ch] = x - int32(r.IntN(256)-128-int(xzp)) // the sum of some input value
				break
			}
		}
	}
	for ch := 0; ch < o; ch++ {
		for v := -128; v < 128; v++ {
			x := int32(v-int(xzp)) + bias[ch]
			p := float32(float64(float32(x)) * float64(ws[ch]))
			if f := math.Abs(float64(p)); f-math.Floor(f) == 0.5 && f < 128 {
				ties++
			}
			if quant.RequantizeFloat(x, 0, ws[ch], 0, -128, 127) != exact(x, ws[ch]) {
				inexact++
			}
		}
	}
	b := NewBuilder("qlinear_ties")
	b.Input("x", elemInt8, 1, 1, 16, 16)
	b.Output("y", elemInt8, 1, int64(o), 16, 16)
	b.Init("x_scale", nil, scalar(1))
	b.Init("x_zp", nil, []int8{xzp})
	ones := make([]int8, o)
	for i := range ones {
		ones[i] = 1
	}
	b.Init("w", []int64{int64(o), 1, 1, 1}, ones)
	b.Init("w_scale", []int64{int64(o)}, ws)
	b.Init("w_zp", []int64{int64(o)}, make([]int8, o))
	b.Init("y_scale", nil, scalar(1))
	b.Init("y_zp", nil, []int8{0})
	b.Init("bias", []int64{int64(o)}, bias)
	b.Node("QLinearConv", []string{"x", "x_scale", "x_zp", "w", "w_scale", "w_zp", "y_scale", "y_zp", "bias"}, []string{"y"},
		map[string][]int64{"kernel_shape": {1, 1}})
	data, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	l := &compile.Layer{Kind: compile.Conv, InShape: quant.Shape{N: 1, H: 16, W: 16, C: 1},
		WeightShape: quant.Shape{N: o, H: 1, W: 1, C: 1}, Weights: ones, Bias: bias, InputZP: int32(xzp),
		Window:  quant.Window{StrideH: 1, StrideW: 1, Padding: quant.PaddingValid},
		Requant: compile.Requant{Scales: quant.OutputScalesFloat(1, ws, 1)}}
	return synthCase{name: fmt.Sprintf("QLinearConv ties 16x16x1->%d", o), model: data, layer: l, in: []int64{1, 1, 16, 16}, allValues: true}, ties, inexact
}

// TestSyntheticQLinear runs random QLinearMatMul and QLinearConv models on
// ONNX Runtime and compares every int8 output with tpugen's golden model
// (the float-scale requantizer); the first input of each model also runs
// on the RTL.
func TestSyntheticQLinear(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 77))
	cfg := floatConfig(t)
	acfg := cfg.Resolve()
	var cases []synthCase
	for i := 0; i < 6; i++ {
		cases = append(cases, qlinearMatMul(t, r, 1+r.IntN(16), 1+r.IntN(600), 1+r.IntN(24)))
		cases = append(cases, qlinearConv(t, r, 3+r.IntN(8), 3+r.IntN(8), 1+r.IntN(40), 1+r.IntN(12)))
	}
	ties, inexact := 0, 0
	for i := 0; i < 4; i++ {
		c, tc, ic := qlinearTies(t, r, 16)
		cases = append(cases, c)
		ties, inexact = ties+tc, inexact+ic
	}
	if ties < 100 || inexact < 4 {
		t.Fatalf("the tie models hold %d exact ties and %d outputs where float32 differs from exact arithmetic; want at least 100 and 4", ties, inexact)
	}
	man, dir, simr := genRTL(t, cfg)
	total, diffs, rtlValues, rtlDiffs := 0, 0, 0, 0
	for _, c := range cases {
		sess, err := NewSession(c.model, []string{inputName(c.layer)}, []string{"y"})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for rep := 0; rep < 20; rep++ {
			l := *c.layer
			l.Input = make([]int8, l.InShape.Len())
			for i := range l.Input {
				l.Input[i] = int8(r.IntN(256) - 128)
			}
			if c.allValues {
				for i, v := range r.Perm(256) {
					l.Input[i] = int8(v - 128)
				}
			}
			onnxIn := l.Input
			if l.Kind == compile.Conv {
				onnxIn = make([]int8, len(l.Input))
				s := l.InShape
				for ch := 0; ch < s.C; ch++ {
					for y := 0; y < s.H; y++ {
						for x := 0; x < s.W; x++ {
							onnxIn[(ch*s.H+y)*s.W+x] = l.Input[s.Index(0, y, x, ch)]
						}
					}
				}
			}
			in, err := Int8(c.in, onnxIn)
			if err != nil {
				t.Fatal(err)
			}
			res, err := sess.Run(in)
			in.Destroy()
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			want, shape, err := verify.LayerReference(acfg, &l)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			got, err := nhwc(res[0], shape)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			total += len(want)
			for i := range want {
				if want[i] != got[i] {
					if diffs < 5 {
						t.Errorf("%s input %d: output %d: ONNX Runtime %d, tpugen %d", c.name, rep, i, got[i], want[i])
					}
					diffs++
				}
			}
			if rep == 0 {
				run, err := verify.RunLayer(context.Background(), simr, man, dir, &l, verify.GEMMOptions{})
				if err != nil {
					t.Fatalf("%s on the RTL: %v", c.name, err)
				}
				rtlValues += len(want)
				for i := range want {
					if run.Output[i] != want[i] {
						rtlDiffs++
					}
				}
			}
		}
		sess.Close()
	}
	t.Logf("synthetic: %d QLinearMatMul and QLinearConv models on ONNX Runtime %s: %d int8 values compared, %d differ (the tie models: %d exact ties, %d outputs where float32 rounds differently from exact arithmetic, per input); RTL: %d values, %d differ from the golden model",
		len(cases), Version(), total, diffs, ties, inexact, rtlValues, rtlDiffs)
	if rtlDiffs > 0 {
		t.Errorf("the RTL differs from the golden model in %d values", rtlDiffs)
	}
}

func inputName(l *compile.Layer) string {
	if l.Kind == compile.FC {
		return "a"
	}
	return "x"
}
