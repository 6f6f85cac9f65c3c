package verify

import (
	"context"
	"fmt"
	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/verify/sim"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// GEMMCase is one regression case: a named GEMM and how to drive it.
type GEMMCase struct {
	Index  int
	Name   string
	A, B   compile.Matrix
	Stalls bool // random gaps on the inputs and backpressure on the output
	// Long: the output also stops for long bursts, longer than the unit's
	// latency, so every result buffer between the array and the sink fills.
	Long bool
	seed uint64
}

// caseSeed derives a case's own seed so any case can be rerun alone.
func caseSeed(seed uint64, index int) uint64 {
	return seed*0x9E3779B97F4A7C15 + uint64(index)*0xBF58476D1CE4E5B9 + 1
}

// MakeCase builds case index of a regression seeded with seed. The first
// cases are directed (extremes, zeros, long K, degenerate shapes); the rest
// are random shapes (often not multiples of the array) and values, every
// third one with random stalls.
func MakeCase(cfg arch.Config, seed uint64, index int) GEMMCase {
	s := caseSeed(seed, index)
	r := rand.New(rand.NewPCG(s, s^0x5851F42D4C957F2D))
	R, C := cfg.Rows, cfg.Cols
	ilo, ihi := arch.OperandRange(cfg.InputBits, cfg.InputSigned)
	wlo, whi := arch.OperandRange(cfg.WeightBits, cfg.WeightSigned)
	fill := func(rows, cols int, f func(i, j int) int64) compile.Matrix {
		m := compile.NewMatrix(rows, cols)
		for i := range m {
			for j := range m[i] {
				m[i][j] = f(i, j)
			}
		}
		return m
	}
	rnd := func(lo, hi int64) func(int, int) int64 {
		return func(int, int) int64 { return lo + r.Int64N(hi-lo+1) }
	}
	konst := func(v int64) func(int, int) int64 { return func(int, int) int64 { return v } }
	c := GEMMCase{Index: index, seed: s}
	M, K, N := R+1, R+2, C+1
	switch index {
	case 0:
		c.Name = "zeros"
		c.A, c.B = fill(M, K, konst(0)), fill(K, N, konst(0))
	case 1:
		c.Name = "all-min"
		c.A, c.B = fill(M, K, konst(ilo)), fill(K, N, konst(wlo))
	case 2:
		c.Name = "all-max"
		c.A, c.B = fill(M, K, konst(ihi)), fill(K, N, konst(whi))
	case 3:
		c.Name = "min-times-max"
		c.A, c.B = fill(M, K, konst(ilo)), fill(K, N, konst(whi))
	case 4:
		c.Name = "long-k"
		K = 9*R + 3 // accumulates over ten K tiles
		c.A, c.B = fill(2, K, konst(ihi)), fill(K, N, konst(wlo))
	case 5:
		c.Name = "long-k-random"
		K = 7*R + 1
		c.A, c.B = fill(R+3, K, rnd(ilo, ihi)), fill(K, 2*C+1, rnd(wlo, whi))
	case 6:
		c.Name = "gemv"
		c.A, c.B = fill(1, 2*R+1, rnd(ilo, ihi)), fill(2*R+1, 2*C+3, rnd(wlo, whi))
	case 7:
		c.Name = "single-column"
		c.A, c.B = fill(2*R+3, R+1, rnd(ilo, ihi)), fill(R+1, 1, rnd(wlo, whi))
	case 8:
		c.Name = "k1"
		c.A, c.B = fill(R+2, 1, rnd(ilo, ihi)), fill(1, C+2, rnd(wlo, whi))
	case 9:
		c.Name = "back-to-back-stalls"
		c.A, c.B = fill(8*R, 2*R, rnd(ilo, ihi)), fill(2*R, 2*C, rnd(wlo, whi))
		c.Stalls, c.Long = true, true
	default:
		M, K, N = 1+r.IntN(3*R+2), 1+r.IntN(3*R+2), 1+r.IntN(3*C+2)
		c.A, c.B = fill(M, K, rnd(ilo, ihi)), fill(K, N, rnd(wlo, whi))
		c.Stalls = index%3 == 0
		c.Name = "random"
	}
	m, k := c.A.Dims()
	_, n := c.B.Dims()
	c.Name = fmt.Sprintf("%s %dx%dx%d", c.Name, m, k, n)
	if c.Stalls {
		c.Name += " stalls"
	}
	return c
}

// Options returns the driving options of the case: its stall patterns.
func (c GEMMCase) Options() GEMMOptions {
	if !c.Stalls {
		return GEMMOptions{}
	}
	pattern := func(salt uint64, p float64) func(int) bool {
		return func(cycle int) bool {
			x := rand.New(rand.NewPCG(c.seed^salt, uint64(cycle)))
			return x.Float64() < p
		}
	}
	o := GEMMOptions{WStall: pattern(1, 0.2), AStall: pattern(2, 0.25), SinkStall: pattern(3, 0.3)}
	if c.Long {
		// Every other window of 2*(m+n) cycles the sink takes nothing.
		m, _ := c.A.Dims()
		_, n := c.B.Dims()
		w := 2 * (m + n)
		random := o.SinkStall
		o.SinkStall = func(cycle int) bool { return cycle/w%2 == 1 || random(cycle) }
	}
	return o
}

// RegressOptions configures a regression.
type RegressOptions struct {
	Sims   []sim.Simulator
	Cases  int
	Layers int // layer cases after the GEMM cases (configurations with the pipeline)
	Seed   uint64
	Only   int    // >= 0: run just this case index; -1: all
	Repro  string // command prefix for reproduction lines, e.g. "tpugen regress -config c.json"
	Sim    sim.Options
	Log    io.Writer // progress and failures, one line each
	// VCDDir, when set, receives a waveform of every failing case: the case
	// is run again on the same simulator with a VCD dump.
	VCDDir string
	// Shard, when Shard.Count > 1, runs only the cases of one shard (see
	// Shard); the shards of one regression together run each case once.
	Shard Shard
	// Jobs runs up to this many cases at a time (0 or 1: one). Results,
	// failures and progress are reported in case order whatever the
	// number of jobs, so a run prints the same lines with any Jobs.
	Jobs int
	// NewSims, when set and Jobs > 1, gives each job its own simulators
	// (called once per job, before any runs): a Verilator session pool
	// runs one simulation at a time, so jobs sharing one would wait on
	// each other. Without it every job uses Sims.
	NewSims func() []sim.Simulator
}

// Shard selects part K of N of a regression (1 <= K <= N): case i belongs
// to shard i mod N + 1. Each case's stimulus derives from the seed and its
// index alone, so a case runs the same in any shard; round robin spreads the
// directed, random and layer cases evenly. The zero value is the whole run.
type Shard struct {
	Index, Count int // K and N
}

// ParseShard parses "K/N".
func ParseShard(s string) (Shard, error) {
	var sh Shard
	k, n, ok := strings.Cut(s, "/")
	var err1, err2 error
	if ok {
		sh.Index, err1 = strconv.Atoi(k)
		sh.Count, err2 = strconv.Atoi(n)
	}
	if !ok || err1 != nil || err2 != nil || sh.Count < 1 || sh.Index < 1 || sh.Index > sh.Count {
		return Shard{}, fmt.Errorf("shard %q: want K/N with 1 <= K <= N, e.g. 2/4", s)
	}
	return sh, nil
}

func (sh Shard) String() string { return fmt.Sprintf("%d/%d", sh.Index, sh.Count) }

// Has reports whether case index i belongs to the shard.
func (sh Shard) Has(i int) bool { return sh.Count <= 1 || i%sh.Count == sh.Index-1 }

// CaseIndices are the indices of the cases a regression with opt runs, in
// order: every GEMM case (0 to Cases-1) and layer case (Cases to
// Cases+Layers-1) in the shard, or just Only.
func (opt RegressOptions) CaseIndices() []int {
	var idx []int
	for i := 0; i < opt.Cases+opt.Layers; i++ {
		if (opt.Only >= 0 && i != opt.Only) || !opt.Shard.Has(i) {
			continue
		}
		idx = append(idx, i)
	}
	return idx
}

// CaseResult is one case on one simulator.
type CaseResult struct {
	Case        string
	Index       int
	Sim         string
	Mismatches  int
	Cycles      int
	Predicted   int
	Ideal       float64
	Err         error
	FirstReport string
	// Repro is the command that reruns the case alone (set for failures).
	Repro   string
	Elapsed time.Duration // the case's simulation on this simulator, with checking
}

// Failed reports whether the case failed on this simulator.
func (cr CaseResult) Failed() bool { return cr.Err != nil || cr.Mismatches > 0 }

// RegressReport sums up a regression.
type RegressReport struct {
	Results    []CaseResult
	Cases      int
	Failed     int
	Mismatches int
	Cycles     int
	Ideal      float64
	Elapsed    time.Duration
	Seed       uint64
	Shard      Shard
}

// Utilization is total ideal cycles over total measured cycles.
func (r *RegressReport) Utilization() float64 {
	if r.Cycles == 0 {
		return 0
	}
	return r.Ideal / float64(r.Cycles)
}

// caseOutcome is what running one case on every simulator gave.
type caseOutcome struct {
	results []CaseResult
	cycles  int
	ideal   float64
	lines   []string // failure lines, printed in case order
	err     error    // the run could not go on (interrupted)
}

// Regress runs random and directed GEMM cases on the RTL in dir against the
// golden model. Every failure prints its seed, case and a one-line command
// that reproduces it. It returns an error only when it could not run.
func Regress(ctx context.Context, man *arch.Manifest, dir string, opt RegressOptions) (*RegressReport, error) {
	logf := func(format string, a ...any) {
		if opt.Log != nil {
			fmt.Fprintf(opt.Log, format+"\n", a...)
		}
	}
	start := time.Now()
	rep := &RegressReport{Seed: opt.Seed, Shard: opt.Shard}
	idx := opt.CaseIndices()
	gemms := 0
	for _, i := range idx {
		if i < opt.Cases {
			gemms++
		}
	}
	jobs := min(max(opt.Jobs, 1), max(len(idx), 1))
	sims := make([][]sim.Simulator, jobs)
	for j := range sims {
		sims[j] = opt.Sims
		if jobs > 1 && opt.NewSims != nil {
			sims[j] = opt.NewSims()
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	// Workers take positions in idx in order; the loop below reports each
	// outcome as soon as those before it are in.
	outcomes := make([]caseOutcome, len(idx))
	done := make([]chan struct{}, len(idx))
	for k := range done {
		done[k] = make(chan struct{})
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for j := 0; j < jobs; j++ {
		wg.Add(1)
		go func(j int, sims []sim.Simulator) {
			defer wg.Done()
			// The first case runs alone: it builds the design (a Verilator
			// build, cached), which the other jobs then reuse instead of
			// building it again at the same time.
			if j > 0 {
				select {
				case <-done[0]:
				case <-ctx.Done():
					return
				}
			}
			for k := range next {
				outcomes[k] = runCase(ctx, man, dir, opt, sims, idx[k])
				close(done[k])
			}
		}(j, sims[j])
	}
	go func() {
		defer close(next)
		for k := range idx {
			select {
			case next <- k:
			case <-ctx.Done():
				return
			}
		}
	}()
	// Stop the workers before returning, also on an early return.
	defer func() { cancel(); wg.Wait() }()
	gemmsDone, layersDone := 0, 0
	for k, i := range idx {
		select {
		case <-done[k]:
		case <-ctx.Done():
			return rep, ctx.Err()
		}
		o := outcomes[k]
		if o.err != nil {
			return rep, o.err
		}
		rep.Cases++
		rep.Cycles += o.cycles
		rep.Ideal += o.ideal
		failed := false
		for _, cr := range o.results {
			rep.Mismatches += cr.Mismatches
			rep.Results = append(rep.Results, cr)
			failed = failed || cr.Failed()
		}
		if failed {
			rep.Failed++
		}
		for _, line := range o.lines {
			logf("%s", line)
		}
		if i < opt.Cases {
			gemmsDone++
			if gemmsDone%10 == 0 || gemmsDone == gemms {
				logf("progress: %d/%d cases, %d failed, %s", gemmsDone, gemms, rep.Failed, time.Since(start).Round(time.Millisecond))
			}
		} else {
			layersDone++
			if layersDone%10 == 0 || layersDone == len(idx)-gemms {
				logf("progress: %d/%d layer cases, %d failed in all, %s", layersDone, len(idx)-gemms, rep.Failed, time.Since(start).Round(time.Millisecond))
			}
		}
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// runCase runs case index i (a GEMM case below opt.Cases, else a layer
// case) on every simulator.
func runCase(ctx context.Context, man *arch.Manifest, dir string, opt RegressOptions, sims []sim.Simulator, i int) caseOutcome {
	if i >= opt.Cases {
		return regressLayer(ctx, man, dir, opt, sims, i-opt.Cases, i)
	}
	var o caseOutcome
	c := MakeCase(man.Config, opt.Seed, i)
	want := GoldenGEMM(man.Config, c.A, c.B)
	for _, s := range sims {
		g := c.Options()
		g.Sim = opt.Sim
		begin := time.Now()
		run, err := RunGEMM(ctx, s, man, dir, c.A, c.B, g)
		cr := CaseResult{Case: c.Name, Index: i, Sim: s.Name(), Elapsed: time.Since(begin)}
		if err != nil {
			if ctx.Err() != nil {
				return caseOutcome{err: ctx.Err()}
			}
			cr.Err = err
		} else {
			cr.Cycles, cr.Predicted, cr.Ideal = run.Cycles, run.Predicted, run.Ideal
			mm := CompareMatrices(want, run.C)
			cr.Mismatches, cr.FirstReport = mm.Count, strings.Join(mm.First, "; ")
			if !c.Stalls && run.Cycles != run.Predicted {
				cr.Err = fmt.Errorf("cycle model predicted %d cycles, RTL took %d", run.Predicted, run.Cycles)
			}
			o.cycles += run.Cycles
			o.ideal += run.Ideal
		}
		o.record(cr, opt, func(g GEMMOptions) error {
			_, err := RunGEMM(ctx, s, man, dir, c.A, c.B, g)
			return err
		}, c.Options())
	}
	return o
}

// regressLayer runs layer case li (regression index i) on every simulator
// against quant's reference kernels.
func regressLayer(ctx context.Context, man *arch.Manifest, dir string, opt RegressOptions, sims []sim.Simulator, li, i int) caseOutcome {
	var o caseOutcome
	c := MakeLayerCase(man.Config, opt.Seed, li)
	stalls := li%3 == 2
	name := "layer " + c.Name
	if stalls {
		name += " stalls"
	}
	want, shape, err := LayerReference(man.Config, c.Layer)
	for _, s := range sims {
		begin := time.Now()
		cr := CaseResult{Case: name, Index: i, Sim: s.Name()}
		if err != nil {
			cr.Err = err
		} else {
			g := GEMMCase{seed: caseSeed(opt.Seed^0x1A7E5, li), Stalls: stalls}.Options()
			g.Sim = opt.Sim
			run, rerr := RunLayer(ctx, s, man, dir, c.Layer, g)
			if rerr != nil {
				if ctx.Err() != nil {
					return caseOutcome{err: ctx.Err()}
				}
				cr.Err = rerr
			} else {
				cr.Cycles, cr.Predicted, cr.Ideal = run.Cycles, run.Predicted, run.Ideal
				if !stalls && run.Cycles != run.Predicted {
					cr.Err = fmt.Errorf("cycle model predicted %d cycles, RTL took %d", run.Predicted, run.Cycles)
				}
				o.cycles += run.Cycles
				o.ideal += run.Ideal
				mm := CompareTensors(want, run.Output, shape)
				cr.Mismatches, cr.FirstReport = mm.Count, strings.Join(mm.First, "; ")
			}
		}
		cr.Elapsed = time.Since(begin)
		o.record(cr, opt, func(g GEMMOptions) error {
			if err != nil {
				return err // the reference itself failed: nothing to dump
			}
			_, rerr := RunLayer(ctx, s, man, dir, c.Layer, g)
			return rerr
		}, GEMMCase{seed: caseSeed(opt.Seed^0x1A7E5, li), Stalls: stalls}.Options())
	}
	return o
}

// record adds one case result to the outcome. A failure gets its seed and
// the command that reproduces it and, with VCDDir, reruns the case (run,
// with the case's options g) dumping a waveform.
func (o *caseOutcome) record(cr CaseResult, opt RegressOptions, run func(GEMMOptions) error, g GEMMOptions) {
	if cr.Failed() {
		why := cr.FirstReport
		if cr.Err != nil {
			why = cr.Err.Error()
		}
		cr.Repro = fmt.Sprintf("%s -sim %s -seed %d -case %d", opt.Repro, cr.Sim, opt.Seed, cr.Index)
		o.lines = append(o.lines, fmt.Sprintf("FAIL case %d (%s) on %s, seed %d: %d mismatches; %s", cr.Index, cr.Case, cr.Sim, opt.Seed, cr.Mismatches, why),
			"  reproduce: "+cr.Repro)
		if opt.VCDDir != "" {
			g.Sim = opt.Sim
			g.Sim.VCD = filepath.Join(opt.VCDDir, fmt.Sprintf("case%d_%s.vcd", cr.Index, cr.Sim))
			if err := run(g); err == nil || fileExists(g.Sim.VCD) {
				o.lines = append(o.lines, "  waveform: "+g.Sim.VCD)
			}
		}
	}
	o.results = append(o.results, cr)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
