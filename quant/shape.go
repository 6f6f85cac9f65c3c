package quant

import "fmt"

// Shape is a 4-D tensor shape. Activations are NHWC; convolution filters
// reuse it as OHWI (N = output channels, C = input channels per group) and
// depthwise filters as 1×H×W×(C·M).
type Shape struct {
	N, H, W, C int
}

// Len is the number of elements.
func (s Shape) Len() int { return s.N * s.H * s.W * s.C }

// Index returns the flat row-major offset of (n, h, w, c).
func (s Shape) Index(n, h, w, c int) int { return ((n*s.H+h)*s.W+w)*s.C + c }

func (s Shape) String() string { return fmt.Sprintf("%dx%dx%dx%d", s.N, s.H, s.W, s.C) }

func (s Shape) valid() bool { return s.N > 0 && s.H > 0 && s.W > 0 && s.C > 0 }

// Padding is a convolution or pooling padding scheme.
type Padding int

const (
	// PaddingValid uses only windows fully inside the input.
	PaddingValid Padding = iota
	// PaddingSame pads so that output = ceil(input / stride), the odd extra
	// pad going to the bottom/right (TFLite ComputePaddingWithOffset).
	PaddingSame
	// PaddingExplicit takes the four pads as given.
	PaddingExplicit
)

func (p Padding) String() string {
	switch p {
	case PaddingValid:
		return "valid"
	case PaddingSame:
		return "same"
	case PaddingExplicit:
		return "explicit"
	}
	return fmt.Sprintf("Padding(%d)", int(p))
}

// Window describes a sliding window: strides, dilations and padding.
type Window struct {
	StrideH, StrideW     int
	DilationH, DilationW int // 0 means 1
	Padding              Padding
	// Explicit pads, used only with PaddingExplicit.
	PadTop, PadBottom, PadLeft, PadRight int
}

func orOne(v int) int {
	if v == 0 {
		return 1
	}
	return v
}

// outAndPad returns the output size and the leading pad along one axis.
func outAndPad(p Padding, in, filter, stride, dilation, padLo, padHi int) (out, lead int, err error) {
	if stride <= 0 || dilation <= 0 || filter <= 0 {
		return 0, 0, fmt.Errorf("stride %d, dilation %d, filter %d must be > 0", stride, dilation, filter)
	}
	eff := (filter-1)*dilation + 1
	switch p {
	case PaddingValid:
		out = (in + stride - eff) / stride
	case PaddingSame:
		out = (in + stride - 1) / stride
		total := (out-1)*stride + eff - in
		if total > 0 {
			lead = total / 2
		}
	case PaddingExplicit:
		if padLo < 0 || padHi < 0 {
			return 0, 0, fmt.Errorf("negative explicit padding %d, %d", padLo, padHi)
		}
		lead = padLo
		if in+padLo+padHi >= eff {
			out = (in+padLo+padHi-eff)/stride + 1
		}
	default:
		return 0, 0, fmt.Errorf("unknown padding %v", p)
	}
	if out <= 0 {
		return 0, 0, fmt.Errorf("window of %d (dilated) does not fit input %d with %v padding", eff, in, p)
	}
	return out, lead, nil
}

// geometry resolves a window over an input for a filter size.
type geometry struct {
	outH, outW, padT, padL int
	sh, sw, dh, dw         int
}

func (w Window) geometry(in Shape, fh, fw int) (geometry, error) {
	g := geometry{sh: w.StrideH, sw: w.StrideW, dh: orOne(w.DilationH), dw: orOne(w.DilationW)}
	var err error
	if g.outH, g.padT, err = outAndPad(w.Padding, in.H, fh, g.sh, g.dh, w.PadTop, w.PadBottom); err != nil {
		return g, fmt.Errorf("height: %w", err)
	}
	if g.outW, g.padL, err = outAndPad(w.Padding, in.W, fw, g.sw, g.dw, w.PadLeft, w.PadRight); err != nil {
		return g, fmt.Errorf("width: %w", err)
	}
	return g, nil
}

// LeadingPads returns the padding before the first row and the first column
// of a window of fh×fw over in, as the kernels place it; lowering a
// convolution to a matrix (im2col) needs it to find each tap.
func (w Window) LeadingPads(in Shape, fh, fw int) (top, left int, err error) {
	g, err := w.geometry(in, fh, fw)
	if err != nil {
		return 0, 0, err
	}
	return g.padT, g.padL, nil
}

// OutputShape returns the NHWC output shape of a window of fh×fw over in
// producing outC channels.
func (w Window) OutputShape(in Shape, fh, fw, outC int) (Shape, error) {
	g, err := w.geometry(in, fh, fw)
	if err != nil {
		return Shape{}, err
	}
	return Shape{N: in.N, H: g.outH, W: g.outW, C: outC}, nil
}
