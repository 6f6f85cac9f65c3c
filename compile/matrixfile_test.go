package compile

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadMatrix(t *testing.T) {
	tests := []struct {
		desc string
		in   string
		want Matrix
	}{
		{"one value", "7", Matrix{{7}}},
		{"rows and signs", "1 -2 3\n4 5 -128\n", Matrix{{1, -2, 3}, {4, 5, -128}}},
		{"comments, blanks, tabs and CRLF", "# A 2x2\n\n 1\t2 # first row\r\n   \n3 +4\r\n# end", Matrix{{1, 2}, {3, 4}}},
		{"no final newline", "1 2\n3 4", Matrix{{1, 2}, {3, 4}}},
		{"int64 extremes", "-9223372036854775808 9223372036854775807", Matrix{{-9223372036854775808, 9223372036854775807}}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := ReadMatrix(strings.NewReader(tc.in), "A.txt")
			if err != nil {
				t.Fatalf("ReadMatrix: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ReadMatrix mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadMatrixErrors(t *testing.T) {
	tests := []struct {
		desc, in, want string
	}{
		{"ragged row", "1 2 3 4 5\n1 2 3 4 5\n1 2 3 4\n", "A.txt:3: row has 4 values, want 5"},
		{"ragged after comments", "# header\n1 2\n\n1 2 3\n", "A.txt:4: row has 3 values, want 2"},
		{"not an integer", "1 2\n3 x\n", `A.txt:2: value 2 "x" is not a decimal integer`},
		{"float", "1.5\n", `A.txt:1: value 1 "1.5" is not a decimal integer`},
		{"hex", "0x10\n", `A.txt:1: value 1 "0x10" is not a decimal integer`},
		{"too large", "99999999999999999999\n", `A.txt:1: value 1 "99999999999999999999" does not fit in 64 bits`},
		{"empty", "", "A.txt: empty matrix: no rows of values"},
		{"only comments", "# nothing\n\n  # here\n", "A.txt: empty matrix: no rows of values"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := ReadMatrix(strings.NewReader(tc.in), "A.txt")
			if err == nil || err.Error() != tc.want {
				t.Errorf("ReadMatrix(%q) error = %v, want %q", tc.in, err, tc.want)
			}
		})
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestReadMatrixReadError(t *testing.T) {
	_, err := ReadMatrix(failingReader{}, "B.txt")
	if err == nil || err.Error() != "B.txt:1: disk on fire" {
		t.Errorf("got %v, want the read error with file:line", err)
	}
}

func TestWriteMatrixRoundTrip(t *testing.T) {
	m := Matrix{{0, -1, 127}, {-128, 2147483647, -2147483648}}
	var buf bytes.Buffer
	if err := WriteMatrix(&buf, m); err != nil {
		t.Fatal(err)
	}
	if want := "0 -1 127\n-128 2147483647 -2147483648\n"; buf.String() != want {
		t.Errorf("WriteMatrix wrote %q, want %q", buf.String(), want)
	}
	got, err := ReadMatrix(&buf, "C.txt")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, got); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
}
