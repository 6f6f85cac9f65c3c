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
	"strings"
	"time"
)

// GEMMCase is one regression case: a named GEMM and how to drive it.
type GEMMCase struct {
	Index  int
	Name   string
	A, B   compile.Matrix
	Stalls bool // random gaps on the inputs and backpressure on the output
	seed   uint64
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
		c.A, c.B = fill(3*R, 2*R, rnd(ilo, ihi)), fill(2*R, 2*C, rnd(wlo, whi))
		c.Stalls = true
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
	return GEMMOptions{WStall: pattern(1, 0.2), AStall: pattern(2, 0.25), SinkStall: pattern(3, 0.3)}
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
}

// RegressReport sums up a regression.
type RegressReport struct {
	Results    []CaseResult
	Cases      int
	Failed     int
	Mismatches int
	Cycles     int
	Ideal      float64
	Elapsed    time.Duration
}

// Utilization is total ideal cycles over total measured cycles.
func (r *RegressReport) Utilization() float64 {
	if r.Cycles == 0 {
		return 0
	}
	return r.Ideal / float64(r.Cycles)
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
	rep := &RegressReport{}
	for i := 0; i < opt.Cases; i++ {
		if opt.Only >= 0 && i != opt.Only {
			continue
		}
		c := MakeCase(man.Config, opt.Seed, i)
		want := GoldenGEMM(man.Config, c.A, c.B)
		rep.Cases++
		caseFailed := false
		for _, s := range opt.Sims {
			g := c.Options()
			g.Sim = opt.Sim
			run, err := RunGEMM(ctx, s, man, dir, c.A, c.B, g)
			cr := CaseResult{Case: c.Name, Index: i, Sim: s.Name()}
			if err != nil {
				if ctx.Err() != nil {
					return rep, ctx.Err()
				}
				cr.Err = err
			} else {
				cr.Cycles, cr.Predicted, cr.Ideal = run.Cycles, run.Predicted, run.Ideal
				mm := CompareMatrices(want, run.C)
				cr.Mismatches, cr.FirstReport = mm.Count, strings.Join(mm.First, "; ")
				if !c.Stalls && run.Cycles != run.Predicted {
					cr.Err = fmt.Errorf("cycle model predicted %d cycles, RTL took %d", run.Predicted, run.Cycles)
				}
				rep.Cycles += run.Cycles
				rep.Ideal += run.Ideal
			}
			if rep.record(cr, opt, logf, func(g GEMMOptions) error {
				_, err := RunGEMM(ctx, s, man, dir, c.A, c.B, g)
				return err
			}, c.Options()) {
				caseFailed = true
			}
		}
		if caseFailed {
			rep.Failed++
		}
		if opt.Log != nil && (rep.Cases%10 == 0 || i == opt.Cases-1) {
			logf("progress: %d/%d cases, %d failed, %s", rep.Cases, opt.Cases, rep.Failed, time.Since(start).Round(time.Millisecond))
		}
	}
	for li := 0; li < opt.Layers; li++ {
		i := opt.Cases + li
		if opt.Only >= 0 && i != opt.Only {
			continue
		}
		if err := regressLayer(ctx, man, dir, opt, li, i, rep, logf); err != nil {
			return rep, err
		}
		if opt.Log != nil && (li%10 == 9 || li == opt.Layers-1) {
			logf("progress: %d/%d layer cases, %d failed in all, %s", li+1, opt.Layers, rep.Failed, time.Since(start).Round(time.Millisecond))
		}
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// regressLayer runs layer case li (regression index i) on every simulator
// against quant's reference kernels.
func regressLayer(ctx context.Context, man *arch.Manifest, dir string, opt RegressOptions, li, i int, rep *RegressReport, logf func(string, ...any)) error {
	c := MakeLayerCase(man.Config, opt.Seed, li)
	stalls := li%3 == 2
	name := "layer " + c.Name
	if stalls {
		name += " stalls"
	}
	rep.Cases++
	want, shape, err := LayerReference(man.Config, c.Layer)
	failed := false
	for _, s := range opt.Sims {
		cr := CaseResult{Case: name, Index: i, Sim: s.Name()}
		if err != nil {
			cr.Err = err
		} else {
			g := GEMMCase{seed: caseSeed(opt.Seed^0x1A7E5, li), Stalls: stalls}.Options()
			g.Sim = opt.Sim
			run, rerr := RunLayer(ctx, s, man, dir, c.Layer, g)
			if rerr != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				cr.Err = rerr
			} else {
				cr.Cycles, cr.Predicted, cr.Ideal = run.Cycles, run.Predicted, run.Ideal
				if !stalls && run.Cycles != run.Predicted {
					cr.Err = fmt.Errorf("cycle model predicted %d cycles, RTL took %d", run.Predicted, run.Cycles)
				}
				rep.Cycles += run.Cycles
				rep.Ideal += run.Ideal
				mm := CompareTensors(want, run.Output, shape)
				cr.Mismatches, cr.FirstReport = mm.Count, strings.Join(mm.First, "; ")
			}
		}
		if rep.record(cr, opt, logf, func(g GEMMOptions) error {
			if err != nil {
				return err // the reference itself failed: nothing to dump
			}
			_, rerr := RunLayer(ctx, s, man, dir, c.Layer, g)
			return rerr
		}, GEMMCase{seed: caseSeed(opt.Seed^0x1A7E5, li), Stalls: stalls}.Options()) {
			failed = true
		}
	}
	if failed {
		rep.Failed++
	}
	return nil
}

// record adds one case result to the report. A failure prints its seed and
// the command that reproduces it and, with VCDDir, reruns the case (run,
// with the case's options g) dumping a waveform. It reports the failure.
func (rep *RegressReport) record(cr CaseResult, opt RegressOptions, logf func(string, ...any), run func(GEMMOptions) error, g GEMMOptions) bool {
	rep.Mismatches += cr.Mismatches
	rep.Results = append(rep.Results, cr)
	if cr.Err == nil && cr.Mismatches == 0 {
		return false
	}
	why := cr.FirstReport
	if cr.Err != nil {
		why = cr.Err.Error()
	}
	logf("FAIL case %d (%s) on %s, seed %d: %d mismatches; %s", cr.Index, cr.Case, cr.Sim, opt.Seed, cr.Mismatches, why)
	logf("  reproduce: %s -sim %s -seed %d -case %d", opt.Repro, cr.Sim, opt.Seed, cr.Index)
	if opt.VCDDir != "" {
		g.Sim = opt.Sim
		g.Sim.VCD = filepath.Join(opt.VCDDir, fmt.Sprintf("case%d_%s.vcd", cr.Index, cr.Sim))
		if err := run(g); err == nil || fileExists(g.Sim.VCD) {
			logf("  waveform: %s", g.Sim.VCD)
		}
	}
	return true
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
