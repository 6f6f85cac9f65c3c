// Package soak runs a long stall soak through the generated matrix unit:
// run after run of large GEMMs (raw results on c_out) and quantized layers
// (parameters on p_in, results through the pipeline on y_out), each with
// random valid on every input stream and random ready on every output
// stream, in bursts and in single-cycle flickers, all checked against the
// golden model. A transaction is one beat on one stream; a run passes when
// every input beat was taken, every output stream carried exactly the
// beats the plan expects, in order (each carries its accumulator address or
// parameter-set tag), and every value is bit-exact: nothing lost,
// duplicated or reordered.
//
// Each run derives its own seed from the soak's, so a failing run is rerun
// alone from its index.
package soak

import (
	"context"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/verify"
	"github.com/tpugen/tpugen/verify/sim"
)

// Options configures a soak.
type Options struct {
	// Transactions: runs go on until at least this many beats have
	// transferred.
	Transactions int
	Seed         uint64
	// Only, when >= 0, runs only run index Only (a repro).
	Only int
	// MaxRows bounds the rows of A in a run (default 512): runs stay long
	// enough to keep every stream busy for thousands of cycles.
	MaxRows int
	Sim     sim.Options
	Log     io.Writer // progress and failures, one line each
}

// Report is the outcome of a soak.
type Report struct {
	Runs         int
	Failed       int
	Transactions int            // beats on every stream
	Streams      map[string]int // beats per stream
	Mismatches   int            // values that differ from the golden model
	Cycles       int64
	Elapsed      time.Duration
	SimTime      time.Duration // the simulator's own time
	Failures     []string      // one line per failing run (the first few)
}

// maxFailures is how many failing runs a report names.
const maxFailures = 10

// PerSecond is transactions per second of wall time.
func (r *Report) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Transactions) / r.Elapsed.Seconds()
}

// runSeed derives run index i's seed.
func runSeed(seed uint64, i int) uint64 {
	return seed*0xD1342543DE82EF95 + uint64(i)*0x9E3779B97F4A7C15 + 7
}

// Soak runs the soak on the design in dir (it must have the pipeline for
// layer runs; without it every run is a GEMM). It returns an error only
// when it could not run; failing runs are in the report.
func Soak(ctx context.Context, s sim.Simulator, man *arch.Manifest, dir string, opt Options) (*Report, error) {
	if opt.MaxRows <= 0 {
		opt.MaxRows = 512
	}
	logf := func(format string, a ...any) {
		if opt.Log != nil {
			fmt.Fprintf(opt.Log, format+"\n", a...)
		}
	}
	rep := &Report{Streams: map[string]int{}}
	start := time.Now()
	lastLog := start
	for i := 0; ; i++ {
		if opt.Only >= 0 {
			if i > opt.Only {
				break
			}
			if i != opt.Only {
				continue
			}
		} else if rep.Transactions >= opt.Transactions {
			break
		}
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		r, err := runOne(ctx, s, man, dir, runSeed(opt.Seed, i), opt)
		if err != nil {
			// A design that hangs fails its run; anything else (a build,
			// a missing tool) stops the soak.
			if ctx.Err() != nil || !strings.Contains(err.Error(), "cycle limit") {
				return rep, fmt.Errorf("soak run %d: %w", i, err)
			}
			r = &runResult{name: "hung", fail: oneLine(err.Error())}
		}
		rep.Runs++
		rep.Cycles += int64(r.cycles)
		rep.SimTime += r.simTime
		for k, v := range r.streams {
			rep.Streams[k] += v
			rep.Transactions += v
		}
		if r.fail != "" {
			rep.Failed++
			rep.Mismatches += r.mismatches
			line := fmt.Sprintf("run %d (%s): %s", i, r.name, r.fail)
			if len(rep.Failures) < maxFailures {
				rep.Failures = append(rep.Failures, line)
			}
			logf("FAIL %s", line)
		}
		if time.Since(lastLog) > 10*time.Second {
			lastLog = time.Now()
			logf("soak: %d runs, %d transactions, %d failed, %s", rep.Runs, rep.Transactions, rep.Failed, time.Since(start).Round(time.Second))
		}
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// runResult is one run's outcome.
type runResult struct {
	name       string
	streams    map[string]int
	cycles     int
	simTime    time.Duration
	fail       string // "" when it passed
	mismatches int
}

// runOne builds run seed's workload, runs it and checks it.
func runOne(ctx context.Context, s sim.Simulator, man *arch.Manifest, dir string, seed uint64, opt Options) (*runResult, error) {
	r := rand.New(rand.NewPCG(seed, seed^0x6A09E667F3BCC909))
	cfg := man.Config
	top := verify.SimTop(man, dir)
	stalls := map[string]func(int) bool{}
	var kinds []string
	for _, st := range man.Streams {
		p, k := randomStall(r, st.Dir == "in")
		stalls[st.Name] = p
		kinds = append(kinds, st.Name+" "+k)
	}
	if cfg.Requant && r.IntN(2) == 0 {
		return runLayer(ctx, s, man, top, r, stalls, strings.Join(kinds, ", "), opt)
	}
	return runGEMM(ctx, s, man, top, r, stalls, strings.Join(kinds, ", "), opt)
}

// randomStall returns a stall pattern and its description: none, random
// single cycles at a rate, or bursts (a two-state chain that stays stalled
// or flowing for runs of cycles), so that queues both fill up and drain.
func randomStall(r *rand.Rand, input bool) (func(int) bool, string) {
	seed := r.Uint64()
	switch r.IntN(5) {
	case 0:
		return nil, "none"
	case 1, 2:
		p := 0.1 + 0.6*r.Float64()
		return lazyPattern(seed, func(x *rand.Rand, _ bool) bool { return x.Float64() < p }), fmt.Sprintf("random %.0f%%", 100*p)
	default:
		// Bursts: leave a stall with probability pOut, enter one with pIn.
		pIn, pOut := 0.02+0.2*r.Float64(), 0.05+0.3*r.Float64()
		if !input {
			pIn, pOut = pIn*1.5, pOut*0.7 // backpressure holds a little longer
		}
		return lazyPattern(seed, func(x *rand.Rand, prev bool) bool {
			if prev {
				return x.Float64() >= pOut
			}
			return x.Float64() < pIn
		}), fmt.Sprintf("bursts in %.2f out %.2f", pIn, pOut)
	}
}

// lazyPattern returns a stall function whose cycles are drawn in order
// from a seeded generator on first use, so any evaluation order gives the
// same pattern.
func lazyPattern(seed uint64, next func(x *rand.Rand, prev bool) bool) func(int) bool {
	x := rand.New(rand.NewPCG(seed, 0x243F6A8885A308D3))
	var bits []bool
	return func(c int) bool {
		for len(bits) <= c {
			prev := len(bits) > 0 && bits[len(bits)-1]
			bits = append(bits, next(x, prev))
		}
		return bits[c]
	}
}

// linger keeps a run going after the last expected beat, to catch extras.
func linger(man *arch.Manifest) int { return 2*man.Derived.Latency + 64 }

func randMatrix(r *rand.Rand, rows, cols, bits int, signed bool) compile.Matrix {
	lo, hi := arch.OperandRange(bits, signed)
	m := compile.NewMatrix(rows, cols)
	for i := range m {
		for j := range m[i] {
			m[i][j] = lo + r.Int64N(hi-lo+1)
		}
	}
	return m
}

// simulate runs the stimulus and checks that every input beat was taken
// and counts the beats of every stream.
func simulate(ctx context.Context, s sim.Simulator, top *sim.Top, stim *sim.Stimulus, opt Options, rr *runResult) (*sim.Result, error) {
	res, err := s.Run(ctx, top, stim, opt.Sim)
	if err != nil {
		return nil, err
	}
	rr.cycles, rr.simTime = res.Cycles, res.SimTime
	rr.streams = map[string]int{}
	for k, src := range top.Sources {
		rr.streams[src.Name] = len(res.Sources[k])
		if len(res.Sources[k]) != len(stim.Sources[k]) {
			rr.fail = fmt.Sprintf("%s: the RTL took %d of %d beats", src.Name, len(res.Sources[k]), len(stim.Sources[k]))
		}
	}
	for k, snk := range top.Sinks {
		rr.streams[snk.Name] = len(res.Sinks[k])
	}
	return res, nil
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

func sourceIndex(t *sim.Top, name string) int {
	for i, s := range t.Sources {
		if s.Name == name {
			return i
		}
	}
	return -1
}

// checkSink checks that a result stream carried exactly want beats.
func checkSink(name string, beats []sim.Beat, want int) string {
	if len(beats) != want {
		return fmt.Sprintf("%s: the RTL sent %d beats, the plan expects %d", name, len(beats), want)
	}
	return ""
}

func runGEMM(ctx context.Context, s sim.Simulator, man *arch.Manifest, top *sim.Top, r *rand.Rand, stalls map[string]func(int) bool, kinds string, opt Options) (*runResult, error) {
	cfg := man.Config
	M := 1 + r.IntN(opt.MaxRows)
	K := 1 + r.IntN(3*cfg.Rows+2)
	N := 1 + r.IntN(3*cfg.Cols+2)
	a := randMatrix(r, M, K, cfg.InputBits, cfg.InputSigned)
	b := randMatrix(r, K, N, cfg.WeightBits, cfg.WeightSigned)
	rr := &runResult{name: fmt.Sprintf("gemm %dx%dx%d; %s", M, K, N, kinds)}
	plan, err := compile.PlanGEMM(man, a, b)
	if err != nil {
		return nil, err
	}
	stim := top.StreamStimulus(map[string][]*big.Int{arch.StreamW: plan.W, arch.StreamA: plan.A}, stalls,
		map[string]int{arch.StreamC: len(plan.Out)})
	stim.MaxCycles = 40*(len(plan.A)+len(plan.W)+len(plan.Out)) + 20_000
	stim.Linger = linger(man)
	res, err := simulate(ctx, s, top, stim, opt, rr)
	if err != nil {
		return nil, err
	}
	got := res.Sinks[top.SinkIndex(arch.StreamC)]
	if y := top.SinkIndex(arch.StreamY); y >= 0 && len(res.Sinks[y]) > 0 && rr.fail == "" {
		rr.fail = fmt.Sprintf("%s: %d beats in a raw GEMM", arch.StreamY, len(res.Sinks[y]))
	}
	if msg := checkSink(arch.StreamC, got, len(plan.Out)); msg != "" && rr.fail == "" {
		rr.fail = msg
	}
	if rr.fail != "" {
		return rr, nil
	}
	cs := man.Stream(arch.StreamC)
	c := compile.NewMatrix(M, N)
	for i, beat := range got {
		o := plan.Out[i]
		addr, err := cs.Unpack(beat.Data, "addr")
		if err != nil {
			return nil, err
		}
		if addr[0] != int64(o.Addr) {
			rr.fail = fmt.Sprintf("%s beat %d (cycle %d): accumulator address %d, want %d (lost, duplicated or reordered)", arch.StreamC, i, beat.Cycle, addr[0], o.Addr)
			return rr, nil
		}
		sums, err := cs.Unpack(beat.Data, "sums")
		if err != nil {
			return nil, err
		}
		for j := 0; j < o.Lanes; j++ {
			c[o.Row][o.Col0+j] = sums[j]
		}
	}
	if mm := verify.CompareMatrices(verify.GoldenGEMM(cfg, a, b), c); mm.Count > 0 {
		rr.fail, rr.mismatches = fmt.Sprintf("%d mismatches: %s", mm.Count, strings.Join(mm.First, "; ")), mm.Count
	}
	return rr, nil
}

// randomLayer is a fully connected layer with many batch rows (a long
// stream), or a small convolution, with per-channel requantization and
// each activation the design has.
func randomLayer(r *rand.Rand, cfg arch.Config, maxRows int) (*compile.Layer, string) {
	outC := 1 + r.IntN(cfg.Cols*cfg.ParamSets)
	stage := compile.Requant{ZeroPoint: int32(r.IntN(41) - 20)}
	for c := 0; c < outC; c++ {
		m, sh := quant.QuantizeMultiplier(0.0002 + 0.02*r.Float64())
		stage.Multipliers = append(stage.Multipliers, m)
		stage.Shifts = append(stage.Shifts, sh)
	}
	if r.IntN(3) == 0 {
		stage.ActMin, stage.ActMax = stage.ZeroPoint, min(127, stage.ZeroPoint+50)
	}
	bias := make([]int32, outC)
	for i := range bias {
		bias[i] = int32(r.IntN(60001) - 30000)
	}
	i8 := func(n, lo, hi int) []int8 {
		out := make([]int8, n)
		for i := range out {
			out[i] = int8(lo + r.IntN(hi-lo+1))
		}
		return out
	}
	act, mode := compile.Activation{Func: arch.ActIdentity}, "none"
	inQ := quant.Params{Scale: float32(0.01 + 0.1*r.Float64()), ZeroPoint: int32(r.IntN(41) - 20), DType: quant.Int8}
	switch {
	case cfg.Activation.HasLeaky() && r.IntN(3) == 0:
		outQ := quant.Params{Scale: float32(0.01 + 0.1*r.Float64()), ZeroPoint: int32(r.IntN(41) - 20), DType: quant.Int8}
		if lk, err := quant.PrepareLeakyReLU(inQ, outQ, float32(0.05+0.5*r.Float64())); err == nil {
			act, mode = compile.Activation{Func: arch.ActLeaky, Leaky: lk}, "leaky"
		}
	case cfg.Activation.HasTable() && r.IntN(2) == 0:
		if sp, err := quant.PrepareSigmoid(inQ.Scale, inQ.ZeroPoint); err == nil {
			act, mode = compile.Activation{Func: arch.ActTable, Table: quant.Table256(func(x int8) int8 {
				return quant.LogisticInt8(x, sp.InputZeroPoint, sp.InputRangeRadius, sp.InputMultiplier, sp.InputLeftShift)
			})}, "logistic"
		}
	}
	inZP := int32(r.IntN(61) - 30)
	if r.IntN(4) > 0 {
		batches, in := 1+r.IntN(maxRows), 1+r.IntN(3*cfg.Rows+2)
		return &compile.Layer{Kind: compile.FC, InShape: quant.Shape{N: batches, H: 1, W: 1, C: in}, Input: i8(batches*in, -128, 127),
			WeightShape: quant.Shape{N: outC, H: 1, W: 1, C: in}, Weights: i8(outC*in, -127, 127),
			Bias: bias, InputZP: inZP, Requant: stage, Act: act}, fmt.Sprintf("fc %dx%d->%d %s", batches, in, outC, mode)
	}
	h, w, inC := 4+r.IntN(12), 4+r.IntN(12), 1+r.IntN(4)
	h, w = min(h, cfg.PoolHeight+2), min(w, cfg.PoolWidth+2)
	l := &compile.Layer{Kind: compile.Conv, InShape: quant.Shape{N: 1, H: h, W: w, C: inC}, Input: i8(h*w*inC, -128, 127),
		WeightShape: quant.Shape{N: outC, H: 3, W: 3, C: inC}, Weights: i8(outC*9*inC, -127, 127),
		Window: quant.Window{StrideH: 1, StrideW: 1, Padding: quant.PaddingSame}, Bias: bias, InputZP: inZP, Requant: stage, Act: act}
	name := fmt.Sprintf("conv %dx%dx%d 3x3 ->%d %s", h, w, inC, outC, mode)
	if cfg.Pool && h <= cfg.PoolHeight && w <= cfg.PoolWidth && r.IntN(2) == 0 {
		k := 2 + r.IntN(min(cfg.PoolWindow, min(h, w))-1)
		kind, kname := arch.MaxPool, "max"
		if r.IntN(2) == 0 {
			kind, kname = arch.AveragePool, "avg"
		}
		l.Pool = &compile.Pool{Kind: kind, KH: k, KW: k, SH: 1 + r.IntN(k), SW: 1 + r.IntN(k)}
		name += fmt.Sprintf(" %spool %dx%d/%d", kname, k, k, l.Pool.SH)
	}
	return l, name
}

func runLayer(ctx context.Context, s sim.Simulator, man *arch.Manifest, top *sim.Top, r *rand.Rand, stalls map[string]func(int) bool, kinds string, opt Options) (*runResult, error) {
	cfg := man.Config
	l, name := randomLayer(r, cfg, opt.MaxRows)
	rr := &runResult{name: name + "; " + kinds}
	want, shape, err := verify.LayerReference(cfg, l)
	if err != nil {
		return nil, err
	}
	plan, err := compile.PlanLayer(man, l)
	if err != nil {
		return nil, err
	}
	gp := plan.GEMM
	// The protocol sends a layer's parameters before its activations: the
	// unit holds activations back only while parameter words are pending
	// (valid), so a gap in p_in must not let the first activation through
	// early. The activations start after the cycle in which the last word
	// goes out if p_in is ready throughout; if p_in held some word back,
	// the run is repeated starting after that word.
	pStall, aStall := stalls[arch.StreamP], stalls[arch.StreamA]
	start := 0
	for sent := 0; sent < len(plan.Params); start++ {
		if pStall == nil || !pStall(start) {
			sent++
		}
	}
	var res *sim.Result
	pi, ai := sourceIndex(top, arch.StreamP), sourceIndex(top, arch.StreamA)
	for attempt := 0; ; attempt++ {
		after := start + 2
		stalls[arch.StreamA] = func(c int) bool { return c < after || (aStall != nil && aStall(c)) }
		stim := top.StreamStimulus(map[string][]*big.Int{arch.StreamW: gp.W, arch.StreamA: gp.A, arch.StreamP: plan.Params}, stalls,
			map[string]int{arch.StreamY: plan.Beats()})
		stim.MaxCycles = 40*(len(gp.A)+len(gp.W)+len(plan.Params)+plan.Beats()) + 20_000 + after
		stim.Linger = linger(man)
		res, err = simulate(ctx, s, top, stim, opt, rr)
		if err != nil {
			return nil, err
		}
		pAcc, aAcc := res.Sources[pi], res.Sources[ai]
		if len(pAcc) == 0 || len(aAcc) == 0 || aAcc[0] > pAcc[len(pAcc)-1] || attempt == 1 {
			break
		}
		start = pAcc[len(pAcc)-1] + 1
	}
	got := res.Sinks[top.SinkIndex(arch.StreamY)]
	if c := top.SinkIndex(arch.StreamC); len(res.Sinks[c]) > 0 && rr.fail == "" {
		rr.fail = fmt.Sprintf("%s: %d raw beats in a layer", arch.StreamC, len(res.Sinks[c]))
	}
	if msg := checkSink(arch.StreamY, got, plan.Beats()); msg != "" && rr.fail == "" {
		rr.fail = msg
	}
	if rr.fail != "" {
		return rr, nil
	}
	ys := man.Stream(arch.StreamY)
	out := make([]int8, shape.Len())
	C := cfg.Cols
	for i, beat := range got {
		t, p := i/plan.PerTile, i%plan.PerTile
		tag, err := ys.Unpack(beat.Data, "tag")
		if err != nil {
			return nil, err
		}
		if tag[0] != int64(t) {
			rr.fail = fmt.Sprintf("%s beat %d (cycle %d): parameter-set tag %d, want %d (lost, duplicated or reordered)", arch.StreamY, i, beat.Cycle, tag[0], t)
			return rr, nil
		}
		vals, err := ys.Unpack(beat.Data, "values")
		if err != nil {
			return nil, err
		}
		for j := 0; j < C && t*C+j < shape.C; j++ {
			out[p*shape.C+t*C+j] = int8(vals[j])
		}
	}
	if mm := verify.CompareTensors(want, out, shape); mm.Count > 0 {
		rr.fail, rr.mismatches = fmt.Sprintf("%d mismatches: %s", mm.Count, strings.Join(mm.First, "; ")), mm.Count
	}
	return rr, nil
}
