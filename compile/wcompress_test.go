package compile_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tpugen/tpugen/compile"
)

// TestBitmaskTileRoundTrip encodes random tiles (dense, empty and sparse
// rows, 1 to 20 lanes) and decodes them back exactly; then malformed tiles
// each give a one-line error naming what is wrong.
func TestBitmaskTileRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for c := 0; c < 200; c++ {
		lanes, rows := 1+r.IntN(20), 1+r.IntN(8)
		var tile []byte
		var want [][]int64
		for i := 0; i < rows; i++ {
			row := make([]int64, lanes)
			zeros := r.Float64()
			for j := range row {
				if r.Float64() >= zeros {
					row[j] = int64(r.IntN(255) - 127)
				}
			}
			tile = compile.BitmaskRecord(tile, row)
			want = append(want, row)
		}
		got, err := compile.DecodeBitmaskTile(tile, rows, lanes)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%d lanes, %d rows: got %v, %v; want %v", lanes, rows, got, err, want)
		}
	}
	for _, tc := range []struct {
		desc  string
		tile  []byte
		lanes int
		want  string
	}{
		{"popcount past the end", []byte{0x03, 5}, 8, "run past the end"},
		{"missing record", []byte{0x01, 5}, 8, "record 1: 1 mask bytes, 0 bytes left"},
		{"trailing bytes", []byte{0x01, 5, 0x00, 7}, 8, "1 bytes after the last of 2 records"},
		{"stored zero", []byte{0x01, 0, 0x00}, 8, "a stored zero"},
		{"mask beyond the lanes", []byte{0x10, 5, 0x00}, 3, "mask bit 4 beyond the 3 lanes"},
	} {
		_, err := compile.DecodeBitmaskTile(tc.tile, 2, tc.lanes)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line with %q", tc.desc, err, tc.want)
		}
	}
}
