package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tpugen/tpugen/verify"
	"github.com/tpugen/tpugen/verify/mutation"
)

func runMutate(e *env, args []string) error {
	fs := e.flagSet("[-config FILE]... [-rtl DIR]... [-n N] [-blocks LIST] [-seed S] [-cases N] [-layers L] [-reg-seed S] [-j N] [-json FILE] [-argued FILE] [-require LIST]",
		"Mutation cover, the way YosysHQ's MCY measures a testbench: for each block of each\n"+
			"design (the PE, the array's top, the accumulator, the requantizer, the activation and\n"+
			"pooling units, the core's controller tpu_core) Yosys's mutate pass lists N single-bit\n"+
			"mutations (a cell port bit tied to 0 or 1 or inverted); each mutant module is written\n"+
			"back to Verilog in place of its file, built in Verilator and run through the\n"+
			"regression (GEMM cases, then layer cases with the pipeline; for a core, directed and\n"+
			"random programs against core.Machine) until a case fails\n"+
			"(killed) or all pass (survived). Survivors are then checked for equivalence with the\n"+
			"original module (Yosys equiv_simple/equiv_induct, then a miter proved with sat by\n"+
			"induction); proved ones cannot be killed and are listed apart, and so are the survivors\n"+
			"a written argument in -argued names exactly (configuration, module and mutation\n"+
			"command, as the report prints them). Before any mutant, each\n"+
			"module written back by Yosys unchanged must pass. Results are cached by a hash of\n"+
			"the mutant design, the regression and the tools (-cache), so a rerun only simulates\n"+
			"what changed. Prints killed / survived / score per block, and the survivors with\n"+
			"their mutation. Exits 1 if a block named in -require has a survivor.",
		"  tpugen mutate -config configs/small.json -n 10\n"+
			"  tpugen mutate -config configs/default.json -config configs/small.json -n 28 -j 2 -json mutation.json\n"+
			"  tpugen mutate -rtl rtl-out/default -blocks pe,requant -n 40 -require pe,requant\n"+
			"  tpugen mutate -config configs/core.json -blocks controller -n 12")
	var configs, rtls []string
	fs.Func("config", "JSON configuration `FILE` to generate and mutate (repeatable; with neither -config nor -rtl: the embedded default)", func(s string) error {
		configs = append(configs, s)
		return nil
	})
	fs.Func("rtl", "mutate the generated RTL already in `DIR` (its manifest.json; repeatable)", func(s string) error {
		rtls = append(rtls, s)
		return nil
	})
	n := fs.Int("n", 28, "mutations per block of each design `N`")
	blocks := fs.String("blocks", "", "comma-separated `LIST` of blocks to mutate (default: all of them; e.g. pe,array,accumulator,requant,activation,pool,controller)")
	seed := fs.Uint64("seed", 1, "seed `S` of Yosys's sampling of the mutations")
	cases := fs.Int("cases", 24, "GEMM regression cases `N` each mutant must pass")
	layers := fs.Int("layers", 12, "layer regression cases `L` after them (designs with the pipeline)")
	regSeed := fs.Uint64("reg-seed", 1, "regression seed `S`")
	soakBeats := fs.Int("soak", 20000, "then a stall soak of `N` beats (random valid/ready on every stream; 0: none)")
	targeted := fs.Bool("targeted", true, "after the regression, run the targeted layer cases (extreme requantization parameters, tables, slopes, pooling) that kill mutants the random cases miss")
	jobs := fs.Int("j", 2, "mutants built and run at once `N`")
	cache := fs.String("cache", "", "results cache `DIR` (default: $TPUGEN_CACHE/mutation, else the user cache directory's tpugen/mutation)")
	jsonOut := fs.String("json", "", "also write the report as JSON to `FILE`")
	noProve := fs.Bool("no-prove", false, "do not try to prove survivors equivalent")
	proveTimeout := fs.Duration("prove-timeout", 60*time.Second, "time `D` each of a survivor's two proof attempts may take")
	arguedFile := fs.String("argued", "", "JSON `FILE` of written arguments that named survivors are equivalent ([{config, module, command, reason}])")
	require := fs.String("require", "", "comma-separated `LIST` of blocks that must have no survivor (exit 1 otherwise)")
	verbose := e.verboseFlag(fs)
	if err := e.parse(fs, args); err != nil {
		return err
	}
	e.setVerbose(*verbose)
	switch {
	case *n < 1:
		return badInputf("-n %d: want at least 1", *n)
	case *cases < 1:
		return badInputf("-cases %d: want at least 1", *cases)
	case *layers < 0:
		return badInputf("-layers %d: want 0 or more", *layers)
	case *soakBeats < 0:
		return badInputf("-soak %d: want 0 or more beats", *soakBeats)
	case *jobs < 1:
		return badInputf("-j %d: want at least 1", *jobs)
	case *proveTimeout <= 0:
		return badInputf("-prove-timeout %s: want a positive duration", *proveTimeout)
	}
	wanted, err := blockList("-blocks", *blocks)
	if err != nil {
		return err
	}
	required, err := blockList("-require", *require)
	if err != nil {
		return err
	}
	var arguments []mutation.Argument
	if *arguedFile != "" {
		if arguments, err = mutation.LoadArguments(*arguedFile); err != nil {
			return badInput(err)
		}
	}
	if len(configs) == 0 && len(rtls) == 0 {
		configs = []string{""}
	}
	var designs []mutation.Design
	for _, c := range configs {
		out, _, err := design(c)
		if err != nil {
			return err
		}
		dir, cleanup, err := writeTempRTL(out)
		if err != nil {
			return err
		}
		defer cleanup()
		d, err := mutation.LoadDesign(dir)
		if err != nil {
			return err
		}
		designs = append(designs, d)
	}
	for _, dir := range rtls {
		d, err := mutation.LoadDesign(dir)
		if err != nil {
			return badInput(err)
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return badInput(err)
		}
		d.Dir = abs
		designs = append(designs, d)
	}
	opt := mutation.Options{
		Regression:   mutation.Regression{Cases: *cases, Layers: *layers, Seed: *regSeed, Extra: *targeted, Soak: *soakBeats},
		Seed:         *seed,
		Jobs:         *jobs,
		CacheDir:     *cache,
		NoProve:      *noProve,
		ProveTimeout: *proveTimeout,
		Log:          &logWriter{log: e.log, level: func(string) logrus.Level { return logrus.InfoLevel }},
	}
	if *targeted {
		opt.Regression.Targeted = mutation.TargetedVersion
	}
	for _, d := range designs {
		if d.Manifest.Core != nil {
			opt.Regression.Core = verify.CoreRegressVersion // the report's header
		}
	}
	start := time.Now()
	var jobList []mutation.Job
	for _, d := range designs {
		budget := map[mutation.Block]int{}
		for _, f := range d.Manifest.Files {
			b := mutation.BlockOf(f.Module)
			if len(wanted) == 0 || wanted[b] {
				budget[b] = *n
			}
		}
		ms, err := mutation.Plan(e.ctx, d, budget, opt)
		if err != nil {
			return interrupted(e.ctx, err)
		}
		e.log.Infof("mutate %s: %d mutations of %d blocks", describeConfig(d.Manifest.Config), len(ms), len(budget))
		for _, m := range ms {
			jobList = append(jobList, mutation.Job{Design: d, Mutation: m})
		}
	}
	jobList = interleave(jobList)
	if len(jobList) == 0 {
		return badInputf("no mutations: -blocks %q names no block of the designs", *blocks)
	}
	results, err := mutation.Run(e.ctx, jobList, opt)
	if err != nil && (results == nil || e.ctx.Err() == nil) {
		return interrupted(e.ctx, err)
	}
	for _, a := range mutation.ApplyArguments(results, arguments) {
		if mutated(results, a) {
			e.log.Warnf("argued: no survivor is %s %s %s (a changed design, or the mutant is now killed or proved): update %s", a.Config, a.Module, a.Command, *arguedFile)
		}
	}
	rep := mutation.NewReport(results, opt.Regression, *seed, time.Since(start).Seconds())
	if err := rep.WriteText(e.stdout); err != nil {
		return err
	}
	if *jsonOut != "" {
		f, err := os.Create(*jsonOut)
		if err != nil {
			return badInput(err)
		}
		werr := rep.WriteJSON(f)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return werr
		}
	}
	if e.ctx.Err() != nil {
		return interrupted(e.ctx, e.ctx.Err())
	}
	var bad []string
	for _, s := range rep.Blocks {
		if required[s.Block] && s.Survived > 0 {
			bad = append(bad, fmt.Sprintf("%s (%d survivors)", s.Block, s.Survived))
		}
	}
	if len(bad) > 0 {
		return mismatch(fmt.Errorf("required blocks with survivors: %s", strings.Join(bad, ", ")))
	}
	return nil
}

// blockList parses a comma-separated list of block names.
func blockList(flag, s string) (map[mutation.Block]bool, error) {
	out := map[mutation.Block]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Trim(f, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			return nil, badInputf("%s %q: %q is not a block name (e.g. pe, array, accumulator, requant, activation, pool)", flag, s, f)
		}
		out[mutation.Block(f)] = true
	}
	return out, nil
}

// interleave orders jobs round robin over the modules (in their first
// order), so that an interrupted sweep has covered every block alike.
func interleave(jobs []mutation.Job) []mutation.Job {
	var keys []string
	groups := map[string][]mutation.Job{}
	for _, j := range jobs {
		k := j.Design.Dir + "\x00" + j.Mutation.Module
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], j)
	}
	out := make([]mutation.Job, 0, len(jobs))
	for i := 0; len(out) < len(jobs); i++ {
		for _, k := range keys {
			if i < len(groups[k]) {
				out = append(out, groups[k][i])
			}
		}
	}
	return out
}

// mutated says whether the sweep mutated the argument's module: an
// argument about a module not swept this time is not stale.
func mutated(results []mutation.Result, a mutation.Argument) bool {
	for _, r := range results {
		if r.Mutation.Config == a.Config && r.Mutation.Module == a.Module {
			return true
		}
	}
	return false
}
