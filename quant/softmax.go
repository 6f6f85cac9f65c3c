package quant

import (
	"fmt"
	"math"
)

// SoftmaxParams parameterize TFLite's int8 Softmax: input differences from
// the row maximum are scaled by beta·scale into Q5.26; differences below
// DiffMin contribute nothing.
type SoftmaxParams struct {
	InputMultiplier int32
	InputLeftShift  int
	DiffMin         int32
}

// Output parameters TFLite requires of int8 Softmax.
const (
	SoftmaxOutputScale     = 1.0 / 256
	SoftmaxOutputZeroPoint = -128
)

// softmaxScaledDiffIntegerBits and softmaxAccumulationIntegerBits are the
// reference kernel's Q5.26 differences and Q12.19 sum of exponentials.
const (
	softmaxScaledDiffIntegerBits   = 5
	softmaxAccumulationIntegerBits = 12
)

// PrepareSoftmax computes the parameters as TFLite's softmax Prepare
// (PreprocessSoftmaxScaling, double-rounding build): the real multiplier
// beta·scale·2^26, capped at 2^31−1, quantized as greater than one.
func PrepareSoftmax(beta float64, inScale float32) (SoftmaxParams, error) {
	if !(inScale > 0) || !(beta > 0) || math.IsInf(beta, 0) || math.IsInf(float64(inScale), 0) {
		return SoftmaxParams{}, fmt.Errorf("softmax params: beta %v and input scale %v must be finite and > 0", beta, inScale)
	}
	multiplier := math.Min(beta*float64(inScale)*float64(int64(1)<<(31-softmaxScaledDiffIntegerBits)), float64(math.MaxInt32))
	m, s, err := quantizeMultiplierGreaterThanOne(multiplier)
	if err != nil {
		return SoftmaxParams{}, fmt.Errorf("softmax params: %w", err)
	}
	return SoftmaxParams{
		InputMultiplier: m,
		InputLeftShift:  s,
		DiffMin:         -calculateInputRadius(softmaxScaledDiffIntegerBits, s, 31),
	}, nil
}

// SoftmaxInt8 is TFLite's int8 Softmax over the innermost dimension of size
// depth (output scale 1/256, zero point −128), bit-exact with
// reference_ops::Softmax: gemmlowp exp on Q5.26 differences, a Q12.19 sum,
// and a fixed-point reciprocal.
func SoftmaxInt8(in []int8, depth int, p SoftmaxParams) ([]int8, error) {
	if depth <= 0 || len(in)%depth != 0 {
		return nil, fmt.Errorf("softmax: %d values do not split into rows of %d", len(in), depth)
	}
	out := make([]int8, len(in))
	for row := 0; row < len(in); row += depth {
		x := in[row : row+depth]
		maxInRow := int32(math.MinInt8)
		for _, v := range x {
			maxInRow = max(maxInRow, int32(v))
		}
		var sumOfExps int32 // Q12.19
		for _, v := range x {
			diff := int32(v) - maxInRow
			if diff >= p.DiffMin {
				scaled := multiplyByQuantizedMultiplierGreaterThanOne(diff, p.InputMultiplier, p.InputLeftShift)
				sumOfExps += rescale(expOnNegativeValues(scaled, softmaxScaledDiffIntegerBits), 0, softmaxAccumulationIntegerBits)
			}
		}
		shiftedScale, bitsOverUnit := getReciprocal(sumOfExps, softmaxAccumulationIntegerBits)
		exponent := bitsOverUnit + 31 - 8
		if exponent < 0 || exponent > 31 {
			return nil, fmt.Errorf("softmax: row %d: reciprocal exponent %d outside [0, 31]", row/depth, exponent)
		}
		for i, v := range x {
			diff := int32(v) - maxInRow
			if diff < p.DiffMin {
				out[row+i] = math.MinInt8
				continue
			}
			scaled := multiplyByQuantizedMultiplierGreaterThanOne(diff, p.InputMultiplier, p.InputLeftShift)
			e := expOnNegativeValues(scaled, softmaxScaledDiffIntegerBits)
			unsat := RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(shiftedScale, e), exponent)
			out[row+i] = int8(clamp32(unsat+math.MinInt8, math.MinInt8, math.MaxInt8))
		}
	}
	return out, nil
}
