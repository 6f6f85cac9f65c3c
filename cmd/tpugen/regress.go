package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/verify"
	"github.com/tpugen/tpugen/verify/sim"
)

func runRegress(e *env, args []string) error {
	fs := e.flagSet("[-config FILE | -rtl DIR] [-sim icarus|verilator|both] [-cases N] [-layers L] [-seed S] [-case I | -shard K/N] [-j N] [-junit FILE]",
		"Generates the RTL for a configuration into a temporary directory and runs a GEMM\n"+
			"regression on it against the golden model: the first cases are directed (zeros,\n"+
			"extremes, long K, GEMV, degenerate shapes), the rest random shapes and values, every\n"+
			"third with random stalls and backpressure. Without stalls the measured cycles must\n"+
			"also equal the cycle model's. With the pipeline (requant: true), layer cases follow:\n"+
			"random FC and conv layers with per-channel requantization, activations and pooling,\n"+
			"checked against quant's reference kernels. A failing case prints a one-line command\n"+
			"that reruns it alone. Exits 1 if any case failed.\n\n"+
			"-shard K/N runs every Nth case from case K-1 (a CI job per shard); the N shards\n"+
			"together run each case of the whole regression exactly once. -j runs cases in\n"+
			"parallel; results print in case order. -junit writes a JUnit XML report (one\n"+
			"testsuite per simulator, one testcase per case, failures with the reproduce line).",
		"  tpugen regress -sim verilator -cases 200 -seed 1\n"+
			"  tpugen regress -config configs/small.json -sim both -cases 50 -seed 7\n"+
			"  tpugen regress -config configs/small.json -sim icarus -cases 50 -seed 7 -case 31\n"+
			"  tpugen regress -config configs/default.json -sim verilator -cases 400 -seed 1 -shard 2/4 -j 2 -junit regress-2.xml")
	src := e.rtlFlags(fs)
	simName := fs.String("sim", "verilator", "simulator `NAME`: icarus, verilator or both")
	cases := fs.Int("cases", 50, "number of cases `N`")
	seed := fs.Uint64("seed", 1, "regression seed `S`; each case derives its own from it")
	layers := fs.Int("layers", -1, "number of layer cases `L` after the GEMM cases (default: N/2 with the pipeline and int8 operands, else 0)")
	vcdDir := fs.String("vcd-dir", "", "write a VCD waveform of every failing case into `DIR` (the case is rerun with a dump)")
	only := fs.Int("case", -1, "run only case index `I` (0 <= I < N+L), as printed by a failure")
	shardFlag := fs.String("shard", "", "run only shard `K/N` of the cases (case i is in shard i mod N + 1)")
	jobs := fs.Int("j", 1, "run up to `N` simulations at a time")
	junit := fs.String("junit", "", "write a JUnit XML report to `FILE` (replaced atomically)")
	verbose := e.verboseFlag(fs)
	err := e.parse(fs, args)
	if err != nil {
		return err
	}
	e.setVerbose(*verbose)
	if *cases < 1 {
		return badInputf("-cases %d: want at least 1", *cases)
	}
	var shard verify.Shard
	if *shardFlag != "" {
		if shard, err = verify.ParseShard(*shardFlag); err != nil {
			return badInputf("-%v", err)
		}
		if *only >= 0 {
			return badInputf("-case and -shard are exclusive: -case runs one case whatever its shard")
		}
	}
	if *jobs < 1 {
		return badInputf("-j %d: want at least 1", *jobs)
	}
	if *junit != "" {
		if st, err := os.Stat(filepath.Dir(*junit)); err != nil || !st.IsDir() {
			return badInputf("-junit %s: no directory %s", *junit, filepath.Dir(*junit))
		}
	}
	base, err := simulators(*simName, true)
	if err != nil {
		return err
	}
	sims := e.sessions(base)
	man, dir, cleanup, err := src.open()
	if err != nil {
		return err
	}
	defer cleanup()
	// Layer cases are int8 layers (TFLite's kernels): a narrower array
	// runs GEMM cases only.
	int8 := man.Config.InputBits == 8 && man.Config.WeightBits == 8
	if *layers < 0 {
		*layers = 0
		if man.Config.Requant && int8 {
			*layers = *cases / 2
		}
	}
	if *layers > 0 && !man.Config.Requant {
		return badInputf("-layers %d: configuration %s has no pipeline (requant: true)", *layers, man.Config.Name)
	}
	if *layers > 0 && !int8 {
		return badInputf("-layers %d: layer cases are int8, configuration %s has %d-bit inputs and %d-bit weights", *layers, man.Config.Name, man.Config.InputBits, man.Config.WeightBits)
	}
	if *only >= *cases+*layers || *only < -1 {
		return badInputf("-case %d: want a case index from 0 to %d (-cases %d -layers %d)", *only, *cases+*layers-1, *cases, *layers)
	}
	if *vcdDir != "" {
		if st, err := os.Stat(*vcdDir); err != nil || !st.IsDir() {
			return badInputf("-vcd-dir %s: not a directory", *vcdDir)
		}
	}
	// A design the planner refuses (a -rtl design that is no matrix unit)
	// fails every case the same way: say so once, before any simulation.
	c0 := verify.MakeCase(man.Config, *seed, 0)
	if _, err := compile.PlanGEMM(man, c0.A, c0.B); err != nil {
		return badInput(err)
	}
	if err := checkSimulators(e.ctx, sims); err != nil {
		return err
	}
	repro := "tpugen regress"
	if *src.config != "" {
		repro += " -config " + shellQuote(*src.config)
	}
	if *src.rtl != "" {
		repro += " -rtl " + shellQuote(*src.rtl)
	}
	repro += fmt.Sprintf(" -cases %d -layers %d", *cases, *layers)
	e.log.Infof("regress %s: %d GEMM and %d layer cases on %s, seed %d", describeConfig(man.Config), *cases, *layers, *simName, *seed)
	opt := verify.RegressOptions{Sims: sims, Cases: *cases, Layers: *layers, Seed: *seed, Only: *only, Repro: repro, VCDDir: *vcdDir,
		Shard: shard, Jobs: *jobs, NewSims: func() []sim.Simulator { return e.sessions(base) }}
	if shard.Count > 1 {
		e.log.Infof("shard %s: %d of the %d cases", shard, len(opt.CaseIndices()), *cases+*layers)
	}
	rep, err := e.regress(man, dir, opt)
	if err != nil {
		return err
	}
	if *junit != "" {
		if err := writeFileAtomic(*junit, func(w io.Writer) error { return rep.WriteJUnit(w, "regress "+man.Config.Name) }); err != nil {
			return err
		}
	}
	fmt.Fprintln(e.stdout, regressSummary(rep))
	if rep.Failed > 0 {
		return mismatch(fmt.Errorf("%d of %d cases failed (%d mismatches)", rep.Failed, rep.Cases, rep.Mismatches))
	}
	return nil
}

// regress runs verify.Regress with its progress and failures in the log.
func (e *env) regress(man *arch.Manifest, dir string, opt verify.RegressOptions) (*verify.RegressReport, error) {
	opt.Sim = e.simOptions()
	opt.Log = &logWriter{log: e.log, level: func(line string) logrus.Level {
		if strings.HasPrefix(line, "FAIL") || strings.HasPrefix(strings.TrimSpace(line), "reproduce:") {
			return logrus.ErrorLevel
		}
		return logrus.InfoLevel
	}}
	rep, err := verify.Regress(e.ctx, man, dir, opt)
	if err != nil {
		return nil, interrupted(e.ctx, err)
	}
	return rep, nil
}

// regressSummary is the one-line result of a regression.
func regressSummary(rep *verify.RegressReport) string {
	s := fmt.Sprintf("cases=%d failed=%d mismatches=%d cycles=%d utilization=%.1f%% elapsed=%s",
		rep.Cases, rep.Failed, rep.Mismatches, rep.Cycles, 100*rep.Utilization(), rep.Elapsed.Round(time.Millisecond))
	if rep.Shard.Count > 1 {
		s += " shard=" + rep.Shard.String()
	}
	return s
}
