package npy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteHeader checks the byte layout against the format's definition:
// magic, version 1.0, a little-endian header length, a header padded so the
// data starts at a multiple of 64, then the data.
func TestWriteHeader(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, []int{2, 3}, []int8{1, -2, 3, -4, 5, -128}); err != nil {
		t.Fatal(err)
	}
	out := b.Bytes()
	if string(out[:8]) != "\x93NUMPY\x01\x00" {
		t.Fatalf("magic %q", out[:8])
	}
	hl := int(out[8]) | int(out[9])<<8
	header := string(out[10 : 10+hl])
	if (10+hl)%64 != 0 || !strings.HasSuffix(header, "\n") ||
		!strings.HasPrefix(header, "{'descr': '|i1', 'fortran_order': False, 'shape': (2, 3), }") {
		t.Errorf("header %q (length %d)", header, hl)
	}
	if got := out[10+hl:]; !bytes.Equal(got, []byte{1, 0xfe, 3, 0xfc, 5, 0x80}) {
		t.Errorf("data % x", got)
	}
	if err := Write(&b, []int{4}, []int32{1, 2}); err == nil {
		t.Error("a shape that does not match the data was accepted")
	}
}

// TestNumPyReads loads a file with NumPy itself when Debian's python3-numpy
// is there (the models' toolchain installs it).
func TestNumPyReads(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import numpy").Run(); err != nil {
		t.Skip("no numpy for /usr/bin/python3")
	}
	path := filepath.Join(t.TempDir(), "a.npy")
	var b bytes.Buffer
	if err := Write(&b, []int{3}, []int32{7, -8, 1 << 30}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", "import numpy,sys; a=numpy.load(sys.argv[1]); print(a.dtype, a.shape, list(a))", path).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got := strings.TrimSpace(string(out)); !strings.HasPrefix(got, "int32 (3,) [") || !strings.Contains(got, "1073741824") {
		t.Errorf("numpy read %q", got)
	}
}
