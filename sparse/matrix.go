package sparse

import (
	"encoding/binary"
	"fmt"
)

// Matrix is a dense int8 matrix: Data holds Rows·Cols values, row-major.
type Matrix struct {
	Rows, Cols int
	Data       []int8
}

// MaxElements bounds rows·cols of a matrix the package encodes or
// decodes, so that a corrupt header cannot make a decoder allocate more
// than 16 MiB. It is far above any layer tpugen runs (LeNet's largest has
// 48,000 weights; ResNet-50's 2.4 M).
const MaxElements = 1 << 24

// HeaderSize is the length of the header every stream starts with.
const HeaderSize = 10

// Check reports whether the matrix is well formed: Data holds Rows·Cols
// values and Rows·Cols is at most MaxElements.
func (m Matrix) Check() error {
	if m.Rows < 0 || m.Cols < 0 {
		return fmt.Errorf("matrix %dx%d: negative dimension", m.Rows, m.Cols)
	}
	if err := checkDims(uint64(m.Rows), uint64(m.Cols)); err != nil {
		return fmt.Errorf("matrix %w", err)
	}
	if len(m.Data) != m.Rows*m.Cols {
		return fmt.Errorf("matrix %dx%d: %d values, want %d", m.Rows, m.Cols, len(m.Data), m.Rows*m.Cols)
	}
	return nil
}

func checkDims(rows, cols uint64) error {
	if rows > MaxElements || cols > MaxElements || rows*cols > MaxElements {
		return fmt.Errorf("%dx%d: more than MaxElements (%d) elements", rows, cols, MaxElements)
	}
	return nil
}

// Nonzeros counts the nonzero values.
func (m Matrix) Nonzeros() int {
	n := 0
	for _, v := range m.Data {
		if v != 0 {
			n++
		}
	}
	return n
}

// Sparsity is the fraction of zero values (0 for an empty matrix).
func (m Matrix) Sparsity() float64 {
	if len(m.Data) == 0 {
		return 0
	}
	return 1 - float64(m.Nonzeros())/float64(len(m.Data))
}

// Transpose returns the Cols×Rows transpose.
func (m Matrix) Transpose() Matrix {
	t := Matrix{Rows: m.Cols, Cols: m.Rows, Data: make([]int8, len(m.Data))}
	for r := 0; r < m.Rows; r++ {
		for c := 0; c < m.Cols; c++ {
			t.Data[c*m.Rows+r] = m.Data[r*m.Cols+c]
		}
	}
	return t
}

// Equal reports whether m and o have the same shape and values.
func (m Matrix) Equal(o Matrix) bool {
	if m.Rows != o.Rows || m.Cols != o.Cols || len(m.Data) != len(o.Data) {
		return false
	}
	for i, v := range m.Data {
		if o.Data[i] != v {
			return false
		}
	}
	return true
}

// Format is a storage format; its value is the header's format byte.
type Format uint8

// The formats, numbered as in the header.
const (
	Bitmask Format = 1 + iota
	RunLength
	CSR
	CSC
)

// Formats lists every format in header order.
var Formats = []Format{Bitmask, RunLength, CSR, CSC}

func (f Format) String() string {
	switch f {
	case Bitmask:
		return "bitmask"
	case RunLength:
		return "run-length"
	case CSR:
		return "csr"
	case CSC:
		return "csc"
	}
	return fmt.Sprintf("format %d", uint8(f))
}

// Encode stores m in format f.
func Encode(f Format, m Matrix) ([]byte, error) {
	switch f {
	case Bitmask:
		return EncodeBitmask(m)
	case RunLength:
		return EncodeRunLength(m)
	case CSR:
		return EncodeCSR(m)
	case CSC:
		return EncodeCSC(m)
	}
	return nil, fmt.Errorf("encode: unknown %v", f)
}

// Decode reads a stream in any format, as its header's format byte says.
func Decode(b []byte) (Matrix, Format, error) {
	if len(b) == 0 {
		return Matrix{}, 0, fmt.Errorf("decode: empty stream")
	}
	f := Format(b[0])
	var m Matrix
	var err error
	switch f {
	case Bitmask:
		m, err = DecodeBitmask(b)
	case RunLength:
		m, err = DecodeRunLength(b)
	case CSR:
		m, err = DecodeCSR(b)
	case CSC:
		m, err = DecodeCSC(b)
	default:
		return Matrix{}, 0, fmt.Errorf("decode: format byte %d, want 1 to 4", b[0])
	}
	return m, f, err
}

// header writes the 10-byte header.
func header(f Format, width int, rows, cols int) []byte {
	h := make([]byte, HeaderSize)
	h[0], h[1] = byte(f), byte(width)
	binary.LittleEndian.PutUint32(h[2:], uint32(rows))
	binary.LittleEndian.PutUint32(h[6:], uint32(cols))
	return h
}

// readHeader checks a stream's header against format f and returns the
// index width in bits and the dimensions (rows·cols ≤ MaxElements).
func readHeader(f Format, b []byte) (width, rows, cols int, err error) {
	if len(b) < HeaderSize {
		return 0, 0, 0, fmt.Errorf("%v: %d bytes, shorter than the %d-byte header", f, len(b), HeaderSize)
	}
	if Format(b[0]) != f {
		return 0, 0, 0, fmt.Errorf("%v: format byte %d (%v), want %d", f, b[0], Format(b[0]), uint8(f))
	}
	r, c := binary.LittleEndian.Uint32(b[2:]), binary.LittleEndian.Uint32(b[6:])
	if err := checkDims(uint64(r), uint64(c)); err != nil {
		return 0, 0, 0, fmt.Errorf("%v: %w", f, err)
	}
	return int(b[1]), int(r), int(c), nil
}

// indexWidth is the smallest of 8, 16 and 32 bits that holds max (≥ 0).
func indexWidth(max int) int {
	switch {
	case max <= 0xff:
		return 8
	case max <= 0xffff:
		return 16
	}
	return 32
}

func putIndex(b []byte, width int, v int) []byte {
	switch width {
	case 8:
		return append(b, byte(v))
	case 16:
		return binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	return binary.LittleEndian.AppendUint32(b, uint32(v))
}

// index reads the i-th width-bit index of b.
func index(b []byte, width, i int) int {
	switch width {
	case 8:
		return int(b[i])
	case 16:
		return int(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return int(binary.LittleEndian.Uint32(b[4*i:]))
}
