package quant

// SoftmaxExpTable is the exponential of every difference an int8 row can
// have from its maximum, as SoftmaxInt8 computes it: entry d is exp(-d·
// beta·scale) in Q0.31 for the difference -d, or 0 where -d is below
// DiffMin (those values contribute nothing and come out as -128 either
// way). A softmax unit that looks exponentials up in it is SoftmaxInt8.
func SoftmaxExpTable(p SoftmaxParams) [256]int32 {
	var t [256]int32
	for d := range t {
		diff := int32(-d)
		if diff >= p.DiffMin {
			scaled := multiplyByQuantizedMultiplierGreaterThanOne(diff, p.InputMultiplier, p.InputLeftShift)
			t[d] = expOnNegativeValues(scaled, softmaxScaledDiffIntegerBits)
		}
	}
	return t
}
