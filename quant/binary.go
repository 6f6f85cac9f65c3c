package quant

import (
	"fmt"
	"math/bits"
)

// Binary (1-bit) arithmetic: values in {-1, +1} packed into lanes of n
// bits, bit i of a lane holding one value, 1 for +1 and 0 for -1. A lane
// travels in an integer container (int8 for n = 8) as its two's-complement
// bit pattern.

// XnorDot returns the dot product of two n-bit lanes of packed {-1, +1}
// values: equal bits multiply to +1, different bits to -1, so it is
// 2*popcount(xnor(a, w)) - n. Bits above n are ignored.
func XnorDot(a, w int64, n int) int64 {
	mask := uint64(1)<<uint(n) - 1
	eq := ^(uint64(a) ^ uint64(w)) & mask
	return 2*int64(bits.OnesCount64(eq)) - int64(n)
}

// PackSigns packs values in {-1, +1} (any v >= 0 counts as +1, as the
// binarized network's sign does) into lanes of n bits, value k going to
// bit k%n of lane k/n, each lane as the int8 holding its bit pattern. A
// last lane that is not full is padded with 0 bits (-1 values); pads says
// how many, for the caller to correct for (see BinaryPadLane).
func PackSigns(v []int8, n int) (lanes []int8, pads int, err error) {
	if n < 1 || n > 8 {
		return nil, 0, fmt.Errorf("pack signs: %d bits per lane do not fit an int8", n)
	}
	lanes = make([]int8, (len(v)+n-1)/n)
	for k, x := range v {
		if x >= 0 {
			lanes[k/n] |= int8(uint8(1) << uint(k%n))
		}
	}
	return lanes, len(lanes)*n - len(v), nil
}

// BinaryPadLane is a weight lane of n bits whose dot product with an all
// -1 activation lane (bit pattern 0) is 0: half of its bits are 1. A K
// dimension padded with activation 0 and this weight adds nothing.
func BinaryPadLane(n int) int64 { return 1<<uint(n/2) - 1 }

// BinaryFullyConnectedAccumulate returns Σ XnorDot(x, w) over the lanes of
// input [batches × depth] and weights [units × depth], n bits per lane,
// wrapping like int32 hardware.
func BinaryFullyConnectedAccumulate(in []int8, batches int, weights []int8, units, n int) ([]int32, error) {
	if batches <= 0 || units <= 0 || len(in)%batches != 0 {
		return nil, fmt.Errorf("binary fully connected: %d input lanes do not split into %d batches", len(in), batches)
	}
	depth := len(in) / batches
	if len(weights) != units*depth {
		return nil, fmt.Errorf("binary fully connected: %d weight lanes for %d units × depth %d", len(weights), units, depth)
	}
	acc := make([]int32, batches*units)
	for b := 0; b < batches; b++ {
		x := in[b*depth : (b+1)*depth]
		for u := 0; u < units; u++ {
			w := weights[u*depth : (u+1)*depth]
			var sum int32
			for d := range x {
				sum += int32(XnorDot(int64(x[d]), int64(w[d]), n))
			}
			acc[b*units+u] = sum
		}
	}
	return acc, nil
}

// BinaryFullyConnected is a fully connected layer of packed binary lanes
// (n bits each) followed by the int8 output stage: bias, requantization,
// zero point and clamp, as FullyConnected's. p.InputZeroPoint and
// p.WeightZeroPoint must be 0: a lane is a bit pattern, not a number.
func BinaryFullyConnected(in []int8, batches int, weights []int8, units, n int, bias []int32, p FCParams) ([]int8, error) {
	if p.InputZeroPoint != 0 || p.WeightZeroPoint != 0 {
		return nil, fmt.Errorf("binary fully connected: zero points %d and %d must be 0", p.InputZeroPoint, p.WeightZeroPoint)
	}
	if bias != nil && len(bias) != units {
		return nil, fmt.Errorf("binary fully connected: bias has %d entries for %d units", len(bias), units)
	}
	if err := p.Output.check(units); err != nil {
		return nil, fmt.Errorf("binary fully connected: %w", err)
	}
	acc, err := BinaryFullyConnectedAccumulate(in, batches, weights, units, n)
	if err != nil {
		return nil, err
	}
	return requantizeChannels(acc, units, bias, p.Output), nil
}
