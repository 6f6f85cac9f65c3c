package quant

import "fmt"

// OutputStage is the per-output-channel requantization of conv and fully
// connected outputs (TFLite per-channel quantization): channel c uses
// Multipliers[c] and Shifts[c]; a single entry applies to every channel.
// With RoundingFloat, channel c uses Scales[c] instead (RequantizeFloat).
type OutputStage struct {
	Multipliers []int32
	Shifts      []int
	Scales      []float32 // RoundingFloat only
	ZeroPoint   int32
	// ActMin and ActMax are the fused activation range (ActivationRange);
	// both zero means the full int8 range.
	ActMin, ActMax int32
	Rounding       Rounding
}

func (o OutputStage) check(channels int) error {
	if o.Rounding == RoundingFloat {
		if len(o.Scales) != 1 && len(o.Scales) != channels {
			return fmt.Errorf("output stage: %d float scales for %d channels", len(o.Scales), channels)
		}
		for _, s := range o.Scales {
			if err := CheckFloatScale(s); err != nil {
				return fmt.Errorf("output stage: %w", err)
			}
		}
	} else if len(o.Multipliers) != len(o.Shifts) {
		return fmt.Errorf("output stage: %d multipliers, %d shifts", len(o.Multipliers), len(o.Shifts))
	}
	if o.Rounding != RoundingFloat && len(o.Multipliers) != 1 && len(o.Multipliers) != channels {
		return fmt.Errorf("output stage: %d multipliers for %d channels", len(o.Multipliers), channels)
	}
	lo, hi := o.actRange()
	if lo > hi {
		return fmt.Errorf("output stage: activation range [%d, %d] is empty", lo, hi)
	}
	return nil
}

func (o OutputStage) actRange() (int32, int32) {
	if o.ActMin == 0 && o.ActMax == 0 {
		return -128, 127
	}
	return o.ActMin, o.ActMax
}

// apply requantizes one accumulator of channel c.
func (o OutputStage) apply(acc, bias int32, c int) int8 {
	i := c
	lo, hi := o.actRange()
	if o.Rounding == RoundingFloat {
		if len(o.Scales) == 1 {
			i = 0
		}
		return int8(RequantizeFloat(acc, bias, o.Scales[i], o.ZeroPoint, lo, hi))
	}
	if len(o.Multipliers) == 1 {
		i = 0
	}
	return int8(Requantize(acc, bias, o.Multipliers[i], o.Shifts[i], o.ZeroPoint, lo, hi, o.Rounding))
}

// ConvParams configures an int8 Conv2D.
type ConvParams struct {
	Window
	// InputZeroPoint is subtracted from every input tap; padded taps
	// contribute exactly this value, i.e. nothing.
	InputZeroPoint int32
	Output         OutputStage
}

// convCheck validates shapes and returns geometry and group layout.
func convCheck(in Shape, inLen int, filter Shape, filterLen int, biasLen int, w Window) (geometry, int, error) {
	if !in.valid() || !filter.valid() {
		return geometry{}, 0, fmt.Errorf("shapes input %v, filter %v must be positive", in, filter)
	}
	if in.Len() != inLen || filter.Len() != filterLen {
		return geometry{}, 0, fmt.Errorf("data lengths %d, %d do not match shapes %v, %v", inLen, filterLen, in, filter)
	}
	if in.C%filter.C != 0 {
		return geometry{}, 0, fmt.Errorf("input depth %d is not a multiple of filter depth %d", in.C, filter.C)
	}
	groups := in.C / filter.C
	if filter.N%groups != 0 {
		return geometry{}, 0, fmt.Errorf("%d output channels do not split into %d groups", filter.N, groups)
	}
	if biasLen != 0 && biasLen != filter.N {
		return geometry{}, 0, fmt.Errorf("bias has %d entries for %d output channels", biasLen, filter.N)
	}
	g, err := w.geometry(in, filter.H, filter.W)
	return g, groups, err
}

// Conv2DAccumulate returns the raw int32 accumulators of an int8 convolution
// (before bias and requantization), NHWC input, OHWI filter, groups =
// input depth / filter depth (1: dense, input depth: depthwise with one
// filter per channel). Sums wrap like int32 hardware. This is what the
// matrix unit's accumulators hold.
func Conv2DAccumulate(in []int8, inShape Shape, filter []int8, filterShape Shape, w Window, inputZeroPoint int32) ([]int32, Shape, error) {
	g, groups, err := convCheck(inShape, len(in), filterShape, len(filter), 0, w)
	if err != nil {
		return nil, Shape{}, fmt.Errorf("conv2d: %w", err)
	}
	out := Shape{N: inShape.N, H: g.outH, W: g.outW, C: filterShape.N}
	acc := make([]int32, out.Len())
	perGroup := filterShape.N / groups
	fd := filterShape.C
	for n := 0; n < inShape.N; n++ {
		for oy := 0; oy < g.outH; oy++ {
			for ox := 0; ox < g.outW; ox++ {
				for oc := 0; oc < filterShape.N; oc++ {
					icBase := (oc / perGroup) * fd
					var sum int32
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
								sum += int32(filter[fb+ic]) * (int32(in[ib+ic]) - inputZeroPoint)
							}
						}
					}
					acc[out.Index(n, oy, ox, oc)] = sum
				}
			}
		}
	}
	return acc, out, nil
}

// Conv2D is TFLite's int8 (per-channel) convolution: accumulate, add bias,
// requantize per output channel, add the output zero point, clamp to the
// fused activation range. bias may be nil.
func Conv2D(in []int8, inShape Shape, filter []int8, filterShape Shape, bias []int32, p ConvParams) ([]int8, Shape, error) {
	if _, _, err := convCheck(inShape, len(in), filterShape, len(filter), len(bias), p.Window); err != nil {
		return nil, Shape{}, fmt.Errorf("conv2d: %w", err)
	}
	if err := p.Output.check(filterShape.N); err != nil {
		return nil, Shape{}, fmt.Errorf("conv2d: %w", err)
	}
	acc, out, err := Conv2DAccumulate(in, inShape, filter, filterShape, p.Window, p.InputZeroPoint)
	if err != nil {
		return nil, Shape{}, err
	}
	return requantizeChannels(acc, out.C, bias, p.Output), out, nil
}

func requantizeChannels(acc []int32, channels int, bias []int32, o OutputStage) []int8 {
	res := make([]int8, len(acc))
	for i, a := range acc {
		c := i % channels
		var b int32
		if bias != nil {
			b = bias[c]
		}
		res[i] = o.apply(a, b, c)
	}
	return res
}

// DepthwiseConv2D is TFLite's int8 depthwise convolution with a depth
// multiplier: filter 1×H×W×(C·M), output channel ic·M + m reads input
// channel ic only.
func DepthwiseConv2D(in []int8, inShape Shape, filter []int8, filterShape Shape, bias []int32, p ConvParams) ([]int8, Shape, error) {
	if !inShape.valid() || !filterShape.valid() || filterShape.N != 1 {
		return nil, Shape{}, fmt.Errorf("depthwise conv2d: shapes input %v, filter %v (want 1xHxWx(C*M))", inShape, filterShape)
	}
	if filterShape.C%inShape.C != 0 {
		return nil, Shape{}, fmt.Errorf("depthwise conv2d: filter depth %d is not a multiple of input depth %d", filterShape.C, inShape.C)
	}
	// Reorder 1×H×W×(C·M) into OHWI with one input channel per filter: the
	// same arithmetic as a grouped convolution with groups = C, where output
	// channel ic·M + m lands in group ic.
	ohwi := Shape{N: filterShape.C, H: filterShape.H, W: filterShape.W, C: 1}
	if len(filter) != filterShape.Len() {
		return nil, Shape{}, fmt.Errorf("depthwise conv2d: filter has %d values for shape %v", len(filter), filterShape)
	}
	re := make([]int8, len(filter))
	for fy := 0; fy < filterShape.H; fy++ {
		for fx := 0; fx < filterShape.W; fx++ {
			for oc := 0; oc < filterShape.C; oc++ {
				re[ohwi.Index(oc, fy, fx, 0)] = filter[filterShape.Index(0, fy, fx, oc)]
			}
		}
	}
	out, shape, err := Conv2D(in, inShape, re, ohwi, bias, p)
	if err != nil {
		return nil, Shape{}, fmt.Errorf("depthwise %w", err)
	}
	return out, shape, nil
}
