package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/verify"
)

func runRegress(e *env, args []string) error {
	fs := e.flagSet("[-config FILE | -rtl DIR] [-sim icarus|verilator|both] [-cases N] [-layers L] [-seed S] [-case I]",
		"Generates the RTL for a configuration into a temporary directory and runs a GEMM\n"+
			"regression on it against the golden model: the first cases are directed (zeros,\n"+
			"extremes, long K, GEMV, degenerate shapes), the rest random shapes and values, every\n"+
			"third with random stalls and backpressure. Without stalls the measured cycles must\n"+
			"also equal the cycle model's. With the pipeline (requant: true), layer cases follow:\n"+
			"random FC and conv layers with per-channel requantization, activations and pooling,\n"+
			"checked against quant's reference kernels. A failing case prints a one-line command\n"+
			"that reruns it alone. Exits 1 if any case failed.",
		"  tpugen regress -sim verilator -cases 200 -seed 1\n"+
			"  tpugen regress -config configs/small.json -sim both -cases 50 -seed 7\n"+
			"  tpugen regress -config configs/small.json -sim icarus -cases 50 -seed 7 -case 31")
	src := e.rtlFlags(fs)
	simName := fs.String("sim", "verilator", "simulator `NAME`: icarus, verilator or both")
	cases := fs.Int("cases", 50, "number of cases `N`")
	seed := fs.Uint64("seed", 1, "regression seed `S`; each case derives its own from it")
	layers := fs.Int("layers", -1, "number of layer cases `L` after the GEMM cases (default: N/2 with the pipeline, else 0)")
	vcdDir := fs.String("vcd-dir", "", "write a VCD waveform of every failing case into `DIR` (the case is rerun with a dump)")
	only := fs.Int("case", -1, "run only case index `I` (0 <= I < N+L), as printed by a failure")
	verbose := e.verboseFlag(fs)
	if err := e.parse(fs, args); err != nil {
		return err
	}
	e.setVerbose(*verbose)
	if *cases < 1 {
		return badInputf("-cases %d: want at least 1", *cases)
	}
	sims, err := simulators(*simName, true)
	if err != nil {
		return err
	}
	sims = e.sessions(sims)
	man, dir, cleanup, err := src.open()
	if err != nil {
		return err
	}
	defer cleanup()
	if *layers < 0 {
		*layers = 0
		if man.Config.Requant {
			*layers = *cases / 2
		}
	}
	if *layers > 0 && !man.Config.Requant {
		return badInputf("-layers %d: configuration %s has no pipeline (requant: true)", *layers, man.Config.Name)
	}
	if *only >= *cases+*layers || *only < -1 {
		return badInputf("-case %d: want a case index from 0 to %d (-cases %d -layers %d)", *only, *cases+*layers-1, *cases, *layers)
	}
	if *vcdDir != "" {
		if st, err := os.Stat(*vcdDir); err != nil || !st.IsDir() {
			return badInputf("-vcd-dir %s: not a directory", *vcdDir)
		}
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
	rep, err := e.regress(man, dir, verify.RegressOptions{Sims: sims, Cases: *cases, Layers: *layers, Seed: *seed, Only: *only, Repro: repro, VCDDir: *vcdDir})
	if err != nil {
		return err
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
	return fmt.Sprintf("cases=%d failed=%d mismatches=%d cycles=%d utilization=%.1f%% elapsed=%s",
		rep.Cases, rep.Failed, rep.Mismatches, rep.Cycles, 100*rep.Utilization(), rep.Elapsed.Round(time.Millisecond))
}
