package verify

import (
	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
)

// PredictGEMMCycles is the analytical cycle model of the matrix unit: the
// number of cycles, from the end of reset to the last result accepted, that
// RunGEMM takes with streams that never stall. It follows the tiling of
// compile.PlanGEMM and the unit's issue rules (like SCALE-Sim's per-tile
// timing), with the timing facts (latency, OS gap) read from the manifest:
//
// WS: the first weight tile loads in rows cycles; after that a tile of m
// activation rows occupies max(m, rows) cycles, because the next tile's
// weights load into the shadow registers while this one computes. The last
// row's result leaves Latency cycles after its beat.
//
// OS: a tile is K beats; the last beats of consecutive tiles are at least
// OSGap cycles apart (results must be read out before the next tile
// overwrites them); the last tile's row 0 leaves Latency cycles after its
// last beat, and its other real rows follow one per cycle (padding rows are
// skipped).
func PredictGEMMCycles(man *arch.Manifest, M, K, N int) int {
	return predict(man, M, K, N, 0, M-1, 0, nil)
}

// PredictLayerCycles is the cycle model of a layer (RunLayer): the plan's
// parameter words go first on p_in, one per cycle, and activations wait
// until they are all in; results then pass the pipeline's registers on
// their way to y_out. A pooled map's last output pixel leaves with the last
// input row its window reads (VALID pooling may leave trailing rows
// unread), and the run ends when that beat is out and every input beat is
// in.
func PredictLayerCycles(man *arch.Manifest, plan *compile.LayerPlan) int {
	g := plan.GEMM
	if man.Config.WeightCompression.IsCompressed() {
		if n, err := predictCompressed(man, g, len(plan.Params), plan.LastRow, man.Derived.PipelineLatency); err == nil {
			return n
		}
	}
	return predict(man, g.M, g.K, g.N, len(plan.Params), plan.LastRow, man.Derived.PipelineLatency, g.KTiles)
}

// predict is the GEMM's cycles when no activation beat may fire before
// cycle hold, when the last result needed is row lastRow of the last
// column tile and results take extra cycles beyond c_out. It walks the
// tiles in compile.PlanGEMM's order; streamed, when given, is the number
// of K tiles each column tile streams (WS layers skip all-zero ones).
func predict(man *arch.Manifest, M, K, N, hold, lastRow, extra int, streamed []int) int {
	cfg, d := man.Config, man.Derived
	R, C := cfg.Rows, cfg.Cols
	lastBeat, emit := 0, 0 // the final a_in beat; when lastRow leaves c_out
	if cfg.Dataflow.IsOS() {
		// A tile is K beats; the last beats of consecutive tiles are at
		// least OSGap apart; a tile's row i leaves Latency + i cycles after
		// its last beat (padding rows are skipped).
		last := hold + K - 1
		first := true
		for n0 := 0; n0 < N; n0 += C {
			for m0 := 0; m0 < M; m0 += R {
				if !first {
					last += max(K, d.OSGap)
				}
				first = false
				if n0+C >= N && lastRow >= m0 && lastRow < m0+R {
					emit = last + d.Latency + lastRow - m0
				}
			}
		}
		lastBeat = last
	} else {
		// The first weight tile loads in rows cycles; a tile of m activation
		// rows then occupies max(m, rows) cycles while the next tile's
		// weights load into the shadow registers; a row leaves Latency
		// cycles after its beat in the last K tile.
		kTiles := (K + R - 1) / R
		start := max(R, hold)
		for n0 := 0; n0 < N; n0 += C {
			for mc := 0; mc < M; mc += cfg.AccDepth {
				m := min(M-mc, cfg.AccDepth)
				kTiles := kTiles
				if t := n0 / C; t < len(streamed) {
					kTiles = streamed[t]
				}
				for kt := 0; kt < kTiles; kt++ {
					if n0+C >= N && kt == kTiles-1 && lastRow >= mc && lastRow < mc+m {
						emit = start + lastRow - mc + d.Latency
					}
					lastBeat = start + m - 1
					start += max(m, R)
				}
			}
		}
	}
	return max(lastBeat, emit+extra) + 1
}
