package compile

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzReadMatrix feeds arbitrary text to ReadMatrix, as `tpugen gemm -a`
// does: it returns a non-empty rectangular matrix or a one-line error that
// names the file, never panics, and what it reads survives a round trip
// through WriteMatrix. Seeds: the format's examples and
// testdata/fuzz/FuzzReadMatrix.
func FuzzReadMatrix(f *testing.F) {
	for _, s := range []string{
		"# A: 2x3 int8 activations\n1 -2 3\n4  5 -128\n",
		"1\n",
		"1 2\n3 4",
		"\t-9223372036854775808 9223372036854775807\r\n\n# end\n",
		"1 2\n3\n",
		"1 x\n",
		"+7 -0 007\n",
		"",
		"# only a comment\n\n",
		"99999999999999999999\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ReadMatrix(bytes.NewReader(data), "A.txt")
		if err != nil {
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "A.txt") {
				t.Fatalf("error %q: want one line naming the file", msg)
			}
			return
		}
		if len(m) == 0 || len(m[0]) == 0 {
			t.Fatalf("accepted an empty matrix %v", m)
		}
		for i, row := range m {
			if len(row) != len(m[0]) {
				t.Fatalf("row %d has %d values, row 0 has %d", i, len(row), len(m[0]))
			}
		}
		var buf bytes.Buffer
		if err := WriteMatrix(&buf, m); err != nil {
			t.Fatal(err)
		}
		again, err := ReadMatrix(&buf, "again.txt")
		if err != nil {
			t.Fatalf("written matrix does not read back: %v", err)
		}
		if d := cmp.Diff(m, again); d != "" {
			t.Fatalf("round trip changed the matrix (-read +reread):\n%s", d)
		}
	})
}
