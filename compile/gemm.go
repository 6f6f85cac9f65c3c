package compile

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/tpugen/tpugen/arch"
)

// GEMMPlan is a GEMM lowered onto the matrix unit's streams: the beats to
// send and where each result beat belongs.
type GEMMPlan struct {
	M, K, N int
	W, A    []*big.Int // w_in and a_in payloads in order
	Out     []OutRow   // per result beat: the C row and first column it fills
	NTiles  int        // column tiles of B (parameter sets a layer needs)
	// KTiles is, per column tile (WS), the K tiles streamed: all of them,
	// or for a layer only those whose weights are not all zero.
	KTiles []int
}

// OutRow places one result beat: C[Row][Col0 + j] = lane j, for j < Lanes.
type OutRow struct {
	Row, Col0, Lanes int
	Addr             int // accumulator address the beat must carry
}

// beats packs payloads of one stream, keeping the first packing error.
type beats struct {
	l   *arch.Layout
	out []*big.Int
	err error
}

func (b *beats) add(v arch.Values) {
	p, err := b.l.Pack(v)
	if err != nil && b.err == nil {
		b.err = fmt.Errorf("stream %s: %w", b.l.Name, err)
	}
	b.out = append(b.out, p)
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// PlanGEMM tiles C = A × B for the manifest's matrix unit, with results
// leaving raw on c_out. WS: for each chunk of at most acc_depth rows of A,
// each tile of cols columns of B and each tile of rows of K, load the
// weight tile (rows beats) and stream the chunk's rows (accumulating over K
// tiles, emitting on the last). OS: for each tile of rows rows of A and cols
// columns of B, stream K beats of one A column and one B row. Edges are
// zero-padded; padded outputs are dropped.
func PlanGEMM(man *arch.Manifest, a, b Matrix) (*GEMMPlan, error) {
	return planGEMM(man, a, b, false)
}

// planGEMM plans the GEMM; layer sends results into the pipeline with the
// column tile's index as the parameter-set tag instead of raw to c_out.
func planGEMM(man *arch.Manifest, a, b Matrix, layer bool) (*GEMMPlan, error) {
	cfg := man.Config
	if man.Core != nil { // its manifest has none of the streams below
		return nil, fmt.Errorf("%s: the top %s is a core (streams %s, %s, %s), not a matrix unit: it runs programs, not GEMMs or layers",
			cfg.Name, man.Top, arch.StreamI, arch.StreamD, arch.StreamO)
	}
	if err := CheckOperands(cfg, a, b); err != nil {
		return nil, err
	}
	if layer && !cfg.Requant {
		return nil, fmt.Errorf("layer: configuration %s has no pipeline (set requant: true)", cfg.Name)
	}
	M, K := a.Dims()
	_, N := b.Dims()
	R, C := cfg.Rows, cfg.Cols
	wb, ab := &beats{l: DenseWeightLayout(man)}, &beats{l: man.Stream(arch.StreamA)}
	p := &GEMMPlan{M: M, K: K, N: N, NTiles: (N + C - 1) / C}
	a, b = padBinaryK(cfg, a, b)
	// control fills the fields every a_in beat carries; the pipeline's
	// fields exist only when there is a pipeline.
	control := func(v arch.Values, n0 int) arch.Values {
		if cfg.Requant {
			v["raw"] = []int64{b2i(!layer)}
			v["tag"] = []int64{0}
			if layer {
				v["tag"][0] = int64(n0 / C)
			}
		}
		return v
	}
	at := func(x Matrix, i, j int) int64 {
		if i < len(x) && j < len(x[i]) {
			return x[i][j]
		}
		return 0
	}
	if cfg.Dataflow.IsOS() {
		// Column tiles outermost, so a layer's output channels arrive as
		// whole feature maps, one per tile (what pooling needs).
		for n0 := 0; n0 < N; n0 += C {
			for m0 := 0; m0 < M; m0 += R {
				rows := min(R, M-m0)
				for k := 0; k < K; k++ {
					acts := make([]int64, R)
					for i := range acts {
						acts[i] = at(a, m0+i, k)
					}
					ws := make([]int64, C)
					for j := range ws {
						ws[j] = at(b, k, n0+j)
					}
					ab.add(control(arch.Values{"acts": acts, "addr": {0}, "first": {b2i(k == 0)}, "acc": {0},
						"last": {b2i(k == K-1)}, "rows": {int64(rows)}}, n0))
					wb.add(arch.Values{"weights": ws})
				}
				for i := 0; i < rows; i++ {
					p.Out = append(p.Out, OutRow{Row: m0 + i, Col0: n0, Lanes: min(C, N-n0), Addr: i})
				}
			}
		}
	} else {
		chunk := cfg.AccDepth
		kTiles := (K + R - 1) / R
		for n0 := 0; n0 < N; n0 += C {
			for mc := 0; mc < M; mc += chunk {
				mEnd := min(M, mc+chunk)
				// A binary unit's zero weight lane packs -1s, not zeros:
				// it skips no tile.
				live := liveKTiles(b, n0, R, C, kTiles, layer && !cfg.MAC.IsBinary())
				for li, kt := range live {
					k0 := kt * R
					for i := 0; i < R; i++ {
						ws := make([]int64, C)
						for j := range ws {
							ws[j] = at(b, k0+i, n0+j)
						}
						wb.add(arch.Values{"weights": ws})
					}
					last := li == len(live)-1
					for m := mc; m < mEnd; m++ {
						acts := make([]int64, R)
						for i := range acts {
							acts[i] = at(a, m, k0+i)
						}
						ab.add(control(arch.Values{"acts": acts, "addr": {int64(m - mc)}, "first": {b2i(m == mc)},
							"acc": {b2i(li > 0)}, "last": {b2i(last)}}, n0))
						if last {
							p.Out = append(p.Out, OutRow{Row: m, Col0: n0, Lanes: min(C, N-n0), Addr: m - mc})
						}
					}
				}
				if mc == 0 {
					p.KTiles = append(p.KTiles, len(live))
				}
			}
		}
	}
	if wb.err != nil || ab.err != nil {
		return nil, fmt.Errorf("gemm plan: %w", errors.Join(wb.err, ab.err))
	}
	p.W, p.A = wb.out, ab.out
	return p, nil
}
