package quant

import "fmt"

// PoolParams configures int8 pooling. Input and output share scale and
// zero point, so pooling works on raw codes.
type PoolParams struct {
	Window
	FilterH, FilterW int
	// ActMin and ActMax clamp the result; both zero means the int8 range.
	ActMin, ActMax int32
}

func (p PoolParams) actRange() (int32, int32) {
	if p.ActMin == 0 && p.ActMax == 0 {
		return -128, 127
	}
	return p.ActMin, p.ActMax
}

// pool runs f over every window, with only the taps inside the input (pads
// are excluded, not zero), as TFLite's reference pooling.
func pool(in []int8, s Shape, p PoolParams, f func(taps []int8) (int32, error)) ([]int8, Shape, error) {
	if !s.valid() || len(in) != s.Len() {
		return nil, Shape{}, fmt.Errorf("input %v with %d values", s, len(in))
	}
	if p.Window.DilationH > 1 || p.Window.DilationW > 1 {
		return nil, Shape{}, fmt.Errorf("pooling has no dilation")
	}
	g, err := p.Window.geometry(s, p.FilterH, p.FilterW)
	if err != nil {
		return nil, Shape{}, err
	}
	lo, hi := p.actRange()
	if lo > hi {
		return nil, Shape{}, fmt.Errorf("activation range [%d, %d] is empty", lo, hi)
	}
	out := Shape{N: s.N, H: g.outH, W: g.outW, C: s.C}
	res := make([]int8, out.Len())
	taps := make([]int8, 0, p.FilterH*p.FilterW)
	for n := 0; n < s.N; n++ {
		for oy := 0; oy < g.outH; oy++ {
			for ox := 0; ox < g.outW; ox++ {
				for c := 0; c < s.C; c++ {
					taps = taps[:0]
					for fy := 0; fy < p.FilterH; fy++ {
						iy := oy*g.sh - g.padT + fy
						if iy < 0 || iy >= s.H {
							continue
						}
						for fx := 0; fx < p.FilterW; fx++ {
							ix := ox*g.sw - g.padL + fx
							if ix >= 0 && ix < s.W {
								taps = append(taps, in[s.Index(n, iy, ix, c)])
							}
						}
					}
					v, err := f(taps)
					if err != nil {
						return nil, Shape{}, fmt.Errorf("output (%d,%d,%d,%d): %w", n, oy, ox, c, err)
					}
					res[out.Index(n, oy, ox, c)] = int8(clamp32(v, lo, hi))
				}
			}
		}
	}
	return res, out, nil
}

// MaxPool is TFLite's int8 max pooling.
func MaxPool(in []int8, s Shape, p PoolParams) ([]int8, Shape, error) {
	out, shape, err := pool(in, s, p, func(taps []int8) (int32, error) {
		m := int32(-128)
		for _, t := range taps {
			m = max(m, int32(t))
		}
		return m, nil
	})
	if err != nil {
		return nil, Shape{}, fmt.Errorf("max pool: %w", err)
	}
	return out, shape, nil
}

// AveragePool is TFLite's int8 average pooling: the mean of the taps inside
// the input, rounded half away from zero.
func AveragePool(in []int8, s Shape, p PoolParams) ([]int8, Shape, error) {
	out, shape, err := pool(in, s, p, func(taps []int8) (int32, error) {
		if len(taps) == 0 {
			return 0, fmt.Errorf("window holds no input")
		}
		var sum int32
		for _, t := range taps {
			sum += int32(t)
		}
		return RoundedAverage(sum, int32(len(taps))), nil
	})
	if err != nil {
		return nil, Shape{}, fmt.Errorf("average pool: %w", err)
	}
	return out, shape, nil
}

// RoundedAverage is sum/count rounded half away from zero, exactly as
// TFLite's integer average pool divides (count > 0).
func RoundedAverage(sum, count int32) int32 {
	if sum > 0 {
		return (sum + count/2) / count
	}
	return (sum - count/2) / count
}
