package sparse

import "fmt"

// maxRun is the longest zero run one (run, value) pair holds.
const maxRun = 255

// EncodeRunLength stores m as (zero run, value) pairs (format 2, see the
// package doc), with as few pairs as the format allows.
func EncodeRunLength(m Matrix) ([]byte, error) {
	if err := m.Check(); err != nil {
		return nil, fmt.Errorf("run-length: %w", err)
	}
	b := header(RunLength, 8, m.Rows, m.Cols)
	zeros := 0
	for _, v := range m.Data {
		if v == 0 {
			zeros++
			continue
		}
		for ; zeros > maxRun; zeros -= maxRun + 1 {
			b = append(b, maxRun, 0)
		}
		b = append(b, byte(zeros), byte(v))
		zeros = 0
	}
	for ; zeros > maxRun+1; zeros -= maxRun + 1 {
		b = append(b, maxRun, 0)
	}
	if zeros > 0 {
		b = append(b, byte(zeros-1), 0)
	}
	return b, nil
}

// DecodeRunLength reads a run-length stream.
func DecodeRunLength(b []byte) (Matrix, error) {
	width, rows, cols, err := readHeader(RunLength, b)
	if err != nil {
		return Matrix{}, err
	}
	if width != 8 {
		return Matrix{}, fmt.Errorf("run-length: run width %d bits, want 8", width)
	}
	body := b[HeaderSize:]
	if len(body)%2 != 0 {
		return Matrix{}, fmt.Errorf("run-length: %d bytes after the header, not whole (run, value) pairs", len(body))
	}
	n := rows * cols
	// Each pair gives at least one element: more pairs than elements
	// cannot fit, so the stream's length bounds the allocation too.
	if len(body)/2 > n {
		return Matrix{}, fmt.Errorf("run-length: %d pairs for %d elements: the pairs run past the end", len(body)/2, n)
	}
	// And each gives at most maxRun+1 elements: too few pairs are
	// truncated before anything is allocated.
	if most := len(body) / 2 * (maxRun + 1); most < n {
		return Matrix{}, fmt.Errorf("run-length: truncated: %d pairs give at most %d of %d elements", len(body)/2, most, n)
	}
	m := Matrix{Rows: rows, Cols: cols, Data: make([]int8, n)}
	at := 0
	for p := 0; p < len(body); p += 2 {
		at += int(body[p])
		if at >= n {
			return Matrix{}, fmt.Errorf("run-length: pair %d (run %d) runs past the end: it ends at element %d, the matrix has %d", p/2, body[p], at, n)
		}
		m.Data[at] = int8(body[p+1])
		at++
	}
	if at != n {
		return Matrix{}, fmt.Errorf("run-length: truncated: the pairs give %d of %d elements", at, n)
	}
	return m, nil
}
