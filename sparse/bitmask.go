package sparse

import (
	"fmt"
	"math/bits"
)

// EncodeBitmask stores m as a bit per element and the nonzero values
// (format 1, see the package doc).
func EncodeBitmask(m Matrix) ([]byte, error) {
	if err := m.Check(); err != nil {
		return nil, fmt.Errorf("bitmask: %w", err)
	}
	b := header(Bitmask, 0, m.Rows, m.Cols)
	mask := len(b)
	b = append(b, make([]byte, (len(m.Data)+7)/8)...)
	for i, v := range m.Data {
		if v != 0 {
			b[mask+i/8] |= 1 << (i % 8)
			b = append(b, byte(v))
		}
	}
	return b, nil
}

// DecodeBitmask reads a bitmask stream.
func DecodeBitmask(b []byte) (Matrix, error) {
	width, rows, cols, err := readHeader(Bitmask, b)
	if err != nil {
		return Matrix{}, err
	}
	if width != 0 {
		return Matrix{}, fmt.Errorf("bitmask: index width %d bits, want 0 (a bitmask has no indices)", width)
	}
	n := rows * cols
	maskLen := (n + 7) / 8
	body := b[HeaderSize:]
	if len(body) < maskLen {
		return Matrix{}, fmt.Errorf("bitmask: truncated: a %dx%d mask needs %d bytes, %d follow the header", rows, cols, maskLen, len(body))
	}
	mask, values := body[:maskLen], body[maskLen:]
	if n%8 != 0 {
		if pad := mask[maskLen-1] >> (n % 8); pad != 0 {
			return Matrix{}, fmt.Errorf("bitmask: padding bit %d of the last mask byte is set", n%8+bits.TrailingZeros8(pad))
		}
	}
	set := 0
	for _, m := range mask {
		set += bits.OnesCount8(m)
	}
	if set != len(values) {
		return Matrix{}, fmt.Errorf("bitmask: %d bits set, %d values follow", set, len(values))
	}
	m := Matrix{Rows: rows, Cols: cols, Data: make([]int8, n)}
	next := 0
	for i := range n {
		if mask[i/8]>>(i%8)&1 == 0 {
			continue
		}
		if values[next] == 0 {
			return Matrix{}, fmt.Errorf("bitmask: value %d (row %d, column %d) is zero but its bit is set", next, i/cols, i%cols)
		}
		m.Data[i] = int8(values[next])
		next++
	}
	return m, nil
}
