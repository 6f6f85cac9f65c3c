package verify

// PredictGEMMCycles is the analytical cycle model of the matrix unit: the
// number of cycles, from the end of reset to the last result accepted, that
// RunGEMM takes with streams that never stall. It follows the tiling of
// PlanGEMM and the unit's issue rules (like SCALE-Sim's per-tile timing):
//
// WS: the first weight tile loads in rows cycles; after that a tile of m
// activation rows occupies max(m, rows) cycles, because the next tile's
// weights load into the shadow registers while this one computes. The last
// row then drains through the array (rows + cols) and the accumulator and
// output registers (3).
//
// OS: a tile is K beats; the last beats of consecutive tiles are at least
// max(rows, cols) cycles apart (results must be read out before the next
// tile overwrites them); the last tile drains through cols, reads out its
// rows (only the real ones: padding rows are skipped) and leaves through the
// same 3 registers.
func PredictGEMMCycles(cfg MXUConfig, M, K, N int) int {
	R, C := cfg.Rows, cfg.Cols
	nTiles := (N + C - 1) / C
	if cfg.Dataflow == "os" {
		tiles := ((M + R - 1) / R) * nTiles
		gap := max(R, C)
		last := K - 1
		for t := 1; t < tiles; t++ {
			last += max(K, gap)
		}
		return last + C + min(R, M-(M-1)/R*R) + 3
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
	return end + R + C + 3
}
