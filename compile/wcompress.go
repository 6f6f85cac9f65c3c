package compile

import (
	"fmt"
	"math/big"

	"github.com/tpugen/tpugen/arch"
)

// DenseWeightLayout is the layout of one dense weight row as the array
// takes it: the w_in stream itself, or with weight compression the rows
// the decoder in front of the array produces (Cols lanes of weight_bits,
// lane 0 lowest). Plans are made of dense rows; CompressWeights turns them
// into what crosses the interface.
func DenseWeightLayout(man *arch.Manifest) *arch.Layout {
	cfg := man.Config
	if !cfg.WeightCompression.IsCompressed() {
		return man.Stream(arch.StreamW)
	}
	return &arch.Layout{Name: arch.StreamW + " (dense rows)", Width: cfg.Cols * cfg.WeightBits,
		Fields: []arch.Field{{Name: "weights", Width: cfg.WeightBits, Lanes: cfg.Cols, Signed: cfg.WeightSigned}}}
}

// BitmaskRecord appends one dense row's bitmask record to dst: a mask of
// ceil(len(row)/8) bytes (bit j, least significant bit of the first byte
// first, set when row[j] is not zero), then the nonzero values in lane
// order, one byte each.
func BitmaskRecord(dst []byte, row []int64) []byte {
	mask := make([]byte, (len(row)+7)/8)
	var vals []byte
	for j, v := range row {
		if v != 0 {
			mask[j/8] |= 1 << (j % 8)
			vals = append(vals, byte(int8(v)))
		}
	}
	return append(append(dst, mask...), vals...)
}

// PackBitmaskBeats cuts each tile's bytes into w_in beats of layout l
// (fields bytes, count, last): full beats of beatBytes, the tile's last beat
// with the rest and last set. Tiles never share a beat.
func PackBitmaskBeats(l *arch.Layout, tiles [][]byte, beatBytes int) ([]*big.Int, error) {
	var out []*big.Int
	for t, tile := range tiles {
		for i := 0; i < len(tile) || i == 0; i += beatBytes {
			chunk := tile[i:min(len(tile), i+beatBytes)]
			lanes := make([]int64, beatBytes)
			for k, b := range chunk {
				lanes[k] = int64(b)
			}
			last := int64(0)
			if i+beatBytes >= len(tile) {
				last = 1
			}
			p, err := l.Pack(arch.Values{"bytes": lanes, "count": {int64(len(chunk))}, "last": {last}})
			if err != nil {
				return nil, fmt.Errorf("weight tile %d: %w", t, err)
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// WeightTraffic is what a layer's weights cost on the w_in interface.
type WeightTraffic struct {
	Beats int   // w_in beats
	Bits  int64 // beats × the stream's payload width
	Bytes int   // weight bytes the beats carry (dense: rows × cols; bitmask: masks and nonzero values)
}

// Add sums traffic.
func (w *WeightTraffic) Add(o WeightTraffic) {
	w.Beats += o.Beats
	w.Bits += o.Bits
	w.Bytes += o.Bytes
}

// CompressWeights turns a plan's dense weight rows (DenseWeightLayout
// payloads, tiles of rows beats, as PlanGEMM streams them on a WS unit)
// into the w_in beats the manifest's weight_compression asks for, and
// reports the traffic both ways. Without compression the beats come back
// as they are.
func CompressWeights(man *arch.Manifest, dense []*big.Int) (beats []*big.Int, denseTraffic, traffic WeightTraffic, err error) {
	cfg := man.Config
	dl := DenseWeightLayout(man)
	denseTraffic = WeightTraffic{Beats: len(dense), Bits: int64(len(dense)) * int64(dl.Width), Bytes: len(dense) * cfg.Cols * cfg.WeightBits / 8}
	if !cfg.WeightCompression.IsCompressed() {
		return dense, denseTraffic, denseTraffic, nil
	}
	if cfg.Dataflow.IsOS() || cfg.WeightBits != 8 {
		return nil, denseTraffic, WeightTraffic{}, fmt.Errorf("weight compression %v: needs a ws unit with 8-bit weights", cfg.WeightCompression)
	}
	R := cfg.Rows
	if len(dense)%R != 0 {
		return nil, denseTraffic, WeightTraffic{}, fmt.Errorf("weight compression: %d weight rows are not whole tiles of %d", len(dense), R)
	}
	var tiles [][]byte
	for t := 0; t < len(dense); t += R {
		var tile []byte
		for _, p := range dense[t : t+R] {
			row, err := dl.Unpack(p, "weights")
			if err != nil {
				return nil, denseTraffic, WeightTraffic{}, fmt.Errorf("weight compression: %w", err)
			}
			tile = BitmaskRecord(tile, row)
		}
		tiles = append(tiles, tile)
		traffic.Bytes += len(tile)
	}
	wl := man.Stream(arch.StreamW)
	beats, err = PackBitmaskBeats(wl, tiles, wl.Field("bytes").Lanes)
	if err != nil {
		return nil, denseTraffic, WeightTraffic{}, fmt.Errorf("weight compression: %w", err)
	}
	traffic.Beats, traffic.Bits = len(beats), int64(len(beats))*int64(wl.Width)
	return beats, denseTraffic, traffic, nil
}

// DecodeBitmaskTile reads a tile's byte string back into rows dense rows
// of lanes weights: the inverse of BitmaskRecord over a tile. Where the
// hardware decoder pads and flags, it returns a one-line error: a record
// cut off by the end, bytes left after the last record, a stored zero or
// a mask bit beyond the lanes.
func DecodeBitmaskTile(tile []byte, rows, lanes int) ([][]int64, error) {
	mb := (lanes + 7) / 8
	out := make([][]int64, 0, rows)
	at := 0
	for r := 0; r < rows; r++ {
		if at+mb > len(tile) {
			return nil, fmt.Errorf("bitmask tile: record %d: %d mask bytes, %d bytes left", r, mb, len(tile)-at)
		}
		mask := tile[at : at+mb]
		at += mb
		row := make([]int64, lanes)
		for j := 0; j < 8*mb; j++ {
			if mask[j/8]>>(j%8)&1 == 0 {
				continue
			}
			if j >= lanes {
				return nil, fmt.Errorf("bitmask tile: record %d: mask bit %d beyond the %d lanes", r, j, lanes)
			}
			if at >= len(tile) {
				return nil, fmt.Errorf("bitmask tile: record %d: the mask sets more lanes than values follow (a run past the end)", r)
			}
			if tile[at] == 0 {
				return nil, fmt.Errorf("bitmask tile: record %d lane %d: a stored zero", r, j)
			}
			row[j] = int64(int8(tile[at]))
			at++
		}
		out = append(out, row)
	}
	if at != len(tile) {
		return nil, fmt.Errorf("bitmask tile: %d bytes after the last of %d records", len(tile)-at, rows)
	}
	return out, nil
}
