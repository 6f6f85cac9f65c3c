package sparse

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/quant"
)

// fcLayer is an FC layer with k inputs and n outputs whose GEMM matrix B
// (K×N) is b(k, n).
func fcLayer(k, n int, b func(k, n int) int8) *compile.Layer {
	l := &compile.Layer{Kind: compile.FC, WeightShape: quant.Shape{N: n, H: 1, W: 1, C: k},
		Weights: make([]int8, n*k), Bias: make([]int32, n),
		Input: make([]int8, k), InShape: quant.Shape{N: 1, H: 1, W: 1, C: k}}
	for o := range n {
		for i := range k {
			l.Weights[o*k+i] = b(i, o)
		}
	}
	return l
}

// bruteZeroTiles tiles compile's own lowering of the layer (B).
func bruteZeroTiles(t *testing.T, l *compile.Layer, tileK, tileN int) [][]bool {
	t.Helper()
	_, b, _, err := l.Lower()
	if err != nil {
		t.Fatal(err)
	}
	K, N := b.Dims()
	var zero [][]bool
	for k0 := 0; k0 < K; k0 += tileK {
		var row []bool
		for n0 := 0; n0 < N; n0 += tileN {
			z := true
			for k := k0; k < min(K, k0+tileK); k++ {
				for n := n0; n < min(N, n0+tileN); n++ {
					z = z && b[k][n] == 0
				}
			}
			row = append(row, z)
		}
		zero = append(zero, row)
	}
	return zero
}

// TestZeroTiles counts the zero tiles of a layer whose B is zero outside
// a known set of 4x4 blocks, for tilings that fit the blocks and some that
// do not.
func TestZeroTiles(t *testing.T) {
	// B is 12x8 (K×N): nonzero only in 4x4 block (1, 0) and one value in
	// block (2, 1), at (11, 7).
	l := fcLayer(12, 8, func(k, n int) int8 {
		if k >= 4 && k < 8 && n < 4 || k == 11 && n == 7 {
			return -128
		}
		return 0
	})
	for _, tc := range []struct {
		k, n        int
		zero, total int
	}{
		{4, 4, 4, 6},
		{12, 8, 0, 1},
		{1, 1, 96 - 17, 96},
		{8, 8, 0, 2},
		{5, 3, 9 - 5, 9}, // K tiles 0-4, 5-9, 10-11; N tiles 0-2, 3-5, 6-7
		{100, 100, 0, 1},
	} {
		zero, total, err := ZeroTiles(l, tc.k, tc.n)
		if err != nil {
			t.Fatal(err)
		}
		if zero != tc.zero || total != tc.total {
			t.Errorf("%dx%d tiles: %d of %d zero, want %d of %d", tc.k, tc.n, zero, total, tc.zero, tc.total)
		}
		m, err := ZeroTileMap(l, tc.k, tc.n)
		if err != nil {
			t.Fatal(err)
		}
		if want := bruteZeroTiles(t, l, tc.k, tc.n); !slices.EqualFunc(m, want, slices.Equal) {
			t.Errorf("%dx%d tiles: map %v, want %v", tc.k, tc.n, m, want)
		}
	}
	if _, _, err := ZeroTiles(l, 0, 4); err == nil || err.Error() != "zero tiles: tile 0x4, want positive sizes" {
		t.Errorf("0x4 tiles: %v", err)
	}
	bad := fcLayer(3, 2, func(int, int) int8 { return 1 })
	bad.Weights = bad.Weights[:5]
	if _, _, err := ZeroTiles(bad, 2, 2); err == nil || err.Error() != "zero tiles: layer weights: 5 values for shape 2x1x1x3" {
		t.Errorf("short weights: %v", err)
	}
}

// TestZeroTilesLayers compares ZeroTileMap with tiles of compile's own
// lowering for random block-sparse layers and every committed model's
// hardware layers (convolutions included).
func TestZeroTilesLayers(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	tilings := [][2]int{{1, 1}, {3, 2}, {8, 8}, {16, 4}, {25, 6}}
	for i := range 20 {
		k, n := 1+r.IntN(60), 1+r.IntN(40)
		bk, bn := 1+r.IntN(8), 1+r.IntN(8)
		keep := map[[2]int]bool{}
		l := fcLayer(k, n, func(i, j int) int8 {
			blk := [2]int{i / bk, j / bn}
			if _, ok := keep[blk]; !ok {
				keep[blk] = r.IntN(3) == 0
			}
			if keep[blk] {
				return int8(r.IntN(256) - 128)
			}
			return 0
		})
		for _, tl := range append(tilings, [2]int{bk, bn}) {
			m, err := ZeroTileMap(l, tl[0], tl[1])
			if err != nil {
				t.Fatal(err)
			}
			if want := bruteZeroTiles(t, l, tl[0], tl[1]); !slices.EqualFunc(m, want, slices.Equal) {
				t.Fatalf("random layer %d (%dx%d, blocks %dx%d), %dx%d tiles: map %v, want %v", i, k, n, bk, bn, tl[0], tl[1], m, want)
			}
		}
	}
	for _, md := range committedModels(t) {
		if md.net == nil {
			continue
		}
		for _, op := range md.net.Ops {
			if !op.OnHardware() {
				continue
			}
			in := op.Layer.InShape
			in.N = 1
			l := op.Bind(make([]int8, in.Len()), in)
			for _, tl := range tilings {
				m, err := ZeroTileMap(l, tl[0], tl[1])
				if err != nil {
					t.Fatal(err)
				}
				if want := bruteZeroTiles(t, l, tl[0], tl[1]); !slices.EqualFunc(m, want, slices.Equal) {
					t.Fatalf("%s %s, %dx%d tiles: the map differs from compile's lowering", md.file, op.Name, tl[0], tl[1])
				}
			}
		}
	}
}
