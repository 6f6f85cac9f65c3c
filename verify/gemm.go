package verify

import (
	"context"
	"fmt"
	"math/big"
)

// GEMMPlan is a GEMM lowered onto the matrix unit's streams: the beats to
// send and where each result beat belongs.
type GEMMPlan struct {
	M, K, N int
	W, A    []*big.Int // w_in and a_in payloads in order
	Out     []OutRow   // per c_out beat: the C row and first column it fills
	NTiles  int        // column tiles of B (parameter sets a layer needs)
}

// planMode says where results go: raw accumulator rows to c_out, or, for a
// layer, into the pipeline with the column tile's index as the tag.
type planMode struct{ layer bool }

// OutRow places one result beat: C[Row][Col0 + j] = lane j, for j < Lanes.
type OutRow struct {
	Row, Col0, Lanes int
	Addr             int // accumulator address the beat must carry
}

// packer builds payloads for one stream layout.
type packer struct{ s *StreamLayout }

func (p packer) pack(fields map[string][]int64) *big.Int {
	v := new(big.Int)
	for _, f := range p.s.Fields {
		vals := fields[f.Name]
		for k := 0; k < f.Lanes; k++ {
			var x int64
			if k < len(vals) {
				x = vals[k]
			}
			lane := FromInt(x, f.Width)
			v.Or(v, lane.Lsh(lane, uint(f.LSB+k*f.Width)))
		}
	}
	return v
}

func unpackField(s *StreamLayout, v *big.Int, name string) []int64 {
	f := s.Field(name)
	lanes := new(big.Int).Rsh(v, uint(f.LSB))
	return Unpack(lanes, f.Lanes, f.Width, f.Signed)
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// PlanGEMM tiles C = A × B for the configuration. WS: for each chunk of at
// most acc_depth rows of A, each tile of cols columns of B and each tile of
// rows of K, load the weight tile (rows beats) and stream the chunk's rows
// (accumulating over K tiles, emitting on the last). OS: for each tile of
// rows rows of A and cols columns of B, stream K beats of one A column and
// one B row. Edges are zero-padded; padded outputs are dropped.
func PlanGEMM(man *Manifest, a, b Matrix) (*GEMMPlan, error) {
	return planGEMM(man, a, b, planMode{})
}

func planGEMM(man *Manifest, a, b Matrix, mode planMode) (*GEMMPlan, error) {
	cfg := man.Config
	if err := cfg.CheckOperands(a, b); err != nil {
		return nil, err
	}
	M, K := a.Dims()
	_, N := b.Dims()
	R, C := cfg.Rows, cfg.Cols
	wp, ap := packer{man.Stream("w_in")}, packer{man.Stream("a_in")}
	p := &GEMMPlan{M: M, K: K, N: N, NTiles: (N + C - 1) / C}
	raw := b2i(!mode.layer)
	tag := func(n0 int) int64 {
		if mode.layer {
			return int64(n0 / C)
		}
		return 0
	}
	at := func(x Matrix, i, j int) int64 {
		if i < len(x) && j < len(x[i]) {
			return x[i][j]
		}
		return 0
	}
	if cfg.Dataflow == "os" {
		// Column tiles outermost, so a layer's output channels arrive as
		// whole feature maps, one per tile (what pooling needs).
		for n0 := 0; n0 < N; n0 += C {
			for m0 := 0; m0 < M; m0 += R {
				for k := 0; k < K; k++ {
					acts := make([]int64, R)
					for i := range acts {
						acts[i] = at(a, m0+i, k)
					}
					ws := make([]int64, C)
					for j := range ws {
						ws[j] = at(b, k, n0+j)
					}
					rows := min(R, M-m0)
					p.A = append(p.A, ap.pack(map[string][]int64{"acts": acts, "addr": {0},
						"first": {b2i(k == 0)}, "acc": {0}, "last": {b2i(k == K-1)}, "rows": {int64(rows)}, "raw": {raw}, "tag": {tag(n0)}}))
					p.W = append(p.W, wp.pack(map[string][]int64{"weights": ws}))
				}
				for i := 0; i < min(R, M-m0); i++ {
					p.Out = append(p.Out, OutRow{Row: m0 + i, Col0: n0, Lanes: min(C, N-n0), Addr: i})
				}
			}
		}
		return p, nil
	}
	chunk := cfg.AccDepth
	for n0 := 0; n0 < N; n0 += C {
		for mc := 0; mc < M; mc += chunk {
			mEnd := min(M, mc+chunk)
			kTiles := (K + R - 1) / R
			for kt := 0; kt < kTiles; kt++ {
				k0 := kt * R
				for i := 0; i < R; i++ {
					ws := make([]int64, C)
					for j := range ws {
						ws[j] = at(b, k0+i, n0+j)
					}
					p.W = append(p.W, wp.pack(map[string][]int64{"weights": ws}))
				}
				for m := mc; m < mEnd; m++ {
					acts := make([]int64, R)
					for i := range acts {
						acts[i] = at(a, m, k0+i)
					}
					last := kt == kTiles-1
					p.A = append(p.A, ap.pack(map[string][]int64{"acts": acts, "addr": {int64(m - mc)},
						"first": {b2i(m == mc)}, "acc": {b2i(kt > 0)}, "last": {b2i(last)}, "raw": {raw}, "tag": {tag(n0)}}))
					if last {
						p.Out = append(p.Out, OutRow{Row: m, Col0: n0, Lanes: min(C, N-n0), Addr: m - mc})
					}
				}
			}
		}
	}
	return p, nil
}

// GEMMOptions tunes a GEMM run.
type GEMMOptions struct {
	Sim       Options
	SinkStall func(cycle int) bool // random backpressure on c_out
	WStall    func(cycle int) bool // gaps in the weight stream
	AStall    func(cycle int) bool // gaps in the activation stream
	MaxCycles int                  // 0: derived from the cycle model
}

// GEMMRun is the outcome of one GEMM on the RTL.
type GEMMRun struct {
	C           Matrix
	Cycles      int
	Predicted   int     // the analytical cycle model's prediction
	Ideal       float64 // MACs / (rows × cols)
	Utilization float64 // Ideal / Cycles
	Result      *Result
}

// RunGEMM runs C = A × B on the generated matrix unit in dir.
func RunGEMM(ctx context.Context, sim Simulator, man *Manifest, dir string, a, b Matrix, opt GEMMOptions) (*GEMMRun, error) {
	plan, err := PlanGEMM(man, a, b)
	if err != nil {
		return nil, err
	}
	pred := PredictGEMMCycles(man.Config, plan.M, plan.K, plan.N)
	limit := opt.MaxCycles
	if limit == 0 {
		limit = 4*pred + 10_000
	}
	top := man.SimTop(dir)
	stim := streamStimulus(top, map[string][]*big.Int{"w_in": plan.W, "a_in": plan.A},
		map[string]func(int) bool{"w_in": opt.WStall, "a_in": opt.AStall, "c_out": opt.SinkStall},
		map[string]int{"c_out": len(plan.Out)})
	stim.MaxCycles = limit
	res, err := sim.Run(ctx, top, stim, opt.Sim)
	if err != nil {
		return nil, err
	}
	cs := man.Stream("c_out")
	c := NewMatrix(plan.M, plan.N)
	for i, beat := range res.Sinks[sinkIndex(top, "c_out")] {
		o := plan.Out[i]
		if addr := unpackField(cs, beat.Data, "addr")[0]; addr != int64(o.Addr) {
			return nil, fmt.Errorf("gemm: result beat %d (cycle %d) carries accumulator address %d, want %d", i, beat.Cycle, addr, o.Addr)
		}
		if o.Row < 0 {
			continue
		}
		sums := unpackField(cs, beat.Data, "sums")
		for j := 0; j < o.Lanes; j++ {
			c[o.Row][o.Col0+j] = sums[j]
		}
	}
	macs := float64(plan.M) * float64(plan.K) * float64(plan.N)
	ideal := macs / float64(man.Config.Rows*man.Config.Cols)
	return &GEMMRun{C: c, Cycles: res.Cycles, Predicted: pred, Ideal: ideal, Utilization: ideal / float64(res.Cycles), Result: res}, nil
}

// streamStimulus builds a stimulus for top's streams by name: payloads for
// sources, stall patterns for either, and expected beats for sinks. Streams
// not named get nothing.
func streamStimulus(top *Top, payloads map[string][]*big.Int, stalls map[string]func(int) bool, expect map[string]int) *Stimulus {
	s := &Stimulus{}
	for _, src := range top.Sources {
		s.Sources = append(s.Sources, payloads[src.Name])
		s.SourceStall = append(s.SourceStall, stalls[src.Name])
	}
	for _, snk := range top.Sinks {
		s.SinkStall = append(s.SinkStall, stalls[snk.Name])
		s.Expect = append(s.Expect, expect[snk.Name])
	}
	return s
}

func sinkIndex(top *Top, name string) int {
	for i, s := range top.Sinks {
		if s.Name == name {
			return i
		}
	}
	return -1
}
