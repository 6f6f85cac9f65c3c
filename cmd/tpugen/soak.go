package main

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tpugen/tpugen/verify/sim"
	"github.com/tpugen/tpugen/verify/soak"
)

func runSoak(e *env, args []string) error {
	fs := e.flagSet("[-config FILE | -rtl DIR] [-n N] [-seed S] [-run I] [-max-rows R]",
		"Stall soak: runs large GEMMs (raw results on c_out) and quantized layers (parameters\n"+
			"on p_in, results through the pipeline on y_out) one after another through the matrix\n"+
			"unit in a Verilator session until at least N beats have transferred, every run with\n"+
			"random valid on every input stream and random ready on every output stream (none,\n"+
			"single-cycle flicker or bursts, drawn per stream and run). Each run is checked against\n"+
			"the golden model: every input beat taken, exactly the expected result beats in order\n"+
			"(each carries its accumulator address or parameter-set tag), every value bit-exact.\n"+
			"Prints transactions, transactions per second and mismatches; a failing run prints a\n"+
			"command that reruns it alone. Exits 1 if any run failed.",
		"  tpugen soak -n 1000000 -seed 1\n"+
			"  tpugen soak -config configs/small.json -n 100000\n"+
			"  tpugen soak -seed 1 -run 17")
	src := e.rtlFlags(fs)
	n := fs.Int("n", 1_000_000, "run until at least `N` transactions (beats on any stream) have transferred")
	seed := fs.Uint64("seed", 1, "soak seed `S`; each run derives its own from it")
	only := fs.Int("run", -1, "run only run index `I`, as printed by a failure")
	maxRows := fs.Int("max-rows", 512, "largest number of rows `R` of A (batch rows of a layer) in a run")
	verbose := e.verboseFlag(fs)
	if err := e.parse(fs, args); err != nil {
		return err
	}
	e.setVerbose(*verbose)
	switch {
	case *n < 1:
		return badInputf("-n %d: want at least 1", *n)
	case *maxRows < 1:
		return badInputf("-max-rows %d: want at least 1", *maxRows)
	case *only < -1:
		return badInputf("-run %d: want a run index, 0 or more", *only)
	}
	sims := e.sessions([]sim.Simulator{sim.Verilator{}})
	if err := checkSimulators(e.ctx, []sim.Simulator{sim.Verilator{}}); err != nil {
		return err
	}
	man, dir, cleanup, err := src.open()
	if err != nil {
		return err
	}
	defer cleanup()
	repro := "tpugen soak"
	if *src.config != "" {
		repro += " -config " + shellQuote(*src.config)
	}
	if *src.rtl != "" {
		repro += " -rtl " + shellQuote(*src.rtl)
	}
	if *maxRows != 512 {
		repro += fmt.Sprintf(" -max-rows %d", *maxRows)
	}
	e.log.Infof("soak %s: %d transactions, seed %d", describeConfig(man.Config), *n, *seed)
	opt := soak.Options{Transactions: *n, Seed: *seed, Only: *only, MaxRows: *maxRows, Sim: e.simOptions(),
		Log: &logWriter{log: e.log, level: func(line string) logrus.Level {
			if strings.HasPrefix(line, "FAIL") {
				return logrus.ErrorLevel
			}
			return logrus.InfoLevel
		}}}
	rep, err := soak.Soak(e.ctx, sims[0], man, dir, opt)
	if err != nil {
		return interrupted(e.ctx, err)
	}
	var streams []string
	for k := range rep.Streams {
		streams = append(streams, k)
	}
	sort.Strings(streams)
	var per []string
	for _, k := range streams {
		per = append(per, fmt.Sprintf("%s=%d", k, rep.Streams[k]))
	}
	fmt.Fprintf(e.stdout, "transactions=%d (%s) runs=%d failed=%d mismatches=%d cycles=%d transactions/s=%.0f elapsed=%s seed=%d\n",
		rep.Transactions, strings.Join(per, " "), rep.Runs, rep.Failed, rep.Mismatches, rep.Cycles, rep.PerSecond(), rep.Elapsed.Round(time.Millisecond), *seed)
	for _, f := range rep.Failures {
		fmt.Fprintf(e.stdout, "FAIL %s\n", f)
		var idx int
		if _, err := fmt.Sscanf(f, "run %d", &idx); err == nil {
			fmt.Fprintf(e.stdout, "  reproduce: %s -seed %d -run %d\n", repro, *seed, idx)
		}
	}
	if rep.Failed > 0 {
		return mismatch(fmt.Errorf("%d of %d runs failed (%d mismatches)", rep.Failed, rep.Runs, rep.Mismatches))
	}
	if *only >= 0 {
		fmt.Fprintf(e.stdout, "reproduce: %s -seed %d -run %d\n", repro, *seed, *only)
	} else {
		fmt.Fprintf(e.stdout, "reproduce: %s -n %d -seed %d\n", repro, *n, *seed)
	}
	return nil
}
