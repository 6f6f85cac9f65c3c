package quant

import (
	"fmt"
	"math/big"
)

// L2Pool is int8 L2 pooling (ONNX LpPool with p = 2) with input and output
// sharing scale and zero point zp, as max and average pooling do: with
// x = scale·(q - zp), sqrt(Σx²) = scale·sqrt(Σ(q - zp)²), so the output
// code is
//
//	clamp(zp + round(sqrt(Σ (q - zp)²)))
//
// over the taps inside the input. The square root is exact and rounds to
// nearest: sqrt of an integer is never an odd multiple of 1/2, so there
// are no ties to break. The clamp is the activation range (the int8 range
// by default); the result is never below zp.
func L2Pool(in []int8, s Shape, p PoolParams, zp int32) ([]int8, Shape, error) {
	if zp < -128 || zp > 127 {
		return nil, Shape{}, fmt.Errorf("l2 pool: zero point %d outside int8", zp)
	}
	out, shape, err := pool(in, s, p, func(taps []int8) (int32, error) {
		if len(taps) == 0 {
			return 0, fmt.Errorf("window holds no input")
		}
		var sum uint64
		for _, t := range taps {
			d := int64(t) - int64(zp)
			sum += uint64(d * d)
		}
		return zp + int32(RoundedSqrt(sum)), nil
	})
	if err != nil {
		return nil, Shape{}, fmt.Errorf("l2 pool: %w", err)
	}
	return out, shape, nil
}

// RoundedSqrt is sqrt(n) rounded to nearest: the integer square root r,
// plus one when n - r² > r (that is, n >= (r + 1/2)², never equal).
func RoundedSqrt(n uint64) uint64 {
	r := new(big.Int).Sqrt(new(big.Int).SetUint64(n)).Uint64()
	if n-r*r > r {
		r++
	}
	return r
}
