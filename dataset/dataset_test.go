package dataset

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadMNIST reads the whole MNIST test set from the GoMNIST module. The
// first test image is a 7 and the set holds 1,135 ones (published counts).
func TestLoadMNIST(t *testing.T) {
	s, err := Load(MNIST, Test)
	if err != nil {
		t.Fatal(err)
	}
	ones := 0
	for _, l := range s.Labels {
		if l == 1 {
			ones++
		}
	}
	if s.Len() != 10000 || s.H != 28 || s.W != 28 || s.Classes != 10 || s.Labels[0] != 7 || ones != 1135 {
		t.Errorf("mnist test: %d images %dx%d, %d classes, first label %d, %d ones; want 10000 28x28, 10, 7, 1135",
			s.Len(), s.H, s.W, s.Classes, s.Labels[0], ones)
	}
	tr, err := Load(MNIST, Train)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Len() != 60000 || tr.Labels[0] != 5 {
		t.Errorf("mnist train: %d images, first label %d; want 60000, 5", tr.Len(), tr.Labels[0])
	}
}

// TestLoadFashion reads Fashion-MNIST from Debian's package: 10,000 test
// images, the first an ankle boot (class 9), 1,000 per class.
func TestLoadFashion(t *testing.T) {
	if _, err := os.Stat(FashionDir); err != nil && os.Getenv("TPUGEN_REQUIRE_SIMS") == "" {
		t.Skip("dataset-fashion-mnist is not installed (scripts/setup.sh installs it)")
	}
	s, err := Load(Fashion, Test)
	if err != nil {
		t.Fatal(err)
	}
	count := make([]int, s.Classes)
	for _, l := range s.Labels {
		count[l]++
	}
	if s.Len() != 10000 || s.Labels[0] != 9 || s.Classes != 10 || count[3] != 1000 {
		t.Errorf("fashion test: %d images, first label %d, %d classes, %v per class", s.Len(), s.Labels[0], s.Classes, count)
	}
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// TestBadFiles: corrupt and mismatched IDX files give one-line errors.
func TestBadFiles(t *testing.T) {
	images := []byte{0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8}
	labels := []byte{0, 0, 8, 1, 0, 0, 0, 2, 3, 4}
	for _, tc := range []struct {
		name           string
		images, labels []byte
		want           string
	}{
		{"good", images, labels, ""},
		{"truncated data", images[:20], labels, "truncated IDX data"},
		{"truncated header", images[:6], labels, "truncated IDX header"},
		{"bad magic", append([]byte{1}, images[1:]...), labels, "not an IDX file"},
		{"float elements", append([]byte{0, 0, 0x0d}, images[3:]...), labels, "element type 0x0d"},
		{"huge", []byte{0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1}, labels, "too large"},
		{"count mismatch", images, []byte{0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3}, "do not match"},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "t10k-images-idx3-ubyte.gz"), gz(tc.images), 0o644)
			os.WriteFile(filepath.Join(dir, "t10k-labels-idx1-ubyte"), tc.labels, 0o644)
			s, err := Load(dir, Test)
			if tc.want == "" {
				if err != nil || s.Len() != 2 || s.Images[1][3] != 8 || s.Labels[1] != 4 {
					t.Fatalf("good set: %v %+v", err, s)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v, want one line saying %q", err, tc.want)
			}
		})
	}
	if _, err := Load("no-such-set", Test); err == nil || !strings.Contains(err.Error(), "want mnist, fashion or a directory") {
		t.Errorf("unknown set: %v", err)
	}
}
