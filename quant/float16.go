package quant

import "math"

// Float32ToFloat16 converts to IEEE 754 binary16 with round to nearest, ties
// to even: overflow goes to ±Inf, tiny values to subnormals or signed zero,
// NaN stays a quiet NaN with its sign and the top payload bits.
func Float32ToFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant == 0 {
			return sign | 0x7c00
		}
		// Keep NaN a NaN even when the kept payload bits are all zero.
		return sign | 0x7e00 | uint16(mant>>13)
	}
	// Unbiased exponent re-biased for binary16 (bias 15 instead of 127).
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	var m uint32 // significand with the implicit bit, 24 bits
	if exp == 0 {
		m = mant // float32 subnormal: far below binary16's range
		e = -127 + 15 + 1
	} else {
		m = mant | 0x800000
	}
	// A binary16 normal keeps 11 significant bits (drop 13); a subnormal
	// keeps fewer, one less per step of e below 1.
	shift := uint32(13)
	if e < 1 {
		shift += uint32(1 - e)
		e = 0
	}
	if shift > 24 {
		return sign // far below the smallest subnormal/2: rounds to zero
	}
	kept := m >> shift
	rem := m & (1<<shift - 1)
	half := uint32(1) << (shift - 1)
	if rem > half || (rem == half && kept&1 == 1) {
		kept++
	}
	// For normals kept carries the implicit bit at 2^10; adding the biased
	// exponent shifted by 10 folds a rounding carry into the exponent (and
	// into Inf at the top), and turns a subnormal that rounded up to 2^10
	// into the smallest normal.
	if e == 0 {
		return sign | uint16(kept)
	}
	return sign | uint16((uint32(e)<<10)+kept-0x400)
}

// Float16ToFloat32 converts IEEE 754 binary16 to float32 exactly.
func Float16ToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0:
		// Subnormal: mant·2^−24, exact in float32.
		v := float32(mant) * float32(1.0/(1<<24))
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp-15+127)<<23 | mant<<13)
}

// Float32ToBFloat16 converts to bfloat16 (the top half of a float32) with
// round to nearest, ties to even; NaN stays a quiet NaN.
func Float32ToBFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	lsb := (b >> 16) & 1
	// Rounding may carry into the exponent; the largest finite values round
	// to Inf, as IEEE round-to-nearest requires.
	return uint16((b + 0x7fff + lsb) >> 16)
}

// BFloat16ToFloat32 converts bfloat16 to float32 exactly.
func BFloat16ToFloat32(h uint16) float32 {
	return math.Float32frombits(uint32(h) << 16)
}
