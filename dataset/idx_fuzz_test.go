package dataset

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// FuzzLoadDir feeds arbitrary bytes as the images and labels of a data set
// directory, as `tpugen run -data DIR` reads them: Load returns a set whose
// images hold H×W bytes each and whose labels match them, or a one-line
// error, never panics. Seeds: a good two-image set, the cases of
// TestBadFiles, and testdata/fuzz/FuzzLoadDir.
func FuzzLoadDir(f *testing.F) {
	images := []byte{0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8}
	labels := []byte{0, 0, 8, 1, 0, 0, 0, 2, 3, 4}
	f.Add(images, labels)
	f.Add(images[:20], labels)
	f.Add([]byte{0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1}, labels)
	f.Add([]byte{0, 0, 8, 3, 0, 0x40, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1}, []byte{0, 0, 8, 1, 0, 0x40, 0, 0})
	f.Add(images, []byte{0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3})
	f.Add([]byte{0, 0, 8, 1, 0, 0, 0, 2, 1, 2}, labels)
	f.Fuzz(func(t *testing.T, images, labels []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "t10k-images-idx3-ubyte"), images, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "t10k-labels-idx1-ubyte"), labels, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Load(dir, Test)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error of several lines: %q", err)
			}
			return
		}
		if len(s.Images) != len(s.Labels) {
			t.Fatalf("%d images, %d labels", len(s.Images), len(s.Labels))
		}
		for i, img := range s.Images {
			if len(img) != s.H*s.W*s.C {
				t.Fatalf("image %d has %d bytes, want %dx%dx%d", i, len(img), s.H, s.W, s.C)
			}
		}
	})
}

// TestIDXClaimAllocates: a header that announces 2^30 pixels over a file of
// 24 bytes fails as truncated without allocating what it announced (the
// reader reads what is there).
func TestIDXClaimAllocates(t *testing.T) {
	claim := []byte{0, 0, 8, 3, 0, 0, 0x40, 0, 0, 0, 0x01, 0, 0, 0, 0x01, 0, 1, 2, 3, 4, 5, 6, 7, 8}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err := parseIDX(bytes.NewReader(claim))
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "truncated IDX data") {
		t.Fatalf("err = %v, want truncated IDX data", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Errorf("parsing a 24-byte file allocated %d bytes", got)
	}
}
