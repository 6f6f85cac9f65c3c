package sparse

import (
	"fmt"
	"strings"

	"github.com/tpugen/tpugen/compile"
)

// LayerMatrix is a layer's weights as the formats store them: one row per
// output channel, kH·kW·Cin columns in (fy, fx, c) order (a copy of
// l.Weights, OHWI). Its transpose is the GEMM's B.
func LayerMatrix(l *compile.Layer) (Matrix, error) {
	s := l.WeightShape
	m := Matrix{Rows: s.N, Cols: s.H * s.W * s.C}
	if m.Rows <= 0 || m.Cols <= 0 || len(l.Weights) != m.Rows*m.Cols {
		return Matrix{}, fmt.Errorf("layer weights: %d values for shape %v", len(l.Weights), s)
	}
	m.Data = append([]int8(nil), l.Weights...)
	return m, m.Check()
}

// ZeroTileMap cuts the layer's GEMM weight matrix B (K×N: K = kH·kW·Cin
// rows, one column per output channel) into tiles of tileK rows by tileN
// columns from the top left (the last tiles of each dimension may be
// smaller) and reports which are all zero: zero[i][j] covers rows
// i·tileK… and columns j·tileN…. A compiler can skip those tiles: they
// add nothing to any output.
func ZeroTileMap(l *compile.Layer, tileK, tileN int) ([][]bool, error) {
	if tileK <= 0 || tileN <= 0 {
		return nil, fmt.Errorf("zero tiles: tile %dx%d, want positive sizes", tileK, tileN)
	}
	w, err := LayerMatrix(l)
	if err != nil {
		return nil, fmt.Errorf("zero tiles: %w", err)
	}
	// w is N×K, B's transpose: B[k][n] = w.Data[n*K+k].
	K, N := w.Cols, w.Rows
	zero := make([][]bool, (K+tileK-1)/tileK)
	for i := range zero {
		zero[i] = make([]bool, (N+tileN-1)/tileN)
		for j := range zero[i] {
			zero[i][j] = true
		}
	}
	for n := range N {
		for k, v := range w.Data[n*K : (n+1)*K] {
			if v != 0 {
				zero[k/tileK][n/tileN] = false
			}
		}
	}
	return zero, nil
}

// ZeroTiles counts the all-zero tiles of ZeroTileMap's tiling, and all
// tiles.
func ZeroTiles(l *compile.Layer, tileK, tileN int) (zero, total int, err error) {
	m, err := ZeroTileMap(l, tileK, tileN)
	if err != nil {
		return 0, 0, err
	}
	for _, row := range m {
		for _, z := range row {
			if z {
				zero++
			}
			total++
		}
	}
	return zero, total, nil
}

// LayerSize is what each format takes for one hardware layer's weights.
type LayerSize struct {
	Name     string // the op's name in the source model
	Layer    string // the op's description ("conv 5x5/1 1->6 relu")
	Rows     int    // output channels
	Cols     int    // kH·kW·Cin
	Nonzeros int
	// Dense is Rows·Cols bytes (one int8 per weight, no header).
	Dense int
	// Bytes is each format's stream length, header included, indexed by
	// Format (Bytes[Bitmask] …; index 0 is unused).
	Bytes [CSC + 1]int
}

// Sparsity is the fraction of zero weights.
func (s LayerSize) Sparsity() float64 {
	if s.Dense == 0 {
		return 0
	}
	return 1 - float64(s.Nonzeros)/float64(s.Dense)
}

// Report encodes every hardware layer's weights of net in each format and
// returns their sizes, in op order.
func Report(net *compile.Network) ([]LayerSize, error) {
	var sizes []LayerSize
	for _, op := range net.Ops {
		if !op.OnHardware() {
			continue
		}
		m, err := LayerMatrix(op.Layer)
		if err != nil {
			return nil, fmt.Errorf("report %s: layer %s: %w", net.Name, op.Name, err)
		}
		s := LayerSize{Name: op.Name, Layer: op.Describe(), Rows: m.Rows, Cols: m.Cols, Nonzeros: m.Nonzeros(), Dense: len(m.Data)}
		for _, f := range Formats {
			b, err := Encode(f, m)
			if err != nil {
				return nil, fmt.Errorf("report %s: layer %s: %w", net.Name, op.Name, err)
			}
			s.Bytes[f] = len(b)
		}
		sizes = append(sizes, s)
	}
	return sizes, nil
}

// Table formats sizes as a Markdown table, one row per layer and a total:
// the layer, its matrix, sparsity, dense bytes and each format's bytes
// with its ratio to dense.
func Table(sizes []LayerSize) string {
	var sb strings.Builder
	sb.WriteString("| layer | matrix | sparsity | dense |")
	for _, f := range Formats {
		fmt.Fprintf(&sb, " %v |", f)
	}
	sb.WriteString("\n|---|---|---:|---:|")
	for range Formats {
		sb.WriteString("---:|")
	}
	sb.WriteString("\n")
	total := LayerSize{Name: "total"}
	row := func(s LayerSize, matrix string) {
		fmt.Fprintf(&sb, "| %s | %s | %.1f%% | %d |", s.Name, matrix, 100*s.Sparsity(), s.Dense)
		for _, f := range Formats {
			fmt.Fprintf(&sb, " %d (%.2f) |", s.Bytes[f], float64(s.Bytes[f])/float64(max(1, s.Dense)))
		}
		sb.WriteString("\n")
	}
	for _, s := range sizes {
		row(s, fmt.Sprintf("%dx%d", s.Rows, s.Cols))
		total.Nonzeros += s.Nonzeros
		total.Dense += s.Dense
		for _, f := range Formats {
			total.Bytes[f] += s.Bytes[f]
		}
	}
	row(total, "")
	return sb.String()
}
