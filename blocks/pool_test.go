package blocks_test

import (
	"flag"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tpugen/tpugen/blocks"
	"github.com/tpugen/tpugen/internal/rtltest"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/verify/sim"
)

var (
	poolSeed  = flag.Uint64("pool-seed", 1, "seed of the pooling unit tests' random data, parameters and stalls")
	poolSynth = flag.Bool("pool-synth", false, "synthesize the pooling unit with Yosys and log its cells per lane")
)

// poolCfg is the simulated design: two lanes, four parameter sets, windows
// and strides up to 3, frames up to 16×16.
var poolCfg = blocks.PoolConfig{Stage: blocks.StageConfig{Lanes: 2, TagBits: 2}, MaxWindow: 3, MaxWidth: 16, MaxHeight: 16}

// poolLoadCycles: parameters are written in the first cycles, while the
// input stream is held off.
const poolLoadCycles = 6

// poolFrame is one feature map of a run: its tag (parameter set) and its
// pixels, NHWC with N = 1 and C = lanes.
type poolFrame struct {
	tag int
	pix []int8
}

// poolRun is one simulation: four parameter sets, the frames that use them
// back to back, and how often each side of the unit stalls.
type poolRun struct {
	name                string
	cfg                 *blocks.PoolConfig // nil: poolCfg
	sets                []blocks.PoolControl
	frames              []poolFrame
	srcStall, sinkStall float64
}

// poolOut is one expected output beat and where it comes from.
type poolOut struct {
	tag     int
	lanes   []int8
	frame   int
	oy, ox  int
	trigger int // index of the input beat that completes the window
}

func poolMustBuild(t *testing.T, cfg blocks.PoolConfig) *blocks.Pool {
	t.Helper()
	p, err := blocks.NewPool(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// poolReport tells how to reproduce a failure.
func poolReport(t *testing.T, seed uint64) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("reproduce with: go test ./blocks/ -run '%s' -pool-seed=%d", t.Name(), seed)
		}
	})
}

// poolPixels fills a frame; kind picks the value distribution: random int8,
// all -128, all 127, or only extreme values, which drive the sums to the
// ends of their range and make halves common (rounding ties).
func poolPixels(r *rand.Rand, n int, kind string) []int8 {
	pix := make([]int8, n)
	for i := range pix {
		switch kind {
		case "min":
			pix[i] = -128
		case "max":
			pix[i] = 127
		case "extreme":
			pix[i] = []int8{-128, -127, 126, 127}[r.IntN(4)]
		default:
			pix[i] = int8(r.IntN(256) - 128)
		}
	}
	return pix
}

// poolFrames makes n frames with random tags (every tag at least once when n
// allows) and random value kinds.
func poolFrames(r *rand.Rand, sets []blocks.PoolControl, n int, kinds []string) []poolFrame {
	var frames []poolFrame
	for i := 0; i < n; i++ {
		tag := i % len(sets)
		if i >= len(sets) {
			tag = r.IntN(len(sets))
		}
		s := sets[tag]
		h, w := s.Height, s.Width
		if !s.Enable {
			h, w = 1+r.IntN(5), 1+r.IntN(5) // any length: pass-through has no frames
		}
		frames = append(frames, poolFrame{tag: tag, pix: poolPixels(r, h*w*poolCfg.Stage.Lanes, kinds[r.IntN(len(kinds))])})
	}
	return frames
}

// poolRandomSets draws four parameter sets within poolCfg's limits.
func poolRandomSets(r *rand.Rand) []blocks.PoolControl {
	var sets []blocks.PoolControl
	for range 4 {
		kh, kw := 1+r.IntN(3), 1+r.IntN(3)
		sets = append(sets, blocks.PoolControl{Enable: r.IntN(6) != 0, Average: r.IntN(2) == 0,
			Height: kh + r.IntN(17-kh), Width: kw + r.IntN(17-kw), KH: kh, KW: kw, SH: 1 + r.IntN(3), SW: 1 + r.IntN(3)})
	}
	return sets
}

func poolCtl(avg bool, h, w, kh, kw, sh, sw int) blocks.PoolControl {
	return blocks.PoolControl{Enable: true, Average: avg, Height: h, Width: w, KH: kh, KW: kw, SH: sh, SW: sw}
}

var poolPass = blocks.PoolControl{Height: 3, Width: 2, KH: 2, KW: 2, SH: 1, SW: 1} // sizes are ignored

// poolRuns lists the runs: fixed parameter sets covering the odd sizes,
// every window and stride and a one-column frame, extreme values, a run
// without stalls for the latency, and random parameters.
func poolRuns(seed uint64) []poolRun {
	r := rand.New(rand.NewPCG(seed, 0x9001))
	any := []string{"random", "random", "random", "extreme", "min", "max"}
	runs := []poolRun{
		{name: "mixed", srcStall: 0.3, sinkStall: 0.3, sets: []blocks.PoolControl{
			poolCtl(false, 9, 9, 3, 3, 1, 1), poolCtl(true, 5, 7, 3, 3, 2, 2), poolCtl(true, 7, 5, 2, 2, 2, 2), poolPass}},
		{name: "strides", srcStall: 0.5, sinkStall: 0.2, sets: []blocks.PoolControl{
			poolCtl(true, 3, 4, 1, 1, 1, 1), poolCtl(true, 9, 9, 3, 2, 1, 3), poolCtl(false, 16, 16, 2, 2, 3, 3), poolCtl(true, 5, 1, 3, 1, 2, 1)}},
		{name: "extremes", srcStall: 0.2, sinkStall: 0.5, sets: []blocks.PoolControl{
			poolCtl(true, 5, 5, 3, 3, 1, 1), poolCtl(true, 6, 4, 2, 3, 1, 1), poolCtl(true, 16, 16, 3, 2, 3, 2), poolCtl(false, 7, 6, 3, 2, 1, 2)}},
		{name: "nostall", sets: []blocks.PoolControl{
			poolPass, poolCtl(true, 4, 16, 3, 3, 1, 1), poolCtl(false, 6, 8, 2, 2, 2, 2), poolCtl(true, 3, 3, 3, 3, 1, 1)}},
		{name: "random", srcStall: 0.4, sinkStall: 0.4, sets: poolRandomSets(r)},
	}
	for i := range runs {
		kinds := any
		if runs[i].name == "extremes" {
			kinds = []string{"extreme", "min", "max"}
		}
		runs[i].frames = poolFrames(r, runs[i].sets, 10, kinds)
	}
	return runs
}

func (r poolRun) config() blocks.PoolConfig {
	if r.cfg != nil {
		return *r.cfg
	}
	return poolCfg
}

// poolExpect computes the output beats of a run with package quant.
func poolExpect(t *testing.T, run poolRun) []poolOut {
	t.Helper()
	L := poolCfg.Stage.Lanes
	var outs []poolOut
	base := 0 // index of the frame's first input beat
	for fi, f := range run.frames {
		s := run.sets[f.tag]
		n := len(f.pix) / L
		if !s.Enable {
			for i := 0; i < n; i++ {
				outs = append(outs, poolOut{tag: f.tag, lanes: f.pix[i*L : (i+1)*L], frame: fi, oy: 0, ox: i, trigger: base + i})
			}
			base += n
			continue
		}
		shape := quant.Shape{N: 1, H: s.Height, W: s.Width, C: L}
		prm := quant.PoolParams{Window: quant.Window{StrideH: s.SH, StrideW: s.SW, Padding: quant.PaddingValid}, FilterH: s.KH, FilterW: s.KW}
		pool := quant.MaxPool
		switch {
		case s.L2:
			pool = func(in []int8, sh quant.Shape, p quant.PoolParams) ([]int8, quant.Shape, error) {
				return quant.L2Pool(in, sh, p, int32(s.ZeroPoint))
			}
		case s.Average:
			pool = quant.AveragePool
		}
		res, os, err := pool(f.pix, shape, prm)
		if err != nil {
			t.Fatalf("run %s frame %d: %v", run.name, fi, err)
		}
		for oy := 0; oy < os.H; oy++ {
			for ox := 0; ox < os.W; ox++ {
				i := os.Index(0, oy, ox, 0)
				iy, ix := oy*s.SH+s.KH-1, ox*s.SW+s.KW-1
				outs = append(outs, poolOut{tag: f.tag, lanes: res[i : i+L], frame: fi, oy: oy, ox: ox, trigger: base + iy*s.Width + ix})
			}
		}
		base += n
	}
	return outs
}

// poolPack packs lanes (two's complement, lane 0 lowest) and the tag above.
func poolPack(tag int, lanes []int8) *big.Int {
	v := big.NewInt(int64(tag))
	for k := len(lanes) - 1; k >= 0; k-- {
		v.Lsh(v, 8).Or(v, big.NewInt(int64(uint8(lanes[k]))))
	}
	return v
}

func poolUnpack(v *big.Int) (int, []int8) {
	L := poolCfg.Stage.Lanes
	lanes := make([]int8, L)
	for k := 0; k < L; k++ {
		lanes[k] = int8(new(big.Int).Rsh(v, uint(8*k)).Uint64())
	}
	return int(new(big.Int).Rsh(v, uint(8*L)).Uint64()), lanes
}

// poolStall is true in about frac of the cycles in [from, to).
func poolStall(seed uint64, frac float64, from, to int) func(int) bool {
	return func(c int) bool {
		if c < from || c >= to {
			return false
		}
		z := seed + uint64(c)*0x9e3779b97f4a7c15
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		return float64((z^(z>>31))>>11)/(1<<53) < frac
	}
}

// poolStimulus writes the parameter sets through prm_* while the source is
// held off, then streams every frame's pixels.
func poolStimulus(run poolRun, outs []poolOut, seed uint64) *sim.Stimulus {
	stim := &sim.Stimulus{}
	for i, s := range run.sets {
		stim.Changes = append(stim.Changes,
			sim.Change{Cycle: i, Port: "prm_we", Value: big.NewInt(1)},
			sim.Change{Cycle: i, Port: "prm_set", Value: big.NewInt(int64(i))},
			sim.Change{Cycle: i, Port: "prm_addr", Value: big.NewInt(0)},
			sim.Change{Cycle: i, Port: "prm_data", Value: run.config().Word(s)})
	}
	stim.Changes = append(stim.Changes, sim.Change{Cycle: len(run.sets), Port: "prm_we", Value: big.NewInt(0)})
	var src []*big.Int
	L := poolCfg.Stage.Lanes
	for _, f := range run.frames {
		for i := 0; i < len(f.pix); i += L {
			src = append(src, poolPack(f.tag, f.pix[i:i+L]))
		}
	}
	// Stalls end well before verify's horizon, so both sides agree on them.
	horizon := 2 * len(src)
	stim.Sources = [][]*big.Int{src}
	stim.SourceStall = []func(int) bool{func(c int) bool {
		return c < poolLoadCycles || poolStall(seed*10+1, run.srcStall, 0, horizon)(c)
	}}
	stim.SinkStall = []func(int) bool{poolStall(seed*10+2, run.sinkStall, 0, horizon)}
	stim.Expect = []int{len(outs)}
	stim.MaxCycles = 20*len(src) + 1000
	return stim
}

// poolCheck compares the beats with the expected outputs and names the
// first differences with their frame and output coordinates.
func poolCheck(run poolRun, outs []poolOut, got []sim.Beat) []string {
	var problems []string
	for i := 0; i < min(len(outs), len(got)) && len(problems) < 5; i++ {
		o := outs[i]
		tag, lanes := poolUnpack(got[i].Data)
		want := poolPack(o.tag, o.lanes)
		if got[i].Data.Cmp(want) != 0 {
			s := run.sets[o.tag]
			problems = append(problems, fmt.Sprintf("run %s beat %d (cycle %d): frame %d (tag %d, %+v) output (%d,%d): got tag %d lanes %v, want tag %d lanes %v",
				run.name, i, got[i].Cycle, o.frame, o.tag, s, o.oy, o.ox, tag, lanes, o.tag, o.lanes))
		}
	}
	if len(got) != len(outs) {
		problems = append(problems, fmt.Sprintf("run %s: %d beats, want %d", run.name, len(got), len(outs)))
	}
	return problems
}

func poolVerifyTop(e *rtltest.Emitted) *sim.Top {
	top := e.VerifyTop()
	top.Sources = []sim.Stream{rtltest.StreamNamed("in")}
	top.Sinks = []sim.Stream{rtltest.StreamNamed("out")}
	return top
}

// TestPool streams the runs of poolRuns through the unit in both simulators
// and compares every output beat with quant.MaxPool or quant.AveragePool
// (nothing lost, duplicated or reordered under stalls on both sides; the
// tag passes through). The run without stalls also checks the latency (each
// pooled pixel leaves Latency cycles after the input pixel that completes
// its window) and the throughput (one input beat per cycle), and the two
// simulators must agree cycle for cycle.
func TestPool(t *testing.T) {
	t.Parallel()
	seed := *poolSeed
	poolReport(t, seed)
	p := poolMustBuild(t, poolCfg)
	e := rtltest.Build(t, p.Module)
	rtltest.CheckTools(t, e)
	top := poolVerifyTop(e)
	sims := rtltest.Simulators(t)
	for _, run := range poolRuns(seed) {
		t.Run(run.name, func(t *testing.T) {
			outs := poolExpect(t, run)
			stim := poolStimulus(run, outs, seed)
			var results []*sim.Result
			for _, sim := range sims {
				res, err := rtltest.Run(t, sim, top, stim)
				if err != nil {
					t.Fatalf("%s: %v", sim.Name(), err)
				}
				for _, pr := range poolCheck(run, outs, res.Sinks[0]) {
					t.Errorf("%s: %s", sim.Name(), pr)
				}
				if run.srcStall == 0 && run.sinkStall == 0 {
					poolCheckTiming(t, sim.Name(), p.Latency, outs, res)
				}
				results = append(results, res)
			}
			if len(results) == 2 {
				a, b := results[0].Sinks[0], results[1].Sinks[0]
				for i := 0; i < min(len(a), len(b)); i++ {
					if a[i].Cycle != b[i].Cycle {
						t.Errorf("beat %d: %s delivers it in cycle %d, %s in cycle %d", i, sims[0].Name(), a[i].Cycle, sims[1].Name(), b[i].Cycle)
						break
					}
				}
			}
		})
	}
}

// poolCheckTiming checks an unstalled run: inputs are taken every cycle
// once the parameters are loaded, and every output leaves latency cycles
// after the input that completes its window.
func poolCheckTiming(t *testing.T, sim string, latency int, outs []poolOut, res *sim.Result) {
	t.Helper()
	acc := res.Sources[0]
	for i, c := range acc {
		if c != poolLoadCycles+i {
			t.Errorf("%s: input %d accepted in cycle %d, want %d (one per cycle)", sim, i, c, poolLoadCycles+i)
			break
		}
	}
	for i, b := range res.Sinks[0] {
		if i < len(outs) && b.Cycle != acc[outs[i].trigger]+latency {
			t.Errorf("%s: output %d in cycle %d, want %d (input %d accepted in cycle %d + latency %d)",
				sim, i, b.Cycle, acc[outs[i].trigger]+latency, outs[i].trigger, acc[outs[i].trigger], latency)
			break
		}
	}
}

// poolRounding matches the numerator of the average (|sum| + count/2) in
// the emitted Verilog.
var poolRounding = regexp.MustCompile(`assign (avg_num_\d+) = \((avg_abs_\d+) \+ [^;]*half\}?\);`)

// TestPoolMutantIsCaught drops the rounding term of the average from the
// emitted Verilog (so averages truncate towards zero) and requires the
// comparison with quant to fail in both simulators.
func TestPoolMutantIsCaught(t *testing.T) {
	t.Parallel()
	seed := *poolSeed
	poolReport(t, seed)
	e := rtltest.Build(t, poolMustBuild(t, poolCfg).Module)
	dir := t.TempDir()
	var files []string
	mutated := 0
	for _, f := range e.Files {
		text := string(f.Text)
		if f.Module == e.Top {
			mutated = len(poolRounding.FindAllString(text, -1))
			text = poolRounding.ReplaceAllString(text, "assign $1 = $2;")
		}
		p := filepath.Join(dir, f.Name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	if mutated != poolCfg.Stage.Lanes {
		t.Fatalf("mutated %d rounding terms, want one per lane (%d): has the emitted form changed?", mutated, poolCfg.Stage.Lanes)
	}
	top := poolVerifyTop(e)
	top.Files = files
	var run poolRun
	for _, r := range poolRuns(seed) {
		if r.name == "extremes" {
			run = r
		}
	}
	outs := poolExpect(t, run)
	stim := poolStimulus(run, outs, seed)
	for _, sim := range rtltest.Simulators(t) {
		res, err := rtltest.Run(t, sim, top, stim)
		if err != nil {
			t.Fatalf("%s: the mutant should run to the end: %v", sim.Name(), err)
		}
		problems := poolCheck(run, outs, res.Sinks[0])
		if len(problems) == 0 {
			t.Errorf("%s: the comparison passed an average pool that truncates instead of rounding", sim.Name())
			continue
		}
		t.Logf("%s caught: %s", sim.Name(), problems[0])
	}
}

// TestPoolDivision checks the reciprocal division exhaustively for every
// MaxWindow: for every count the multiplication gives floor(n/count) for
// every numerator n = |sum| + count/2 that can occur (the claim proved in
// pool.go), and with the sign restored it is quant.RoundedAverage for every
// sum of count int8 values.
func TestPoolDivision(t *testing.T) {
	for k := 3; k <= blocks.MaxPoolWindow; k++ {
		cfg := poolCfg
		cfg.MaxWindow = k
		shift := cfg.DivideShift()
		avg := cfg.Averager()
		bad := 0
		for count := 1; count <= k*k && bad < 5; count++ {
			r := blocks.PoolReciprocal(count, shift)
			for n := uint64(0); n <= uint64(128*count+count/2); n++ {
				if n*r>>shift != n/uint64(count) {
					t.Errorf("max window %d: count %d, n %d: (n*%d)>>%d = %d, want %d", k, count, n, r, shift, n*r>>shift, n/uint64(count))
					bad++
					break
				}
			}
			for sum := -128 * count; sum <= 127*count; sum++ {
				want := quant.RoundedAverage(int32(sum), int32(count))
				if got := avg(sum, count); got != int(want) {
					t.Errorf("max window %d: average of sum %d over %d = %d, want %d", k, sum, count, got, want)
					bad++
					break
				}
				if want < -128 || want > 127 {
					t.Errorf("count %d sum %d: average %d is outside int8 (the clamp would matter)", count, sum, want)
				}
			}
		}
		if k == 3 || k == blocks.MaxPoolWindow {
			t.Logf("max window %d: shift %d, reciprocal of 1 is %d bits", k, shift, len(strconv.FormatUint(blocks.PoolReciprocal(1, shift), 2)))
		}
	}
}

// TestPoolConfig checks validation and the control word layout.
func TestPoolConfig(t *testing.T) {
	if err := poolCfg.Validate(); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	for _, tc := range []struct {
		desc string
		edit func(*blocks.PoolConfig)
	}{
		{"no lanes", func(c *blocks.PoolConfig) { c.Stage.Lanes = 0 }},
		{"no tag", func(c *blocks.PoolConfig) { c.Stage.TagBits = 0 }},
		{"window 2", func(c *blocks.PoolConfig) { c.MaxWindow = 2 }},
		{"window too big", func(c *blocks.PoolConfig) { c.MaxWindow = blocks.MaxPoolWindow + 1 }},
		{"width 0", func(c *blocks.PoolConfig) { c.MaxWidth = 0 }},
		{"height 0", func(c *blocks.PoolConfig) { c.MaxHeight = 0 }},
		{"width too big", func(c *blocks.PoolConfig) { c.MaxWidth = blocks.MaxPoolSide + 1 }},
		{"height too big", func(c *blocks.PoolConfig) { c.MaxHeight = blocks.MaxPoolSide + 1 }},
	} {
		c := poolCfg
		tc.edit(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", tc.desc, c)
		}
		if _, err := blocks.NewPool(c); err == nil {
			t.Errorf("%s: NewPool accepted %+v", tc.desc, c)
		}
	}

	fields := poolCfg.ParamFields()
	var names []string
	next := 0
	for _, f := range fields {
		names = append(names, fmt.Sprintf("%s:%d", f.Name, f.Width))
		if f.LSB != next || f.Lanes != 1 || f.Signed {
			t.Errorf("field %+v: want LSB %d, one unsigned lane", f, next)
		}
		next += f.Width
	}
	if got, want := strings.Join(names, " "), "enable:1 mode:1 width:5 height:5 kh:2 kw:2 sh:2 sw:2"; got != want {
		t.Errorf("fields %s, want %s", got, want)
	}
	if poolCfg.ParamBits() != next || next != 20 {
		t.Errorf("ParamBits %d, fields end at %d, want 20", poolCfg.ParamBits(), next)
	}
	w := poolCfg.Word(blocks.PoolControl{Enable: true, Average: true, Width: 16, Height: 9, KH: 3, KW: 2, SH: 1, SW: 3})
	want := int64(1 | 1<<1 | 16<<2 | 9<<7 | 3<<12 | 2<<14 | 1<<16 | 3<<18)
	if w.Cmp(big.NewInt(want)) != 0 {
		t.Errorf("Word = %#x, want %#x", w, want)
	}
	if p := poolMustBuild(t, poolCfg); p.Name() != "pool_l2_t2_k3_w16_h16" {
		t.Errorf("module name %s", p.Name())
	}
}

// TestPoolShapes builds odd configurations (one-pixel line buffer, sizes
// that are not powers of two, the largest window) and checks that the
// Verilog is lint-clean and compiles; the simulations use poolCfg only.
func TestPoolShapes(t *testing.T) {
	t.Parallel()
	rtltest.RequireTools(t, "verilator", "iverilog")
	for _, cfg := range []blocks.PoolConfig{
		{Stage: blocks.StageConfig{Lanes: 1, TagBits: 1}, MaxWindow: 3, MaxWidth: 1, MaxHeight: 1},
		{Stage: blocks.StageConfig{Lanes: 3, TagBits: 3}, MaxWindow: 4, MaxWidth: 10, MaxHeight: 7},
		{Stage: blocks.StageConfig{Lanes: 2, TagBits: 1}, MaxWindow: blocks.MaxPoolWindow, MaxWidth: 224, MaxHeight: 224},
	} {
		e := rtltest.Build(t, poolMustBuild(t, cfg).Module)
		if err := rtltest.LintVerilator(e.Top, e.Paths); err != nil {
			t.Error(err)
		}
		if err := rtltest.CompileIcarus(e.Top, e.Paths); err != nil {
			t.Error(err)
		}
	}
}

// poolCells is the total of Yosys's `stat` report.
var poolCells = regexp.MustCompile(`Number of cells:\s+(\d+)`)

// TestPoolSynth (with -pool-synth) logs Yosys generic-synthesis cells per
// lane for one and eight lanes.
func TestPoolSynth(t *testing.T) {
	if !*poolSynth {
		t.Skip("run with -pool-synth")
	}
	rtltest.RequireTools(t, "yosys")
	var cells []int
	for _, lanes := range []int{1, 8} {
		cfg := poolCfg
		cfg.Stage.Lanes = lanes
		e := rtltest.Build(t, poolMustBuild(t, cfg).Module)
		stat, err := rtltest.SynthYosys(e.Top, e.Paths)
		if err != nil {
			t.Fatal(err)
		}
		m := poolCells.FindAllStringSubmatch(stat, -1)
		if m == nil {
			t.Fatalf("no cell count in:\n%s", stat)
		}
		n, _ := strconv.Atoi(m[len(m)-1][1])
		cells = append(cells, n)
		t.Logf("%s: %d cells, %.0f per lane", e.Top, n, float64(n)/float64(lanes))
	}
	t.Logf("each lane beyond the first adds %.0f cells", float64(cells[1]-cells[0])/7)
}
