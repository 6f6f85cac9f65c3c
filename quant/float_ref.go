package quant

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// The float reference computes the same operators in float64 on real
// values: the yardstick the int8 kernels are measured against, never a
// bit-exact target.

// Conv2DFloat is a float convolution with the same layout, grouping,
// padding (zeros, i.e. the real value of the input zero point) and window
// semantics as Conv2D. bias may be nil; the result is not clamped.
func Conv2DFloat(in []float32, inShape Shape, filter []float32, filterShape Shape, bias []float32, w Window) ([]float32, Shape, error) {
	g, groups, err := convCheck(inShape, len(in), filterShape, len(filter), len(bias), w)
	if err != nil {
		return nil, Shape{}, fmt.Errorf("conv2d float: %w", err)
	}
	out := Shape{N: inShape.N, H: g.outH, W: g.outW, C: filterShape.N}
	res := make([]float32, out.Len())
	perGroup := filterShape.N / groups
	fd := filterShape.C
	for n := 0; n < inShape.N; n++ {
		for oy := 0; oy < g.outH; oy++ {
			for ox := 0; ox < g.outW; ox++ {
				for oc := 0; oc < filterShape.N; oc++ {
					icBase := (oc / perGroup) * fd
					sum := 0.0
					if bias != nil {
						sum = float64(bias[oc])
					}
					for fy := 0; fy < filterShape.H; fy++ {
						iy := oy*g.sh - g.padT + fy*g.dh
						if iy < 0 || iy >= inShape.H {
							continue
						}
						for fx := 0; fx < filterShape.W; fx++ {
							ix := ox*g.sw - g.padL + fx*g.dw
							if ix < 0 || ix >= inShape.W {
								continue
							}
							ib := inShape.Index(n, iy, ix, icBase)
							fb := filterShape.Index(oc, fy, fx, 0)
							for ic := 0; ic < fd; ic++ {
								sum += float64(filter[fb+ic]) * float64(in[ib+ic])
							}
						}
					}
					res[out.Index(n, oy, ox, oc)] = float32(sum)
				}
			}
		}
	}
	return res, out, nil
}

// FullyConnectedFloat computes in·weightsᵀ + bias with gonum: input
// [batches × depth], weights [units × depth], output [batches × units].
func FullyConnectedFloat(in []float32, batches int, weights []float32, units int, bias []float32) ([]float32, error) {
	if batches <= 0 || units <= 0 || len(in)%batches != 0 {
		return nil, fmt.Errorf("fully connected float: %d inputs do not split into %d batches", len(in), batches)
	}
	depth := len(in) / batches
	if len(weights) != units*depth || (bias != nil && len(bias) != units) {
		return nil, fmt.Errorf("fully connected float: %d weights, %d biases for %d units × depth %d", len(weights), len(bias), units, depth)
	}
	x := mat.NewDense(batches, depth, toFloat64(in))
	w := mat.NewDense(units, depth, toFloat64(weights))
	var y mat.Dense
	y.Mul(x, w.T())
	out := make([]float32, batches*units)
	for b := 0; b < batches; b++ {
		for u := 0; u < units; u++ {
			v := y.At(b, u)
			if bias != nil {
				v += float64(bias[u])
			}
			out[b*units+u] = float32(v)
		}
	}
	return out, nil
}

func toFloat64(xs []float32) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}

// poolFloat mirrors pool: only taps inside the input count.
func poolFloat(in []float32, s Shape, p PoolParams, f func([]float64) float64) ([]float32, Shape, error) {
	if !s.valid() || len(in) != s.Len() {
		return nil, Shape{}, fmt.Errorf("input %v with %d values", s, len(in))
	}
	g, err := p.Window.geometry(s, p.FilterH, p.FilterW)
	if err != nil {
		return nil, Shape{}, err
	}
	out := Shape{N: s.N, H: g.outH, W: g.outW, C: s.C}
	res := make([]float32, out.Len())
	taps := make([]float64, 0, p.FilterH*p.FilterW)
	for n := 0; n < s.N; n++ {
		for oy := 0; oy < g.outH; oy++ {
			for ox := 0; ox < g.outW; ox++ {
				for c := 0; c < s.C; c++ {
					taps = taps[:0]
					for fy := 0; fy < p.FilterH; fy++ {
						for fx := 0; fx < p.FilterW; fx++ {
							iy, ix := oy*g.sh-g.padT+fy, ox*g.sw-g.padL+fx
							if iy >= 0 && iy < s.H && ix >= 0 && ix < s.W {
								taps = append(taps, float64(in[s.Index(n, iy, ix, c)]))
							}
						}
					}
					res[out.Index(n, oy, ox, c)] = float32(f(taps))
				}
			}
		}
	}
	return res, out, nil
}

// MaxPoolFloat is the float max pool.
func MaxPoolFloat(in []float32, s Shape, p PoolParams) ([]float32, Shape, error) {
	return poolFloat(in, s, p, func(t []float64) float64 {
		m := math.Inf(-1)
		for _, v := range t {
			m = math.Max(m, v)
		}
		return m
	})
}

// AveragePoolFloat is the float average pool over the taps inside the input.
func AveragePoolFloat(in []float32, s Shape, p PoolParams) ([]float32, Shape, error) {
	return poolFloat(in, s, p, func(t []float64) float64 {
		sum := 0.0
		for _, v := range t {
			sum += v
		}
		return sum / float64(len(t))
	})
}

// LogisticFloat is 1/(1+e^−x).
func LogisticFloat(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// TanhFloat is tanh(x).
func TanhFloat(x float64) float64 { return math.Tanh(x) }

// LeakyReLUFloat is x for x > 0, alpha·x otherwise.
func LeakyReLUFloat(x, alpha float64) float64 {
	if x > 0 {
		return x
	}
	return alpha * x
}

// SoftmaxFloat is softmax(beta·x) over rows of size depth.
func SoftmaxFloat(in []float32, depth int, beta float64) ([]float32, error) {
	if depth <= 0 || len(in)%depth != 0 {
		return nil, fmt.Errorf("softmax float: %d values do not split into rows of %d", len(in), depth)
	}
	out := make([]float32, len(in))
	for row := 0; row < len(in); row += depth {
		m := math.Inf(-1)
		for _, v := range in[row : row+depth] {
			m = math.Max(m, float64(v))
		}
		sum := 0.0
		e := make([]float64, depth)
		for i, v := range in[row : row+depth] {
			e[i] = math.Exp((float64(v) - m) * beta)
			sum += e[i]
		}
		for i := range e {
			out[row+i] = float32(e[i] / sum)
		}
	}
	return out, nil
}
