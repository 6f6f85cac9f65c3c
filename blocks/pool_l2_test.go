package blocks_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/tpugen/tpugen/blocks"
	"github.com/tpugen/tpugen/internal/rtltest"
)

// poolL2Cfg is the simulated L2 unit: two lanes as poolCfg, the largest
// window (7×7, so sums of squares reach 49·255², 22 bits) and frames up to
// 16×16.
var poolL2Cfg = blocks.PoolConfig{Stage: blocks.StageConfig{Lanes: 2, TagBits: 2}, MaxWindow: blocks.MaxPoolWindow,
	MaxWidth: 16, MaxHeight: 16, L2: true}

func poolL2Ctl(h, w, kh, kw, sh, sw, zp int) blocks.PoolControl {
	return blocks.PoolControl{Enable: true, L2: true, Height: h, Width: w, KH: kh, KW: kw, SH: sh, SW: sw, ZeroPoint: zp}
}

// poolL2Runs mixes L2 sets with max and average ones (the modes share the
// unit): the largest window over all -128 at zero point 127 and all 127 at
// -128 (the largest sums, saturating), small windows where rounding
// decides, random zero points and stalls.
func poolL2Runs(seed uint64) []poolRun {
	r := rand.New(rand.NewPCG(seed, 0x12))
	runs := []poolRun{
		{name: "l2-mixed", srcStall: 0.3, sinkStall: 0.3, sets: []blocks.PoolControl{
			poolL2Ctl(9, 9, 3, 3, 1, 1, 0), poolCtl(true, 5, 7, 3, 3, 2, 2), poolL2Ctl(7, 5, 2, 2, 2, 2, -128), poolCtl(false, 6, 6, 2, 2, 2, 2)}},
		{name: "l2-extremes", srcStall: 0.2, sinkStall: 0.4, sets: []blocks.PoolControl{
			poolL2Ctl(7, 7, 7, 7, 7, 7, 127), poolL2Ctl(8, 9, 7, 7, 1, 1, -128), poolL2Ctl(5, 5, 1, 1, 1, 1, -3), poolL2Ctl(9, 8, 7, 6, 2, 3, 0)}},
		{name: "l2-nostall", sets: []blocks.PoolControl{
			poolL2Ctl(4, 16, 3, 3, 1, 1, 5), poolPass, poolL2Ctl(6, 8, 2, 2, 2, 2, -60), poolL2Ctl(16, 16, 7, 7, 3, 3, 100)}},
	}
	var sets []blocks.PoolControl
	for range 4 {
		kh, kw := 1+r.IntN(7), 1+r.IntN(7)
		sets = append(sets, poolL2Ctl(kh+r.IntN(17-kh), kw+r.IntN(17-kw), kh, kw, 1+r.IntN(7), 1+r.IntN(7), r.IntN(256)-128))
	}
	runs = append(runs, poolRun{name: "l2-random", srcStall: 0.4, sinkStall: 0.4, sets: sets})
	cfg := poolL2Cfg
	for i := range runs {
		runs[i].cfg = &cfg
		kinds := []string{"random", "random", "extreme", "min", "max"}
		if runs[i].name == "l2-extremes" {
			kinds = []string{"extreme", "min", "max"}
		}
		runs[i].frames = poolFrames(r, runs[i].sets, 10, kinds)
	}
	return runs
}

// TestPoolL2 streams L2 (and max and average) frames through a unit built
// with L2 in both simulators and compares every beat with quant.L2Pool
// (quant.MaxPool, quant.AveragePool); the unstalled run checks the latency.
func TestPoolL2(t *testing.T) {
	t.Parallel()
	seed := *poolSeed
	poolReport(t, seed)
	p := poolMustBuild(t, poolL2Cfg)
	e := rtltest.Build(t, p.Module)
	smCheckTools(t, e) // Yosys' coarse synthesis: the full one maps the line buffer to flip-flops, slowly
	top := poolVerifyTop(e)
	for _, run := range poolL2Runs(seed) {
		t.Run(run.name, func(t *testing.T) {
			outs := poolExpect(t, run)
			stim := poolStimulus(run, outs, seed)
			for _, s := range rtltest.Simulators(t) {
				res, err := rtltest.Run(t, s, top, stim)
				if err != nil {
					t.Fatalf("%s: %v", s.Name(), err)
				}
				for _, pr := range poolCheck(run, outs, res.Sinks[0]) {
					t.Errorf("%s: %s", s.Name(), pr)
				}
				if run.srcStall == 0 && run.sinkStall == 0 {
					poolCheckTiming(t, s.Name(), p.Latency, outs, res)
				}
			}
		})
	}
}

// poolL2Round matches the round-up term of the square root in the emitted
// Verilog.
var poolL2Round = regexp.MustCompile(`assign (sqrt_up_\d+) = [^;]*;`)

// TestPoolL2MutantIsCaught makes the emitted square root truncate (the
// root one too small whenever it should round up) and requires the
// comparison with quant.L2Pool to fail (in Icarus when it is there).
func TestPoolL2MutantIsCaught(t *testing.T) {
	t.Parallel()
	seed := *poolSeed
	poolReport(t, seed)
	e := rtltest.Build(t, poolMustBuild(t, poolL2Cfg).Module)
	dir := t.TempDir()
	var files []string
	mutated := 0
	for _, f := range e.Files {
		text := string(f.Text)
		if f.Module == e.Top {
			mutated = len(poolL2Round.FindAllString(text, -1))
			text = poolL2Round.ReplaceAllString(text, "assign $1 = 1'b0;")
		}
		p := filepath.Join(dir, f.Name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	if mutated != poolL2Cfg.Stage.Lanes {
		t.Fatalf("mutated %d round-up terms, want one per lane (%d): has the emitted form changed?", mutated, poolL2Cfg.Stage.Lanes)
	}
	top := poolVerifyTop(e)
	top.Files = files
	run := poolL2Runs(seed)[0]
	outs := poolExpect(t, run)
	stim := poolStimulus(run, outs, seed)
	// One simulator is enough to show the comparison catches it: Icarus,
	// which builds a mutant faster, when it is there.
	sims := rtltest.Simulators(t)
	for _, s := range sims[:1] {
		res, err := rtltest.Run(t, s, top, stim)
		if err != nil {
			t.Fatalf("%s: the mutant should run to the end: %v", s.Name(), err)
		}
		problems := poolCheck(run, outs, res.Sinks[0])
		if len(problems) == 0 {
			t.Errorf("%s: the comparison passed an L2 pool whose square root truncates", s.Name())
			continue
		}
		t.Logf("%s caught: %s", s.Name(), problems[0])
	}
}
