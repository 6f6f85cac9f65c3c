package verify

import "github.com/tpugen/tpugen/arch"

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
	cfg, d := man.Config, man.Derived
	R, C := cfg.Rows, cfg.Cols
	nTiles := (N + C - 1) / C
	if cfg.Dataflow.IsOS() {
		tiles := ((M + R - 1) / R) * nTiles
		last := K - 1
		for t := 1; t < tiles; t++ {
			last += max(K, d.OSGap)
		}
		return last + d.Latency + min(R, M-(M-1)/R*R)
	}
	kTiles := (K + R - 1) / R
	start := R // first activation beat: after the first weight tile loaded
	end := 0
	for mc := 0; mc < M; mc += cfg.AccDepth {
		m := min(M-mc, cfg.AccDepth)
		for t := 0; t < nTiles*kTiles; t++ {
			end = start + m - 1
			start += max(m, R)
		}
	}
	return end + d.Latency + 1
}
