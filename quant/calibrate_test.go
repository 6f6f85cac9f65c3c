package quant

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// laplaceWithOutliers draws a Laplacian activation (scale b) with a few
// large outliers, the shape that makes min-max calibration waste its codes.
func laplaceWithOutliers(r *rand.Rand, n int, b float64, outlierEvery int, outlierMag float64) []float32 {
	xs := make([]float32, n)
	for i := range xs {
		u := r.Float64() - 0.5
		v := -b * math.Copysign(math.Log(1-2*math.Abs(u)), u)
		if outlierEvery > 0 && i%outlierEvery == 0 {
			v = math.Copysign(outlierMag*(0.5+r.Float64()), u)
		}
		xs[i] = float32(v)
	}
	return xs
}

// TestCalibrationClipsOutliers: on a Laplacian with rare large outliers,
// observed over several batches, percentile and entropy calibration clip
// the outliers (threshold far below max |x|) and quantize the body of the
// distribution — every value but the outliers — with much lower error than
// min-max, which spends its 255 codes on empty range ("no saturation is
// bad"). Over all values, squared error is dominated by the few clipped
// outliers; the MSE method minimises exactly that and so never does worse
// than min-max.
func TestCalibrationClipsOutliers(t *testing.T) {
	r := rand.New(rand.NewPCG(61, 62))
	obs := NewObserver()
	var all, body []float32
	for batch := 0; batch < 8; batch++ {
		xs := laplaceWithOutliers(r, 8192, 1.0, 2000, 40)
		obs.Observe(xs)
		all = append(all, xs...)
		for i, x := range xs {
			if i%2000 != 0 {
				body = append(body, x)
			}
		}
	}
	if obs.Count() != int64(len(all)) {
		t.Fatalf("count %d, want %d", obs.Count(), len(all))
	}
	_, absMax := obs.MinMax()
	if lo, _ := obs.MinMax(); -lo > absMax {
		absMax = -lo
	}
	for _, sym := range []bool{true, false} {
		bodyErr := map[Method]float64{}
		allErr := map[Method]float64{}
		for _, m := range []Method{MethodMinMax, MethodPercentile, MethodMSE, MethodEntropy} {
			cfg := CalibConfig{Method: m, DType: Int8, Symmetric: sym, Percentile: 99.9}
			p, err := obs.Params(cfg)
			if err != nil {
				t.Fatal(err)
			}
			th, err := obs.Threshold(cfg)
			if err != nil {
				t.Fatal(err)
			}
			bodyErr[m], allErr[m] = QuantizationMSE(body, p), QuantizationMSE(all, p)
			t.Logf("symmetric=%-5v %-10v threshold %6.2f (max %5.2f) scale %.4f zp %4d  MSE body %.2e all %.2e",
				sym, m, th, absMax, p.Scale, p.ZeroPoint, bodyErr[m], allErr[m])
			if (m == MethodPercentile || m == MethodEntropy) && th > absMax/2 {
				t.Errorf("symmetric=%v: %v threshold %v does not clip outliers (max %v)", sym, m, th, absMax)
			}
		}
		for _, m := range []Method{MethodPercentile, MethodEntropy} {
			if !(bodyErr[m] < bodyErr[MethodMinMax]/4) {
				t.Errorf("symmetric=%v: %v body MSE %.3g not well below min-max %.3g", sym, m, bodyErr[m], bodyErr[MethodMinMax])
			}
		}
		if allErr[MethodMSE] > allErr[MethodMinMax]*1.01 {
			t.Errorf("symmetric=%v: MSE method %.3g worse than min-max %.3g over all values", sym, allErr[MethodMSE], allErr[MethodMinMax])
		}
	}
}

// TestObserverBatchesEqualOneBatch: growing the histogram across batches
// (doubling, merging bin pairs) gives the same histogram as observing all
// values at once with the final range.
func TestObserverBatchesEqualOneBatch(t *testing.T) {
	xs := []float32{0.5, -1, 0, 0.25}
	ys := []float32{3.9, -2, 0.1}
	a := NewObserver()
	a.Observe([]float32{0, 0})
	a.Observe(xs)
	a.Observe(ys) // grows the range 1 → 2 → 4
	b := NewObserver()
	b.Observe([]float32{4, 0, 0}) // the same final range and zero count
	b.Observe(xs)
	b.Observe(ys)
	ha, wa := a.Histogram()
	hb, wb := b.Histogram()
	hb[histBins-1]-- // b's extra 4.0
	if wa != wb {
		t.Fatalf("bin widths %v vs %v", wa, wb)
	}
	if d := cmp.Diff(hb, ha); d != "" {
		t.Errorf("histograms differ (-one range +grown):\n%s", d)
	}
	if lo, hi := a.MinMax(); lo != -2 || hi != float64(float32(3.9)) {
		t.Errorf("min max %v %v", lo, hi)
	}
	a.Observe([]float32{float32(math.NaN()), float32(math.Inf(1))})
	if a.Count() != 9 {
		t.Errorf("NaN/Inf counted: %d", a.Count())
	}
}

func TestCalibrationEdges(t *testing.T) {
	o := NewObserver()
	if _, err := o.Params(CalibConfig{DType: Int8}); err == nil {
		t.Error("params of an empty observer")
	}
	o.Observe([]float32{0, 0})
	if _, err := o.Params(CalibConfig{DType: Int8}); err == nil {
		t.Error("params of all-zero data")
	}
	o.Observe([]float32{1, 2, 3}) // all non-negative: asymmetric zp at the bottom
	p, err := o.Params(CalibConfig{Method: MethodMinMax, DType: Int8})
	if err != nil || p.ZeroPoint != -128 {
		t.Errorf("post-ReLU params %+v, %v; want zp -128", p, err)
	}
	if _, err := o.Threshold(CalibConfig{Method: MethodPercentile, Percentile: 101}); err == nil {
		t.Error("percentile 101 accepted")
	}
	if kl := klDivergence([]float64{1, 1}, []float64{1, 0}); !math.IsInf(kl, 1) {
		t.Errorf("KL with empty Q bin = %v, want +Inf", kl)
	}
	if kl := klDivergence([]float64{1, 3}, []float64{2, 6}); kl != 0 {
		t.Errorf("KL of proportional histograms = %v, want 0", kl)
	}
}

// TestChannelObserver: per-channel calibration of OHWI weights along axis 0
// gives each output channel its own symmetric scale.
func TestChannelObserver(t *testing.T) {
	shape := []int{3, 1, 2, 2}
	w := []float32{
		0.1, -0.2, 0.05, 0.127, // channel 0: max |w| 0.2
		1, -2.54, 0.5, 2, // channel 1: 2.54
		0, 0.0127, -0.001, 0, // channel 2: 0.0127
	}
	o := NewChannelObserver(0, 3)
	if err := o.Observe(w, shape); err != nil {
		t.Fatal(err)
	}
	pc, err := o.Params(CalibConfig{Method: MethodMinMax, DType: Int8, Symmetric: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{float32(0.2 / 127), float32(2.54 / 127), float32(0.0127 / 127)}
	for c := range want {
		if math.Abs(float64(pc.Scales[c]-want[c])) > 1e-9 || pc.ZeroPoints[c] != 0 {
			t.Errorf("channel %d: scale %v zp %d, want %v 0", c, pc.Scales[c], pc.ZeroPoints[c], want[c])
		}
	}
	// Activations along the last (channel) axis of NHWC.
	act := NewChannelObserver(3, 2)
	if err := act.Observe([]float32{1, -5, 2, 5, 3, -1}, []int{1, 1, 3, 2}); err != nil {
		t.Fatal(err)
	}
	if lo, hi := act.Channel(0).MinMax(); lo != 1 || hi != 3 {
		t.Errorf("NHWC channel 0 range [%v, %v], want [1, 3]", lo, hi)
	}
	if err := act.Observe(make([]float32, 5), []int{1, 1, 5, 1}); err == nil {
		t.Error("wrong channel count accepted")
	}
}

// TestEntropyOneSided: one-sided data (a ReLU's output) quantized
// asymmetrically has 256 codes over [0, T], twice a symmetric code's
// magnitudes, so the entropy method merges its histogram into 256 levels;
// symmetric calibration of the same data keeps TensorRT's 128.
func TestEntropyOneSided(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	o := NewObserver()
	xs := make([]float32, 200000)
	for i := range xs {
		if r.IntN(2) == 0 {
			continue // the ReLU's zeros
		}
		xs[i] = float32(math.Abs(r.NormFloat64()) + 0.05*r.ExpFloat64()*r.ExpFloat64())
	}
	o.Observe(xs)
	hist, width := o.Histogram()
	for _, tc := range []struct {
		symmetric bool
		levels    int
	}{{false, 256}, {true, 128}} {
		got, err := o.Threshold(CalibConfig{Method: MethodEntropy, DType: Int8, Symmetric: tc.symmetric})
		if err != nil {
			t.Fatal(err)
		}
		if want := float64(entropyBin(hist, tc.levels)) * width; got != want {
			t.Errorf("symmetric %v: threshold %.4f, want %.4f (%d levels)", tc.symmetric, got, want, tc.levels)
		}
	}
	if a, b := entropyBin(hist, 256), entropyBin(hist, 128); a == b {
		t.Errorf("this data does not tell 128 from 256 levels apart (both bin %d)", a)
	}
}
