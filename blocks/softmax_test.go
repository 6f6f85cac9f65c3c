package blocks_test

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tpugen/tpugen/blocks"
	"github.com/tpugen/tpugen/internal/rtltest"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/verify/sim"
)

// smCfg is the simulated softmax unit: ten lanes (a ten-class row), four
// parameter sets.
var smCfg = blocks.SoftmaxConfig{Stage: blocks.StageConfig{Lanes: 10, TagBits: 2}}

type smSet struct {
	depth int
	beta  float64
	scale float32
	prm   quant.SoftmaxParams
}

type smRun struct {
	sets []smSet
	rows []poolFrame // one beat each: tag and Lanes values
	stim *sim.Stimulus
	load int // cycles of parameter writes before the stream
}

// smRows draws rows of every kind: random, all equal, one hot, all -128,
// all 127, a narrow spread (so differences stay small and sums large) and a
// wide one (differences beyond diff_min).
func smRows(r *rand.Rand, n int) []poolFrame {
	L := smCfg.Stage.Lanes
	var rows []poolFrame
	for i := 0; i < n; i++ {
		row := make([]int8, L)
		switch kind := r.IntN(8); kind {
		case 0:
			v := int8(r.IntN(256) - 128)
			for k := range row {
				row[k] = v
			}
		case 1:
			for k := range row {
				row[k] = -128
			}
			row[r.IntN(L)] = 127
		case 2:
			for k := range row {
				row[k] = -128
			}
		case 3:
			for k := range row {
				row[k] = 127
			}
		case 4:
			base := r.IntN(240) - 128
			for k := range row {
				row[k] = int8(base + r.IntN(16))
			}
		default:
			for k := range row {
				row[k] = int8(r.IntN(256) - 128)
			}
		}
		rows = append(rows, poolFrame{tag: r.IntN(4), pix: row})
	}
	return rows
}

func newSMRun(t *testing.T, seed uint64, n int) *smRun {
	r := rand.New(rand.NewPCG(seed, 0x50f7))
	run := &smRun{}
	for i, c := range []struct {
		depth int
		beta  float64
		scale float32
	}{{10, 1, 0.1}, {7, 1, 1.0 / 16}, {1 + r.IntN(10), 0.5 + r.Float64()*2, float32(0.01 + r.Float64()*0.3)}, {0, 1, 0.05}} {
		p, err := quant.PrepareSoftmax(c.beta, c.scale)
		if err != nil {
			t.Fatalf("set %d: %v", i, err)
		}
		run.sets = append(run.sets, smSet{depth: c.depth, beta: c.beta, scale: c.scale, prm: p})
	}
	run.rows = smRows(r, n)
	stim := &sim.Stimulus{}
	cycle := 0
	write := func(set, addr int, data int64) {
		stim.Changes = append(stim.Changes,
			sim.Change{Cycle: cycle, Port: "prm_we", Value: big.NewInt(1)},
			sim.Change{Cycle: cycle, Port: "prm_set", Value: big.NewInt(int64(set))},
			sim.Change{Cycle: cycle, Port: "prm_addr", Value: big.NewInt(int64(addr))},
			sim.Change{Cycle: cycle, Port: "prm_data", Value: big.NewInt(data)})
		cycle++
	}
	for i, s := range run.sets {
		for d, e := range quant.SoftmaxExpTable(s.prm) {
			write(i, d, int64(e))
		}
		write(i, blocks.SoftmaxControlAddr, int64(s.depth))
	}
	stim.Changes = append(stim.Changes, sim.Change{Cycle: cycle, Port: "prm_we", Value: big.NewInt(0)})
	run.load = cycle + 2
	var src []*big.Int
	for _, row := range run.rows {
		src = append(src, poolPack(row.tag, row.pix))
	}
	horizon := run.load + 2*n
	stim.Sources = [][]*big.Int{src}
	stim.SourceStall = []func(int) bool{func(c int) bool { return c < run.load || poolStall(seed*10+5, 0.3, 0, horizon)(c) }}
	stim.SinkStall = []func(int) bool{poolStall(seed*10+6, 0.3, 0, horizon)}
	stim.Expect = []int{n}
	stim.MaxCycles = run.load + 10*n + 1000
	run.stim = stim
	return run
}

// want is a row's expected output: quant.SoftmaxInt8 over the first depth
// lanes, the others passed through.
func (run *smRun) want(t *testing.T, row poolFrame) []int8 {
	s := run.sets[row.tag]
	out := append([]int8(nil), row.pix...)
	if s.depth > 0 {
		y, err := quant.SoftmaxInt8(row.pix[:s.depth], s.depth, s.prm)
		if err != nil {
			t.Fatal(err)
		}
		copy(out, y)
	}
	return out
}

func (run *smRun) check(t *testing.T, got []sim.Beat) []string {
	var problems []string
	L := smCfg.Stage.Lanes
	for i := 0; i < min(len(got), len(run.rows)) && len(problems) < 5; i++ {
		row := run.rows[i]
		want := poolPack(row.tag, run.want(t, row))
		if got[i].Data.Cmp(want) != 0 {
			lanes := make([]int8, L)
			for k := range lanes {
				lanes[k] = int8(new(big.Int).Rsh(got[i].Data, uint(8*k)).Uint64())
			}
			s := run.sets[row.tag]
			problems = append(problems, fmt.Sprintf("row %d (tag %d, depth %d, beta %g, scale %g) %v: got %v, want %v",
				i, row.tag, s.depth, s.beta, s.scale, row.pix, lanes, run.want(t, row)))
		}
	}
	if len(got) != len(run.rows) {
		problems = append(problems, fmt.Sprintf("%d beats for %d rows", len(got), len(run.rows)))
	}
	return problems
}

func smBuild(t *testing.T) *blocks.Softmax {
	t.Helper()
	s, err := blocks.NewSoftmax(smCfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSoftmax streams 1,500 rows (random, uniform, one-hot, all -128, all
// 127, narrow and wide spreads; four parameter sets with different betas,
// scales and depths, one passing through) through the unit in both
// simulators with stalls on both sides, and compares every lane with
// quant.SoftmaxInt8 (TFLite's int8 softmax).
func TestSoftmax(t *testing.T) {
	t.Parallel()
	seed := *poolSeed
	e := rtltest.Build(t, smBuild(t).Module)
	smCheckTools(t, e)
	top := poolVerifyTop(e)
	run := newSMRun(t, seed, 1500)
	for _, s := range rtltest.Simulators(t) {
		res, err := rtltest.Run(t, s, top, run.stim)
		if err != nil {
			t.Fatalf("%s: %v", s.Name(), err)
		}
		for _, p := range run.check(t, res.Sinks[0]) {
			t.Errorf("%s: %s", s.Name(), p)
		}
	}
}

// TestSoftmaxMutantIsCaught makes the last rounding shift truncate and
// requires the comparison to fail (in Icarus when it is there).
func TestSoftmaxMutantIsCaught(t *testing.T) {
	t.Parallel()
	e := rtltest.Build(t, smBuild(t).Module)
	re := regexp.MustCompile(`(?m)^(\s*assign out_half = ).*;$`)
	dir := t.TempDir()
	var files []string
	mutated := 0
	for _, f := range e.Files {
		text := string(f.Text)
		if f.Module == e.Top {
			mutated = len(re.FindAllString(text, -1))
			text = re.ReplaceAllString(text, "${1}31'd0;")
		}
		p := filepath.Join(dir, f.Name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	if mutated != 1 {
		t.Fatalf("mutated %d lines, want 1: has the emitted form changed?", mutated)
	}
	top := poolVerifyTop(e)
	top.Files = files
	run := newSMRun(t, *poolSeed, 300)
	sims := rtltest.Simulators(t)
	s := sims[0]
	res, err := rtltest.Run(t, s, top, run.stim)
	if err != nil {
		t.Fatalf("%s: %v", s.Name(), err)
	}
	problems := run.check(t, res.Sinks[0])
	if len(problems) == 0 {
		t.Fatalf("%s: a softmax whose last shift truncates passed the comparison", s.Name())
	}
	t.Logf("%s caught: %s", s.Name(), problems[0])
}

// smCheckTools lints the unit with Verilator -Wall, compiles it with
// Icarus, and runs Yosys' coarse synthesis (where processes become logic
// and latches would appear) with check -assert and no latch: the full
// synth would map the per-lane tables to flip-flops and take minutes.
func smCheckTools(t *testing.T, e *rtltest.Emitted) {
	t.Helper()
	rtltest.RequireTools(t, "verilator", "iverilog", "yosys")
	if err := rtltest.LintVerilator(e.Top, e.Paths); err != nil {
		t.Error(err)
	}
	if err := rtltest.CompileIcarus(e.Top, e.Paths); err != nil {
		t.Error(err)
	}
	var script strings.Builder
	for _, p := range e.Paths {
		script.WriteString("read_verilog " + p + "; ")
	}
	script.WriteString("synth -top " + e.Top + " -run begin:fine; check -assert; select -assert-none t:$dlatch t:$adlatch t:$dlatchsr t:$_DLATCH_* t:$_DLATCHSR_*")
	if out, err := exec.Command("yosys", "-q", "-p", script.String()).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("yosys %s: %v\n%s", e.Top, err, out)
	}
}
