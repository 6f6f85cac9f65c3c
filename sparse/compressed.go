package sparse

import "fmt"

// EncodeCSR stores m as compressed sparse rows (format 3, see the package
// doc).
func EncodeCSR(m Matrix) ([]byte, error) {
	if err := m.Check(); err != nil {
		return nil, fmt.Errorf("csr: %w", err)
	}
	return encodeCompressed(CSR, m), nil
}

// EncodeCSC stores m as compressed sparse columns (format 4, see the
// package doc).
func EncodeCSC(m Matrix) ([]byte, error) {
	if err := m.Check(); err != nil {
		return nil, fmt.Errorf("csc: %w", err)
	}
	return encodeCompressed(CSC, m), nil
}

// DecodeCSR reads a CSR stream.
func DecodeCSR(b []byte) (Matrix, error) { return decodeCompressed(CSR, b) }

// DecodeCSC reads a CSC stream.
func DecodeCSC(b []byte) (Matrix, error) { return decodeCompressed(CSC, b) }

// compressed walks a matrix by lines: rows for CSR, columns for CSC.
type compressed struct {
	lines, size int // number of lines, and of positions in a line
	// stride is the distance in Data between lines and step between
	// positions of a line.
	stride, step int
}

func lines(f Format, rows, cols int) compressed {
	if f == CSC {
		return compressed{lines: cols, size: rows, stride: 1, step: cols}
	}
	return compressed{lines: rows, size: cols, stride: cols, step: 1}
}

// at is the index in Data of position j of line i.
func (c compressed) at(i, j int) int { return i*c.stride + j*c.step }

// encodeCompressed writes m's header, pointers, indices and values.
func encodeCompressed(f Format, m Matrix) []byte {
	c := lines(f, m.Rows, m.Cols)
	nnz, last := 0, 0
	for i := range c.lines {
		for j := range c.size {
			if m.Data[c.at(i, j)] != 0 {
				nnz++
				last = max(last, j)
			}
		}
	}
	width := indexWidth(max(nnz, last))
	b := header(f, width, m.Rows, m.Cols)
	b = putIndex(b, width, 0)
	count := 0
	for i := range c.lines {
		for j := range c.size {
			if m.Data[c.at(i, j)] != 0 {
				count++
			}
		}
		b = putIndex(b, width, count)
	}
	values := make([]byte, 0, nnz)
	for i := range c.lines {
		for j := range c.size {
			if v := m.Data[c.at(i, j)]; v != 0 {
				b = putIndex(b, width, j)
				values = append(values, byte(v))
			}
		}
	}
	return append(b, values...)
}

// decodeCompressed reads a CSR or CSC stream.
func decodeCompressed(f Format, b []byte) (Matrix, error) {
	width, rows, cols, err := readHeader(f, b)
	if err != nil {
		return Matrix{}, err
	}
	c := lines(f, rows, cols)
	// Names for the messages: CSR has rows of columns, CSC columns of rows.
	line, pos := "row", "column"
	if f == CSC {
		line, pos = "column", "row"
	}
	if width != 8 && width != 16 && width != 32 {
		return Matrix{}, fmt.Errorf("%v: index width %d bits, want 8, 16 or 32", f, width)
	}
	w := width / 8
	body := b[HeaderSize:]
	if len(body)/w < c.lines+1 {
		return Matrix{}, fmt.Errorf("%v: truncated: %d %s pointers need %d bytes, %d follow the header", f, c.lines+1, line, (c.lines+1)*w, len(body))
	}
	ptr := body[:(c.lines+1)*w]
	if p := index(ptr, width, 0); p != 0 {
		return Matrix{}, fmt.Errorf("%v: %s pointer 0 is %d, want 0", f, line, p)
	}
	for i := 1; i <= c.lines; i++ {
		if p, prev := index(ptr, width, i), index(ptr, width, i-1); p < prev {
			return Matrix{}, fmt.Errorf("%v: %s pointer %d (%d) is less than %s pointer %d (%d)", f, line, i, p, line, i-1, prev)
		}
	}
	nnz := index(ptr, width, c.lines)
	if nnz > rows*cols {
		return Matrix{}, fmt.Errorf("%v: last %s pointer says %d nonzeros, a %dx%d matrix holds %d", f, line, nnz, rows, cols, rows*cols)
	}
	rest := body[len(ptr):]
	if need := nnz * (w + 1); len(rest) != need {
		what := "truncated"
		if len(rest) > need {
			what = "trailing data"
		}
		return Matrix{}, fmt.Errorf("%v: %s: %d nonzeros need %d bytes of indices and values after the %s pointers, %d follow", f, what, nnz, need, line, len(rest))
	}
	idx, values := rest[:nnz*w], rest[nnz*w:]
	m := Matrix{Rows: rows, Cols: cols, Data: make([]int8, rows*cols)}
	for i := range c.lines {
		last := -1
		for k := index(ptr, width, i); k < index(ptr, width, i+1); k++ {
			j := index(idx, width, k)
			switch {
			case j >= c.size:
				return Matrix{}, fmt.Errorf("%v: %s %d: %s index %d out of range for %d %ss", f, line, i, pos, j, c.size, pos)
			case j <= last:
				return Matrix{}, fmt.Errorf("%v: %s %d: %s index %d follows %d, want increasing", f, line, i, pos, j, last)
			case values[k] == 0:
				return Matrix{}, fmt.Errorf("%v: %s %d, %s %d: stored value is zero", f, line, i, pos, j)
			}
			m.Data[c.at(i, j)] = int8(values[k])
			last = j
		}
	}
	return m, nil
}
