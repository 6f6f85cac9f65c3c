package sparse

import (
	"encoding/hex"
	"strings"
	"testing"
)

// stream is hex with spaces (the layout's fields) into bytes.
func stream(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecodeErrors feeds each decoder malformed streams, most of them one
// field away from TestLayouts' 2x3 matrix [0 5 0; -128 0 7], and wants
// exactly one line naming the fault.
func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		desc string
		f    Format
		in   string
		want string
	}{
		// Header, shared by all formats.
		{"empty", Bitmask, "", "bitmask: 0 bytes, shorter than the 10-byte header"},
		{"short header", CSR, "03 08 02000000 0300", "csr: 8 bytes, shorter than the 10-byte header"},
		{"other format's stream", CSR, "01 00 02000000 03000000 2a 05 80 07", "csr: format byte 1 (bitmask), want 3"},
		{"unknown format byte", CSC, "07 08 02000000 03000000", "csc: format byte 7 (format 7), want 4"},
		{"too many elements", Bitmask, "01 00 00000100 00000100", "bitmask: 65536x65536: more than MaxElements (16777216) elements"},
		{"rows alone too many", RunLength, "02 08 ffffffff 00000000", "run-length: 4294967295x0: more than MaxElements (16777216) elements"},

		{"bitmask: index width", Bitmask, "01 08 02000000 03000000 2a 05 80 07", "bitmask: index width 8 bits, want 0 (a bitmask has no indices)"},
		{"bitmask: no mask", Bitmask, "01 00 02000000 03000000", "bitmask: truncated: a 2x3 mask needs 1 bytes, 0 follow the header"},
		{"bitmask: truncated mask", Bitmask, "01 00 03000000 03000000 ff", "bitmask: truncated: a 3x3 mask needs 2 bytes, 1 follow the header"},
		{"bitmask: padding bit", Bitmask, "01 00 02000000 03000000 6a 05 80 07 01", "bitmask: padding bit 6 of the last mask byte is set"},
		{"bitmask: a value missing", Bitmask, "01 00 02000000 03000000 2a 05 80", "bitmask: 3 bits set, 2 values follow"},
		{"bitmask: a value too many", Bitmask, "01 00 02000000 03000000 2a 05 80 07 07", "bitmask: 3 bits set, 4 values follow"},
		{"bitmask: stored zero", Bitmask, "01 00 02000000 03000000 2a 05 00 07", "bitmask: value 1 (row 1, column 0) is zero but its bit is set"},

		{"run-length: run width", RunLength, "02 10 02000000 03000000 01 05 01 80 01 07", "run-length: run width 16 bits, want 8"},
		{"run-length: half a pair", RunLength, "02 08 02000000 03000000 01 05 01 80 01", "run-length: 5 bytes after the header, not whole (run, value) pairs"},
		{"run-length: run past the end", RunLength, "02 08 02000000 03000000 01 05 01 80 09 07", "run-length: pair 2 (run 9) runs past the end: it ends at element 13, the matrix has 6"},
		{"run-length: value one past the end", RunLength, "02 08 02000000 03000000 01 05 01 80 02 07", "run-length: pair 2 (run 2) runs past the end: it ends at element 6, the matrix has 6"},
		{"run-length: escape past the end", RunLength, "02 08 02000000 03000000 ff 00", "run-length: pair 0 (run 255) runs past the end: it ends at element 255, the matrix has 6"},
		{"run-length: more pairs than elements", RunLength, "02 08 01000000 02000000 00 01 00 01 00 01", "run-length: 3 pairs for 2 elements: the pairs run past the end"},
		{"run-length: truncated", RunLength, "02 08 02000000 03000000 01 05 01 80", "run-length: truncated: the pairs give 4 of 6 elements"},
		{"run-length: no pairs", RunLength, "02 08 02000000 03000000", "run-length: truncated: 0 pairs give at most 0 of 6 elements"},
		{"run-length: too few pairs for any runs", RunLength, "02 08 58020000 01000000 ff 00 ff 00", "run-length: truncated: 2 pairs give at most 512 of 600 elements"},

		{"csr: index width", CSR, "03 0c 02000000 03000000 00 01 03 01 00 02 05 80 07", "csr: index width 12 bits, want 8, 16 or 32"},
		{"csr: truncated pointers", CSR, "03 08 02000000 03000000 00 01", "csr: truncated: 3 row pointers need 3 bytes, 2 follow the header"},
		{"csr: 16-bit pointers cut", CSR, "03 10 02000000 03000000 0000 0100 03", "csr: truncated: 3 row pointers need 6 bytes, 5 follow the header"},
		{"csr: first pointer", CSR, "03 08 02000000 03000000 01 01 03 01 00 02 05 80 07", "csr: row pointer 0 is 1, want 0"},
		{"csr: pointers decrease", CSR, "03 08 02000000 03000000 00 02 01 01 00 02 05 80 07", "csr: row pointer 2 (1) is less than row pointer 1 (2)"},
		{"csr: pointer past the matrix", CSR, "03 08 02000000 03000000 00 01 07 01 00 02 05 80 07", "csr: last row pointer says 7 nonzeros, a 2x3 matrix holds 6"},
		{"csr: truncated values", CSR, "03 08 02000000 03000000 00 01 03 01 00 02 05 80", "csr: truncated: 3 nonzeros need 6 bytes of indices and values after the row pointers, 5 follow"},
		{"csr: trailing data", CSR, "03 08 02000000 03000000 00 01 03 01 00 02 05 80 07 00", "csr: trailing data: 3 nonzeros need 6 bytes of indices and values after the row pointers, 7 follow"},
		{"csr: column out of range", CSR, "03 08 02000000 03000000 00 01 03 01 00 03 05 80 07", "csr: row 1: column index 3 out of range for 3 columns"},
		{"csr: columns out of order", CSR, "03 08 02000000 03000000 00 01 03 01 02 00 05 80 07", "csr: row 1: column index 0 follows 2, want increasing"},
		{"csr: column twice", CSR, "03 08 02000000 03000000 00 01 03 01 02 02 05 80 07", "csr: row 1: column index 2 follows 2, want increasing"},
		{"csr: too many in a row", CSR, "03 08 02000000 02000000 00 03 03 00 01 00 01 02 03", "csr: row 0: column index 0 follows 1, want increasing"},
		{"csr: stored zero", CSR, "03 08 02000000 03000000 00 01 03 01 00 02 00 80 07", "csr: row 0, column 1: stored value is zero"},

		{"csc: truncated pointers", CSC, "04 08 02000000 03000000 00 01 02", "csc: truncated: 4 column pointers need 4 bytes, 3 follow the header"},
		{"csc: pointers decrease", CSC, "04 08 02000000 03000000 00 01 00 03 01 00 01 80 05 07", "csc: column pointer 2 (0) is less than column pointer 1 (1)"},
		{"csc: row out of range", CSC, "04 08 02000000 03000000 00 01 02 03 02 00 01 80 05 07", "csc: column 0: row index 2 out of range for 2 rows"},
		{"csc: truncated values", CSC, "04 08 02000000 03000000 00 01 02 03 01 00 01 80 05", "csc: truncated: 3 nonzeros need 6 bytes of indices and values after the column pointers, 5 follow"},
		{"csc: stored zero", CSC, "04 08 02000000 03000000 00 01 02 03 01 00 01 80 05 00", "csc: column 2, row 1: stored value is zero"},
	} {
		_, err := decoders[tc.f](stream(t, tc.in))
		if err == nil {
			t.Errorf("%s: decoded, want error %q", tc.desc, tc.want)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.desc, err, tc.want)
		}
	}
}

// TestDecodeDispatch reads the format byte.
func TestDecodeDispatch(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"", "decode: empty stream"},
		{"00 08 01000000 01000000", "decode: format byte 0, want 1 to 4"},
		{"05", "decode: format byte 5, want 1 to 4"},
		{"04 08 01000000", "csc: 6 bytes, shorter than the 10-byte header"},
	} {
		if _, _, err := Decode(stream(t, tc.in)); err == nil || err.Error() != tc.want {
			t.Errorf("Decode(%s): %v, want %q", tc.in, err, tc.want)
		}
	}
}
