package sim

import (
	"fmt"
	"math/big"
	"strings"
)

// Values on ports are bit patterns: a *big.Int holding the non-negative
// two's-complement pattern of the port width. These helpers convert between
// patterns and Go integers.

// mask returns 2^width - 1.
func mask(width int) *big.Int {
	m := new(big.Int).Lsh(big.NewInt(1), uint(width))
	return m.Sub(m, big.NewInt(1))
}

// FromInt returns the width-bit two's-complement pattern of v (truncated to
// width bits).
func FromInt(v int64, width int) *big.Int {
	b := big.NewInt(v)
	return b.And(b, mask(width))
}

// ToInt returns the integer a width-bit pattern stands for, sign-extending
// it when signed. Bits above width are ignored; the result is truncated to 64
// bits.
func ToInt(b *big.Int, width int, signed bool) int64 {
	v := new(big.Int).And(b, mask(width))
	if signed && width > 0 && v.Bit(width-1) == 1 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(width)))
	}
	if v.IsInt64() {
		return v.Int64()
	}
	// Wider than 64 bits: keep the low 64 bits of the two's-complement value.
	lo := new(big.Int).And(v, mask(64))
	return int64(lo.Uint64())
}

// Pack packs lanes into one pattern, lane 0 in the least significant bits.
// Each lane is truncated to laneWidth bits.
func Pack(lanes []int64, laneWidth int) *big.Int {
	out := new(big.Int)
	for i := len(lanes) - 1; i >= 0; i-- {
		out.Lsh(out, uint(laneWidth))
		out.Or(out, FromInt(lanes[i], laneWidth))
	}
	return out
}

// Unpack splits a pattern into n lanes of laneWidth bits, lane 0 from the
// least significant bits, sign-extending each lane when signed.
func Unpack(b *big.Int, n, laneWidth int, signed bool) []int64 {
	out := make([]int64, n)
	v := new(big.Int).Set(b)
	m := mask(laneWidth)
	lane := new(big.Int)
	for i := range out {
		lane.And(v, m)
		out[i] = ToInt(lane, laneWidth, signed)
		v.Rsh(v, uint(laneWidth))
	}
	return out
}

// formatHex writes a pattern as exactly ceil(width/4) hex digits, the same
// form both harnesses print.
func formatHex(v *big.Int, width int) string {
	digits := (width + 3) / 4
	s := v.Text(16)
	if len(s) < digits {
		s = strings.Repeat("0", digits-len(s)) + s
	}
	return s
}

// errXZ reports a hex value that holds x or z digits (Icarus prints x, X,
// z or Z for a nibble that is wholly or partly unknown).
type errXZ struct{ digits string }

func (e errXZ) Error() string { return fmt.Sprintf("value %s has x/z bits", e.digits) }

// parseHex parses a hex pattern printed by a harness and checks that it fits
// width bits.
func parseHex(s string, width int) (*big.Int, error) {
	if strings.ContainsAny(s, "xXzZ") {
		return nil, errXZ{s}
	}
	v, ok := new(big.Int).SetString(s, 16)
	if !ok || v.Sign() < 0 {
		return nil, fmt.Errorf("bad hex value %q", s)
	}
	if v.BitLen() > width {
		return nil, fmt.Errorf("hex value %s is wider than %d bits", s, width)
	}
	return v, nil
}
