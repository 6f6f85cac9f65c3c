package sparse

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// roundTrip encodes m in format f, decodes it with the format's decoder
// and with Decode, and wants m back exactly.
func roundTrip(t *testing.T, f Format, m Matrix, desc string) []byte {
	t.Helper()
	b, err := Encode(f, m)
	if err != nil {
		t.Fatalf("%s: %v", desc, err)
	}
	got, err := decoders[f](b)
	if err != nil {
		t.Fatalf("%s: %v: decode: %v", desc, f, err)
	}
	if !got.Equal(m) {
		t.Fatalf("%s: %v: round trip changed the matrix", desc, f)
	}
	got, format, err := Decode(b)
	if err != nil || format != f || !got.Equal(m) {
		t.Fatalf("%s: %v stream: Decode gives %v, %v", desc, f, format, err)
	}
	return b
}

var decoders = map[Format]func([]byte) (Matrix, error){
	Bitmask: DecodeBitmask, RunLength: DecodeRunLength, CSR: DecodeCSR, CSC: DecodeCSC,
}

// randMatrix has exactly round(sparsity·rows·cols) zeros at random places;
// the nonzeros are uniform over -128..127 without 0, and the first two are
// -128 and 127.
func randMatrix(r *rand.Rand, rows, cols int, sparsity float64) Matrix {
	n := rows * cols
	m := Matrix{Rows: rows, Cols: cols, Data: make([]int8, n)}
	nnz := n - int(sparsity*float64(n)+0.5)
	for k, i := range r.Perm(n)[:nnz] {
		v := int8(r.IntN(255) - 127) // -127..127
		switch {
		case k == 0:
			v = -128
		case k == 1:
			v = 127
		case v == 0:
			v = -128
		}
		m.Data[i] = v
	}
	return m
}

// TestRandomRoundTrip round-trips random matrices from 1x1 to 300x400 at
// sparsities 0, 50%, 90% and 100% (and empty ones) in every format, and
// checks each stream's length against the package doc.
func TestRandomRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	shapes := [][2]int{{0, 0}, {0, 5}, {5, 0}, {1, 1}, {1, 7}, {7, 1}, {3, 5}, {8, 8}, {17, 33}, {1, 600}, {64, 256}, {255, 257}, {300, 400}}
	for _, s := range shapes {
		for _, sp := range []float64{0, 0.5, 0.9, 1} {
			m := randMatrix(r, s[0], s[1], sp)
			desc := fmt.Sprintf("%dx%d at %.0f%%", s[0], s[1], 100*sp)
			if want := s[0]*s[1] - int(sp*float64(s[0]*s[1])+0.5); m.Nonzeros() != want {
				t.Fatalf("%s: %d nonzeros, want %d", desc, m.Nonzeros(), want)
			}
			want := formulaSizes(m)
			for _, f := range Formats {
				b := roundTrip(t, f, m, desc)
				if f != RunLength && len(b) != want[f] {
					t.Errorf("%s: %v: %d bytes, the layout gives %d", desc, f, len(b), want[f])
				}
			}
		}
	}
}

// TestRunLengthRuns round-trips zero runs around the 255 limit and checks
// the number of pairs against the fewest possible (package doc).
func TestRunLengthRuns(t *testing.T) {
	for _, lead := range []int{0, 1, 254, 255, 256, 257, 511, 512, 513, 1000} {
		for _, trail := range []int{0, 1, 255, 256, 257, 512, 513} {
			m := Matrix{Rows: 1, Cols: lead + 1 + trail, Data: make([]int8, lead+1+trail)}
			m.Data[lead] = -128
			b := roundTrip(t, RunLength, m, fmt.Sprintf("%d zeros, -128, %d zeros", lead, trail))
			pairs := (lead+1+255)/256 + (trail+255)/256
			if got := (len(b) - HeaderSize) / 2; got != pairs {
				t.Errorf("%d zeros, -128, %d zeros: %d pairs, want %d", lead, trail, got, pairs)
			}
		}
	}
}

// TestLayouts pins each format's bytes for small matrices, written out
// from the package doc.
func TestLayouts(t *testing.T) {
	small := Matrix{Rows: 2, Cols: 3, Data: []int8{0, 5, 0, -128, 0, 7}}
	long := Matrix{Rows: 1, Cols: 600, Data: make([]int8, 600)}
	long.Data[300] = 3
	wide := Matrix{Rows: 2, Cols: 70000, Data: make([]int8, 140000)}
	wide.Data[69999], wide.Data[70000] = 1, -1
	for _, tc := range []struct {
		desc string
		f    Format
		m    Matrix
		want string // hex, spaces ignored
	}{
		{"2x3 bitmask: mask bits 1, 3, 5", Bitmask, small, "01 00 02000000 03000000  2a  05 80 07"},
		{"2x3 run-length", RunLength, small, "02 08 02000000 03000000  01 05  01 80  01 07"},
		{"2x3 csr, 8-bit indices", CSR, small, "03 08 02000000 03000000  00 01 03  01 00 02  05 80 07"},
		{"2x3 csc, 8-bit indices", CSC, small, "04 08 02000000 03000000  00 01 02 03  01 00 01  80 05 07"},
		{"1x600 run-length: escapes", RunLength, long, "02 08 01000000 58020000  ff 00  2c 03  ff 00  2a 00"},
		{"1x600 csr: 16-bit indices for column 300", CSR, long, "03 10 01000000 58020000  0000 0100  2c01  03"},
		{"1x2 csc: 3 column pointers", CSC, Matrix{Rows: 1, Cols: 2, Data: []int8{0, 9}}, "04 08 01000000 02000000  00 00 01  00  09"},
		{"2x70000 csr: 32-bit indices", CSR, wide, "03 20 02000000 70110100  00000000 01000000 02000000  6f110100 00000000  01 ff"},
	} {
		b, err := Encode(tc.f, tc.m)
		if err != nil {
			t.Fatalf("%s: %v", tc.desc, err)
		}
		if got, want := hex.EncodeToString(b), strings.ReplaceAll(tc.want, " ", ""); got != want {
			t.Errorf("%s:\n got %s\nwant %s", tc.desc, got, want)
		}
		roundTrip(t, tc.f, tc.m, tc.desc)
	}
}

// TestIndexWidths checks the switch from 8- to 16- to 32-bit indices at
// the boundaries of nnz and of the indexed dimension.
func TestIndexWidths(t *testing.T) {
	full := func(rows, cols int) Matrix {
		m := Matrix{Rows: rows, Cols: cols, Data: make([]int8, rows*cols)}
		for i := range m.Data {
			m.Data[i] = 1
		}
		return m
	}
	oneAt := func(rows, cols, i int) Matrix {
		m := Matrix{Rows: rows, Cols: cols, Data: make([]int8, rows*cols)}
		m.Data[i] = 1
		return m
	}
	for _, tc := range []struct {
		desc     string
		m        Matrix
		csr, csc int
	}{
		{"1x255 full: nnz 255", full(1, 255), 8, 8},
		{"1x256 full: nnz 256", full(1, 256), 16, 16},
		{"1x256, column 255", oneAt(1, 256, 255), 8, 8},
		{"1x257, column 256", oneAt(1, 257, 256), 16, 8},
		{"1x257, column 0: the largest index written counts, not cols", oneAt(1, 257, 0), 8, 8},
		{"257x1, row 256", oneAt(257, 1, 256), 8, 16},
		{"1x65536, column 65535", oneAt(1, 65536, 65535), 16, 8},
		{"1x65537, column 65536", oneAt(1, 65537, 65536), 32, 8},
		{"256x256 full: nnz 65536", full(256, 256), 32, 32},
	} {
		for _, fw := range []struct {
			f     Format
			width int
		}{{CSR, tc.csr}, {CSC, tc.csc}} {
			b := roundTrip(t, fw.f, tc.m, tc.desc)
			if int(b[1]) != fw.width {
				t.Errorf("%s: %v width %d bits, want %d", tc.desc, fw.f, b[1], fw.width)
			}
		}
	}
}

// TestEncodeErrors rejects matrices that are not what they say.
func TestEncodeErrors(t *testing.T) {
	for _, tc := range []struct {
		m    Matrix
		want string
	}{
		{Matrix{Rows: 2, Cols: 3, Data: make([]int8, 5)}, "matrix 2x3: 5 values, want 6"},
		{Matrix{Rows: -1, Cols: 3}, "matrix -1x3: negative dimension"},
		{Matrix{Rows: 1 << 13, Cols: 1 << 12}, "matrix 8192x4096: more than MaxElements (16777216) elements"},
	} {
		for _, f := range Formats {
			_, err := Encode(f, tc.m)
			if want := f.String() + ": " + tc.want; err == nil || err.Error() != want {
				t.Errorf("Encode(%v, %dx%d): %v, want %q", f, tc.m.Rows, tc.m.Cols, err, want)
			}
		}
	}
	if _, err := Encode(Format(9), Matrix{}); err == nil || err.Error() != "encode: unknown format 9" {
		t.Errorf("Encode(format 9): %v", err)
	}
}
