package quant

import (
	"errors"
	"fmt"
	"math"
)

// Method is a calibration method: how a tensor's observed statistics become
// a clipping range.
type Method int

const (
	// MethodMinMax uses the observed minimum and maximum: no saturation,
	// and for long-tailed data a coarse step for the bulk of the values.
	MethodMinMax Method = iota
	// MethodPercentile clips |x| at a percentile of its histogram.
	MethodPercentile
	// MethodMSE picks the clip threshold that minimises the expected squared
	// quantization error over the histogram.
	MethodMSE
	// MethodEntropy picks the threshold that minimises the KL divergence
	// between the clipped distribution and its 128-level quantized version
	// (TensorRT's entropy calibration: 2048 bins, candidates from bin 128).
	MethodEntropy
)

// String names the method.
func (m Method) String() string {
	switch m {
	case MethodMinMax:
		return "minmax"
	case MethodPercentile:
		return "percentile"
	case MethodMSE:
		return "mse"
	case MethodEntropy:
		return "entropy"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// CalibConfig says how to turn statistics into parameters.
type CalibConfig struct {
	Method Method
	// Percentile of |x| kept by MethodPercentile, in (0, 100]; 0 means 99.99.
	Percentile float64
	DType      DType
	// Symmetric gives zero point 0 and the narrow code range (weights);
	// otherwise the range is asymmetric, widened to include zero.
	Symmetric bool
}

const (
	// histBins and entropyStartBin and entropyLevels are TensorRT's entropy
	// calibration constants (8-bit: 128 quantized magnitudes).
	histBins        = 2048
	entropyStartBin = 128
	entropyLevels   = 128
)

// Observer accumulates a tensor's statistics over any number of batches:
// min, max, count and a 2048-bin histogram of |x|. The histogram range is
// (just above) the first batch's max |x| and doubles, merging bin pairs
// exactly, whenever a later batch reaches it; so batching does not change
// the histogram.
type Observer struct {
	count    int64
	min, max float64
	hist     []float64
	histMax  float64 // upper edge of the last bin; 0 until a non-zero value
	zeros    int64   // values observed before the histogram had a range
}

// NewObserver returns an empty observer.
func NewObserver() *Observer {
	return &Observer{min: math.Inf(1), max: math.Inf(-1), hist: make([]float64, histBins)}
}

// Count returns the number of finite values observed.
func (o *Observer) Count() int64 { return o.count }

// MinMax returns the observed extremes.
func (o *Observer) MinMax() (min, max float64) { return o.min, o.max }

// Observe adds a batch. NaN and ±Inf are skipped: they carry no range.
func (o *Observer) Observe(xs []float32) {
	batchAbs := 0.0
	for _, x := range xs {
		v := float64(x)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		o.count++
		o.min = math.Min(o.min, v)
		o.max = math.Max(o.max, v)
		batchAbs = math.Max(batchAbs, math.Abs(v))
	}
	if batchAbs == 0 {
		// All zeros so far: bin 0 whatever the range turns out to be.
		for _, x := range xs {
			if x == 0 {
				o.addZero()
			}
		}
		return
	}
	if o.histMax == 0 {
		// Just above the max, so no value sits on the closed upper edge: a
		// value there would have to move bins when the range doubles.
		o.histMax = math.Nextafter(batchAbs, math.Inf(1))
		o.hist[0] += float64(o.zeros)
		o.zeros = 0
	}
	for o.histMax <= batchAbs {
		o.grow()
	}
	width := o.histMax / histBins
	for _, x := range xs {
		v := math.Abs(float64(x))
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		b := int(v / width)
		if b >= histBins {
			b = histBins - 1
		}
		o.hist[b]++
	}
}

func (o *Observer) addZero() {
	if o.histMax == 0 {
		o.zeros++
		return
	}
	o.hist[0]++
}

// grow doubles the histogram range, merging bin pairs: exact, no smearing.
func (o *Observer) grow() {
	for i := 0; i < histBins/2; i++ {
		o.hist[i] = o.hist[2*i] + o.hist[2*i+1]
	}
	for i := histBins / 2; i < histBins; i++ {
		o.hist[i] = 0
	}
	o.histMax *= 2
}

// Histogram returns a copy of the |x| histogram and the width of a bin.
func (o *Observer) Histogram() (counts []float64, binWidth float64) {
	counts = append([]float64(nil), o.hist...)
	counts[0] += float64(o.zeros)
	return counts, o.histMax / histBins
}

// Threshold returns the clipping magnitude T the method chooses for |x|.
func (o *Observer) Threshold(cfg CalibConfig) (float64, error) {
	if o.count == 0 {
		return 0, errors.New("threshold: no values observed")
	}
	absMax := math.Max(math.Abs(o.min), math.Abs(o.max))
	if absMax == 0 || cfg.Method == MethodMinMax {
		return absMax, nil
	}
	hist, width := o.Histogram()
	switch cfg.Method {
	case MethodPercentile:
		p := cfg.Percentile
		if p == 0 {
			p = 99.99
		}
		if !(p > 0 && p <= 100) {
			return 0, fmt.Errorf("threshold: percentile %v not in (0, 100]", p)
		}
		return math.Min(percentileEdge(hist, p)*width, absMax), nil
	case MethodMSE:
		return math.Min(float64(mseBin(hist, symmetricLevels(cfg.DType)))*width, absMax), nil
	case MethodEntropy:
		// TensorRT merges into 128 levels: the magnitudes of a symmetric
		// int8 code. One-sided data (after a ReLU) quantized asymmetrically
		// spreads all 256 codes over [0, T], so it merges into 256.
		levels := entropyLevels
		if o.min >= 0 && !cfg.Symmetric {
			levels = 2 * entropyLevels
		}
		return math.Min(float64(entropyBin(hist, levels))*width, absMax), nil
	}
	return 0, fmt.Errorf("threshold: unknown method %v", cfg.Method)
}

// Range returns the real range [lo, hi] to quantize: the observed range
// clipped to ±Threshold.
func (o *Observer) Range(cfg CalibConfig) (lo, hi float64, err error) {
	t, err := o.Threshold(cfg)
	if err != nil {
		return 0, 0, err
	}
	return math.Max(o.min, -t), math.Min(o.max, t), nil
}

// Params turns the statistics into quantization parameters.
func (o *Observer) Params(cfg CalibConfig) (Params, error) {
	t, err := o.Threshold(cfg)
	if err != nil {
		return Params{}, fmt.Errorf("calibrate %v: %w", cfg.Method, err)
	}
	if t == 0 {
		return Params{}, fmt.Errorf("calibrate %v: every observed value is zero", cfg.Method)
	}
	if cfg.Symmetric {
		p, err := ChooseSymmetricParams(t, cfg.DType)
		if err != nil {
			return p, fmt.Errorf("calibrate %v: %w", cfg.Method, err)
		}
		return p, nil
	}
	lo := math.Min(math.Max(o.min, -t), 0)
	hi := math.Max(math.Min(o.max, t), 0)
	p, err := ChooseParams(lo, hi, cfg.DType, false)
	if err != nil {
		return p, fmt.Errorf("calibrate %v: %w", cfg.Method, err)
	}
	return p, nil
}

// symmetricLevels is the largest code magnitude of a signed type.
func symmetricLevels(dt DType) float64 {
	if !dt.valid() {
		dt = Int8
	}
	_, hi := dt.Range()
	return float64(hi)
}

// percentileEdge returns the bin edge (in bins) below which p% of the mass
// lies.
func percentileEdge(hist []float64, p float64) float64 {
	total := 0.0
	for _, c := range hist {
		total += c
	}
	want := total * p / 100
	cum := 0.0
	for i, c := range hist {
		cum += c
		if cum >= want {
			return float64(i + 1)
		}
	}
	return float64(len(hist))
}

// mseBin returns the threshold, in bins, minimising the expected squared
// error of symmetric quantization with the given number of positive levels,
// each bin's mass placed at its centre.
func mseBin(hist []float64, levels float64) int {
	best, bestErr := len(hist), math.Inf(1)
	for t := entropyStartBin; t <= len(hist); t++ {
		step := float64(t) / levels
		e := 0.0
		for i, c := range hist {
			if c == 0 {
				continue
			}
			v := float64(i) + 0.5
			q := math.Min(math.Round(v/step), levels) * step
			e += c * (v - q) * (v - q)
		}
		if e <= bestErr {
			best, bestErr = t, e
		}
	}
	return best
}

// entropyBin is TensorRT's entropy calibration: for every candidate
// threshold i (in bins, from 128 to 2048) the reference distribution P is
// the histogram up to i with the clipped outliers added to its last bin, and
// Q is the same bins merged into levels levels and spread back evenly over the
// bins that were non-zero. The threshold with the least KL(P‖Q) wins (the
// largest one on ties).
func entropyBin(hist []float64, levels int) int {
	best, bestKL := len(hist), math.Inf(1)
	p := make([]float64, len(hist))
	q := make([]float64, len(hist))
	merged := make([]float64, levels)
	nonzero := make([]int, levels)
	outliers := 0.0
	for _, c := range hist[entropyStartBin:] {
		outliers += c
	}
	for i := entropyStartBin; i <= len(hist); i++ {
		if i > entropyStartBin {
			outliers -= hist[i-1]
		}
		copy(p[:i], hist[:i])
		p[i-1] += outliers
		clear(merged)
		clear(nonzero)
		for j := 0; j < i; j++ {
			if hist[j] != 0 {
				k := j * levels / i
				merged[k] += hist[j]
				nonzero[k]++
			}
		}
		for j := 0; j < i; j++ {
			q[j] = 0
			if hist[j] != 0 {
				k := j * levels / i
				q[j] = merged[k] / float64(nonzero[k])
			}
		}
		if kl := klDivergence(p[:i], q[:i]); kl <= bestKL {
			best, bestKL = i, kl
		}
	}
	return best
}

// klDivergence returns KL(p‖q) of two unnormalised histograms; +Inf where q
// has no mass under p's.
func klDivergence(p, q []float64) float64 {
	sp, sq := 0.0, 0.0
	for i := range p {
		sp += p[i]
		sq += q[i]
	}
	if sp == 0 || sq == 0 {
		return math.Inf(1)
	}
	kl := 0.0
	for i := range p {
		if p[i] == 0 {
			continue
		}
		if q[i] == 0 {
			return math.Inf(1)
		}
		pi, qi := p[i]/sp, q[i]/sq
		kl += pi * math.Log(pi/qi)
	}
	return kl
}

// ChannelObserver keeps one Observer per slice along an axis.
type ChannelObserver struct {
	axis     int
	channels []*Observer
}

// NewChannelObserver observes tensors whose dimension axis has the given
// number of channels.
func NewChannelObserver(axis, channels int) *ChannelObserver {
	o := &ChannelObserver{axis: axis, channels: make([]*Observer, channels)}
	for i := range o.channels {
		o.channels[i] = NewObserver()
	}
	return o
}

// Channel returns channel c's observer.
func (o *ChannelObserver) Channel(c int) *Observer { return o.channels[c] }

// Observe adds a batch of a row-major tensor with the given shape.
func (o *ChannelObserver) Observe(xs []float32, shape []int) error {
	if err := checkAxis(len(xs), shape, o.axis, len(o.channels)); err != nil {
		return fmt.Errorf("observe: %w", err)
	}
	inner := numElements(shape[o.axis+1:])
	outer := len(xs) / (inner * len(o.channels))
	buf := make([]float32, 0, outer*inner)
	for c, ob := range o.channels {
		buf = buf[:0]
		for a := 0; a < outer; a++ {
			base := (a*len(o.channels) + c) * inner
			buf = append(buf, xs[base:base+inner]...)
		}
		ob.Observe(buf)
	}
	return nil
}

// Params returns per-channel parameters along the observed axis.
func (o *ChannelObserver) Params(cfg CalibConfig) (PerChannel, error) {
	pc := PerChannel{Axis: o.axis, DType: cfg.DType, NarrowRange: cfg.Symmetric,
		Scales: make([]float32, len(o.channels)), ZeroPoints: make([]int32, len(o.channels))}
	for c, ob := range o.channels {
		p, err := ob.Params(cfg)
		if err != nil {
			return pc, fmt.Errorf("channel %d: %w", c, err)
		}
		pc.Scales[c], pc.ZeroPoints[c] = p.Scale, p.ZeroPoint
	}
	return pc, nil
}

// QuantizationMSE is the mean squared error of quantizing then dequantizing
// xs with p: what calibration tries to make small.
func QuantizationMSE(xs []float32, p Params) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		d := float64(x) - float64(p.Dequantize(p.Quantize(x)))
		s += d * d
	}
	return s / float64(len(xs))
}
