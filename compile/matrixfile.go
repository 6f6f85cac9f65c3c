package compile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Matrix text format, read by ReadMatrix and written by WriteMatrix: one
// matrix row per line, values as decimal integers separated by spaces or
// tabs. '#' starts a comment that runs to the end of the line; blank and
// comment-only lines are ignored. Every row must have the same number of
// values, and a matrix has at least one row.
//
//	# A: 2x3 int8 activations
//	1 -2 3
//	4  5 -128

// ReadMatrix reads a matrix in the text format. name (usually the file
// name) prefixes every error together with the line number, as in
// "A.txt:3: row has 4 values, want 5".
func ReadMatrix(r io.Reader, name string) (Matrix, error) {
	br := bufio.NewReader(r)
	var m Matrix
	for line := 1; ; line++ {
		text, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if text == "" && err != nil {
			break
		}
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		fields := strings.Fields(text)
		if len(fields) > 0 {
			row := make([]int64, len(fields))
			for j, f := range fields {
				v, perr := strconv.ParseInt(f, 10, 64)
				if perr != nil {
					why := "is not a decimal integer"
					if errors.Is(perr, strconv.ErrRange) {
						why = "does not fit in 64 bits"
					}
					return nil, fmt.Errorf("%s:%d: value %d %q %s", name, line, j+1, f, why)
				}
				row[j] = v
			}
			if len(m) > 0 && len(row) != len(m[0]) {
				return nil, fmt.Errorf("%s:%d: row has %d values, want %d", name, line, len(row), len(m[0]))
			}
			m = append(m, row)
		}
		if err != nil {
			break
		}
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("%s: empty matrix: no rows of values", name)
	}
	return m, nil
}

// WriteMatrix writes m in the text format ReadMatrix reads: one row per
// line, values separated by single spaces.
func WriteMatrix(w io.Writer, m Matrix) error {
	bw := bufio.NewWriter(w)
	var buf []byte
	for _, row := range m {
		buf = buf[:0]
		for j, v := range row {
			if j > 0 {
				buf = append(buf, ' ')
			}
			buf = strconv.AppendInt(buf, v, 10)
		}
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}
