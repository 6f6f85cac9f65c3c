package quant

import (
	"math"
	"math/bits"
)

// This file holds gemmlowp's scalar fixed-point transcendental arithmetic
// (fixedpoint/fixedpoint.h), written from its definitions. A value is an
// int32 raw plus a count of integer bits: Qm.(31−m). Multiplication is
// SaturatingRoundingDoublingHighMul and adds the integer bits; addition is
// plain wrapping int32 addition, as gemmlowp's for 32-bit raws.

// fpOne is the raw of 1.0 in Qm; in Q0 1.0 is not representable and
// gemmlowp uses INT32_MAX.
func fpOne(integerBits int) int32 {
	if integerBits == 0 {
		return math.MaxInt32
	}
	return int32(1) << (31 - integerBits)
}

// saturatingRoundingMultiplyByPOT multiplies by 2^exponent: a saturating
// left shift for exponent > 0, a rounding right shift for exponent < 0.
func saturatingRoundingMultiplyByPOT(x int32, exponent int) int32 {
	switch {
	case exponent > 0:
		threshold := int32((int64(1) << (31 - exponent)) - 1)
		if x > threshold {
			return math.MaxInt32
		}
		if x < -threshold {
			return math.MinInt32
		}
		return x << exponent
	case exponent < 0:
		return RoundingDivideByPOT(x, -exponent)
	}
	return x
}

// rescale changes a raw from Q(src) to Q(dst) (gemmlowp Rescale).
func rescale(x int32, srcIntegerBits, dstIntegerBits int) int32 {
	return saturatingRoundingMultiplyByPOT(x, srcIntegerBits-dstIntegerBits)
}

// roundingHalfSum is (a+b)/2 rounded half away from zero (NEON VRHADD).
func roundingHalfSum(a, b int32) int32 {
	sum := int64(a) + int64(b)
	sign := int64(1)
	if sum < 0 {
		sign = -1
	}
	return int32((sum + sign) / 2)
}

// expOnIntervalBetweenNegativeOneQuarterAnd0Excl returns exp(a) for a Q0.31
// a in [−1/4, 0): a fourth-order Taylor expansion around −1/8.
func expOnIntervalBetweenNegativeOneQuarterAnd0Excl(a int32) int32 {
	const (
		constantTerm   = 1895147668 // exp(−1/8) in Q0.31
		constant1Over3 = 715827883  // 1/3 in Q0.31
	)
	x := a + 1<<28 // change of variable x = a + 1/8
	x2 := SaturatingRoundingDoublingHighMul(x, x)
	x3 := SaturatingRoundingDoublingHighMul(x2, x)
	x4 := SaturatingRoundingDoublingHighMul(x2, x2)
	x4Over4 := RoundingDivideByPOT(x4, 2)
	poly := RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x4Over4+x3, constant1Over3)+x2, 1)
	return constantTerm + SaturatingRoundingDoublingHighMul(constantTerm, x+poly)
}

// expOnNegativeValues returns exp(a) in Q0.31 for a ≤ 0 in Q(integerBits).
func expOnNegativeValues(a int32, integerBits int) int32 {
	fractionalBits := 31 - integerBits
	oneQuarter := int32(1) << (fractionalBits - 2)
	mask := oneQuarter - 1
	aModQuarterMinusOneQuarter := (a & mask) - oneQuarter
	result := expOnIntervalBetweenNegativeOneQuarterAnd0Excl(rescale(aModQuarterMinusOneQuarter, integerBits, 0))
	remainder := aModQuarterMinusOneQuarter - a
	// exp(−2^k) in Q0.31 for k = −2..4: the barrel shifter multiplies one in
	// for each set bit of the part of −a above the quarter.
	barrel := [...]struct {
		exponent   int
		multiplier int32
	}{
		{-2, 1672461947},
		{-1, 1302514674},
		{0, 790015084},
		{1, 290630308},
		{2, 39332535},
		{3, 720401},
		{4, 242},
	}
	for _, b := range barrel {
		if integerBits > b.exponent {
			shift := fractionalBits + b.exponent
			if remainder&(int32(1)<<shift) != 0 {
				result = SaturatingRoundingDoublingHighMul(result, b.multiplier)
			}
		}
	}
	if integerBits > 5 {
		// Below −32 exp underflows Q0.31: gemmlowp clamps to zero.
		clampAt := -(int32(1) << (36 - integerBits))
		if a < clampAt {
			result = 0
		}
	}
	if a == 0 {
		result = fpOne(0)
	}
	return result
}

// newtonRaphson1OverHalfDenominator runs gemmlowp's three Newton–Raphson
// steps for 1/d with d = halfDenominator in Q0 and the result in Q2.
func newtonRaphson1OverHalfDenominator(halfDenominator int32) int32 {
	const (
		constant48Over17    = 1515870810  // 48/17 in Q2.29
		constantNeg32Over17 = -1010580540 // −32/17 in Q2.29
	)
	x := constant48Over17 + SaturatingRoundingDoublingHighMul(halfDenominator, constantNeg32Over17)
	for i := 0; i < 3; i++ {
		hdx := SaturatingRoundingDoublingHighMul(halfDenominator, x)
		oneMinus := fpOne(2) - hdx
		x += rescale(SaturatingRoundingDoublingHighMul(x, oneMinus), 4, 2)
	}
	return x
}

// oneOverOnePlusXForXIn01 returns 1/(1+a) in Q0.31 for a in (0, 1) Q0.31.
func oneOverOnePlusXForXIn01(a int32) int32 {
	x := newtonRaphson1OverHalfDenominator(roundingHalfSum(a, fpOne(0)))
	// Halving x (Q2 → Q1 exactly) then rescaling to Q0.
	return rescale(x, 1, 0)
}

// oneMinusXOverOnePlusXForXIn01 returns (1−a)/(1+a) in Q0.31.
func oneMinusXOverOnePlusXForXIn01(a int32) int32 {
	x := newtonRaphson1OverHalfDenominator(roundingHalfSum(a, fpOne(0)))
	return rescale(x-fpOne(2), 2, 0)
}

// fixedLogistic returns 1/(1+exp(−a)) in Q0.31 for a in Q(integerBits).
func fixedLogistic(a int32, integerBits int) int32 {
	absInput := -a
	if a > 0 {
		absInput = a
	}
	positive := oneOverOnePlusXForXIn01(expOnNegativeValues(-absInput, integerBits))
	switch {
	case a == 0:
		return 1 << 30
	case a > 0:
		return positive
	}
	return fpOne(0) - positive
}

// fixedTanh returns tanh(a) in Q0.31 for a in Q(integerBits).
func fixedTanh(a int32, integerBits int) int32 {
	n := -a
	if a < 0 {
		n = a
	}
	// exp(2n): doubling is exact by counting one more integer bit.
	t := oneMinusXOverOnePlusXForXIn01(expOnNegativeValues(n, integerBits+1))
	switch {
	case a == 0:
		return 0
	case a < 0:
		return -t
	}
	return t
}

// getReciprocal is TFLite's GetReciprocal: 1/x for x in Q(integerDigits),
// returned as a Q0.31 significand and the number of bits above one.
func getReciprocal(x int32, integerDigits int) (scale int32, numBitsOverUnit int) {
	headroomPlusOne := bits.LeadingZeros32(uint32(x))
	numBitsOverUnit = integerDigits - headroomPlusOne
	shiftedSumMinusOne := int32((uint32(x) << headroomPlusOne) - (uint32(1) << 31))
	return oneOverOnePlusXForXIn01(shiftedSumMinusOne), numBitsOverUnit
}
