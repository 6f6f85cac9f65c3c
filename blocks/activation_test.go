package blocks_test

import (
	"flag"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"os/exec"
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
	actSeed  = flag.Uint64("act-seed", 1, "seed of the activation unit tests (stalls, beat order, random parameters)")
	actSynth = flag.Bool("act-synth", false, "log Yosys cell counts per lane of the activation unit")
)

// actFullCfg is the design every mode is checked on; actMinCfg has neither
// datapath and must pass everything through.
var (
	actFullCfg = blocks.ActivationConfig{Stage: blocks.StageConfig{Lanes: 4, TagBits: 2}, Leaky: true, Table: true}
	actMinCfg  = blocks.ActivationConfig{Stage: blocks.StageConfig{Lanes: 4, TagBits: 1}}
)

// actCase is one activation loaded into a parameter set. Every set gets a
// table and LeakyReLU parameters whatever its mode (random ones when the
// mode does not use them), so a wrong mode select shows.
type actCase struct {
	name  string
	mode  blocks.ActivationMode
	leaky *quant.LeakyReLUParams // nil: random
	table func(int8) int8        // nil: random
	want  func(int8) int8        // the quant reference
}

func actParams(scale float32, zp int32) quant.Params {
	return quant.Params{Scale: scale, ZeroPoint: zp, DType: quant.Int8}
}

func actLeakyCase(t *testing.T, alpha float32, in, out quant.Params) actCase {
	t.Helper()
	p, err := quant.PrepareLeakyReLU(in, out, alpha)
	if err != nil {
		t.Fatal(err)
	}
	return actCase{
		name: fmt.Sprintf("leaky alpha %v in (%v, %d) out (%v, %d)", alpha, in.Scale, in.ZeroPoint, out.Scale, out.ZeroPoint),
		mode: blocks.ActivationLeaky, leaky: &p,
		want: func(x int8) int8 { return quant.LeakyReLUInt8(x, p) },
	}
}

// actRawLeakyCase loads LeakyReLU parameters no Prepare would produce, to
// reach the datapath's corners: left shifts whose product wraps int32
// (shift > 23), the INT32_MIN·INT32_MIN saturation of SRDHM, whose result
// then wraps again when the output zero point is added, and large right
// shifts.
func actRawLeakyCase(name string, p quant.LeakyReLUParams) actCase {
	return actCase{name: name, mode: blocks.ActivationLeaky, leaky: &p,
		want: func(x int8) int8 { return quant.LeakyReLUInt8(x, p) }}
}

func actSigmoidCase(t *testing.T, tanh bool, scale float32, zp int32) actCase {
	t.Helper()
	p, err := quant.PrepareSigmoid(scale, zp)
	if err != nil {
		t.Fatal(err)
	}
	f := func(x int8) int8 {
		return quant.LogisticInt8(x, p.InputZeroPoint, p.InputRangeRadius, p.InputMultiplier, p.InputLeftShift)
	}
	name := "logistic"
	if tanh {
		name = "tanh"
		f = func(x int8) int8 {
			return quant.TanhInt8(x, p.InputZeroPoint, p.InputRangeRadius, p.InputMultiplier, p.InputLeftShift)
		}
	}
	return actCase{name: fmt.Sprintf("%s table, input (%v, %d)", name, scale, zp), mode: blocks.ActivationTable, table: f, want: f}
}

// actReLU6Case is ReLU6 as a table, for when the clamp cannot be fused.
func actReLU6Case(t *testing.T, p quant.Params) actCase {
	t.Helper()
	lo, hi, err := quant.ActivationRange(quant.ActReLU6, p)
	if err != nil {
		t.Fatal(err)
	}
	f := func(x int8) int8 {
		xs := []int8{x}
		quant.Clamp(xs, lo, hi)
		return xs[0]
	}
	return actCase{name: fmt.Sprintf("relu6 table [%d, %d]", lo, hi), mode: blocks.ActivationTable, table: f, want: f}
}

func actIdentity(x int8) int8 { return x }

// actExpected is what a unit built as cfg computes for c: a mode whose
// datapath was not generated passes values through.
func actExpected(cfg blocks.ActivationConfig, c actCase) func(int8) int8 {
	if c.mode == blocks.ActivationLeaky && !cfg.Leaky || c.mode == blocks.ActivationTable && !cfg.Table {
		return actIdentity
	}
	return c.want
}

// actRuns returns the parameter sets of each run on the full design: every
// mode over all 256 inputs, four sets live at once.
func actRuns(t *testing.T, r *rand.Rand) [][]actCase {
	t.Helper()
	none := actCase{name: "none", mode: blocks.ActivationNone, want: actIdentity}
	reserved := actCase{name: "reserved mode 3", mode: 3, want: actIdentity}
	// Random but valid corners: any multiplier, shifts over the full range.
	rawRandom := quant.LeakyReLUParams{
		InputZeroPoint: int32(int8(r.Uint32())), OutputZeroPoint: int32(int8(r.Uint32())),
		IdentityMultiplier: int32(r.Uint32()), IdentityShift: 20 + r.IntN(12),
		AlphaMultiplier: int32(r.Uint32()), AlphaShift: -31 + r.IntN(8),
	}
	return [][]actCase{
		{
			none,
			actLeakyCase(t, 0.1, actParams(0.05, -10), actParams(0.04, 5)),
			actSigmoidCase(t, false, 0.1, -5),
			actLeakyCase(t, -0.3, actParams(0.03, -128), actParams(0.02, 17)),
		},
		{
			actLeakyCase(t, 0.5, actParams(0.1, 20), actParams(0.07, -30)),
			actSigmoidCase(t, true, 0.05, 3),
			actLeakyCase(t, 1.7, actParams(0.02, 0), actParams(0.05, -128)),
			actReLU6Case(t, actParams(0.05, -20)),
		},
		{
			actRawLeakyCase("raw: saturating SRDHM, wrapping zero point", quant.LeakyReLUParams{
				InputZeroPoint: 3, OutputZeroPoint: 5,
				IdentityMultiplier: math.MinInt32, IdentityShift: 24,
				AlphaMultiplier: math.MinInt32, AlphaShift: 31,
			}),
			actRawLeakyCase(fmt.Sprintf("raw: random %+v", rawRandom), rawRandom),
			reserved,
			actRawLeakyCase("raw: saturating SRDHM on both branches", quant.LeakyReLUParams{
				InputZeroPoint: -1, OutputZeroPoint: 0,
				IdentityMultiplier: math.MinInt32, IdentityShift: 24,
				AlphaMultiplier: math.MinInt32, AlphaShift: 31,
			}),
		},
	}
}

// actStim is one run: parameter writes, then the beats.
type actStim struct {
	cfg      blocks.ActivationConfig
	cases    []actCase // set s holds cases[s]
	payloads []*big.Int
	want     [][]int8 // per beat, per lane
	tags     []int
	stim     *sim.Stimulus
	prmEnd   int // first cycle the source may fire
	warm     int // beats at the start with no stalls on either side
}

// actPack packs named values into a word by a Field layout, as a host
// driver would; every field must be given.
func actPack(t *testing.T, fields []blocks.Field, vals map[string]int64) *big.Int {
	t.Helper()
	w := new(big.Int)
	for _, f := range fields {
		v, ok := vals[f.Name]
		if !ok {
			t.Fatalf("no value for control field %q", f.Name)
		}
		delete(vals, f.Name)
		bits := new(big.Int).Lsh(big.NewInt(1), uint(f.Width))
		u := new(big.Int).Mod(big.NewInt(v), bits)
		w.Or(w, u.Lsh(u, uint(f.LSB)))
	}
	if len(vals) != 0 {
		t.Fatalf("control fields %v are not in the layout", vals)
	}
	return w
}

func actControlWord(t *testing.T, mode blocks.ActivationMode, p quant.LeakyReLUParams) *big.Int {
	t.Helper()
	return actPack(t, blocks.ActivationControlFields(), map[string]int64{
		"mode": int64(mode), "in_zp": int64(p.InputZeroPoint), "out_zp": int64(p.OutputZeroPoint),
		"mult_identity": int64(p.IdentityMultiplier), "shift_identity": int64(p.IdentityShift),
		"mult_alpha": int64(p.AlphaMultiplier), "shift_alpha": int64(p.AlphaShift),
	})
}

// actStall is a stall pattern: stalled in about frac of the cycles in
// [from, to), never outside.
func actStall(seed uint64, frac float64, from, to int) func(int) bool {
	return func(c int) bool {
		if c < from || c >= to {
			return false
		}
		return rand.New(rand.NewPCG(seed, uint64(c))).Float64() < frac
	}
}

// actNewStim loads cases into sets 0.. and sends every int8 value through
// every lane of every set (each lane in its own random order), the beats of
// all sets interleaved at random. The first warm beats run without stalls
// so the latency and throughput can be checked; then both sides stall at
// random.
func actNewStim(t *testing.T, cfg blocks.ActivationConfig, cases []actCase, seed uint64) *actStim {
	t.Helper()
	if len(cases) > cfg.Stage.Sets() {
		t.Fatalf("%d cases for %d sets", len(cases), cfg.Stage.Sets())
	}
	r := rand.New(rand.NewPCG(seed, 0xac7))
	s := &actStim{cfg: cfg, cases: cases, stim: &sim.Stimulus{}, warm: 24}
	cycle := 0
	write := func(set, addr int, data *big.Int) {
		for _, ch := range []struct {
			port string
			v    *big.Int
		}{{"prm_we", big.NewInt(1)}, {"prm_set", big.NewInt(int64(set))}, {"prm_addr", big.NewInt(int64(addr))}, {"prm_data", data}} {
			s.stim.Changes = append(s.stim.Changes, sim.Change{Cycle: cycle, Port: ch.port, Value: ch.v})
		}
		cycle++
	}
	for set, c := range cases {
		table := c.table
		if table == nil {
			var rnd [256]int8
			for i := range rnd {
				rnd[i] = int8(r.Uint32())
			}
			table = func(x int8) int8 { return rnd[uint8(x)] }
		}
		entries := quant.Table256(table)
		for a, v := range entries {
			write(set, blocks.ActivationTableAddr+a, big.NewInt(int64(uint8(v))))
		}
		leaky := c.leaky
		if leaky == nil {
			leaky = &quant.LeakyReLUParams{InputZeroPoint: int32(int8(r.Uint32())), OutputZeroPoint: int32(int8(r.Uint32())),
				IdentityMultiplier: int32(r.Uint32()), IdentityShift: r.IntN(63) - 31,
				AlphaMultiplier: int32(r.Uint32()), AlphaShift: r.IntN(63) - 31}
		}
		write(set, blocks.ActivationControlAddr, actControlWord(t, c.mode, *leaky))
	}
	s.stim.Changes = append(s.stim.Changes, sim.Change{Cycle: cycle, Port: "prm_we", Value: big.NewInt(0)})
	s.prmEnd = cycle

	lanes := cfg.Stage.Lanes
	type beat struct{ set, i int }
	var order []beat
	perms := make([][][]int, len(cases))
	for set := range cases {
		for k := 0; k < lanes; k++ {
			perms[set] = append(perms[set], r.Perm(256))
		}
		for i := 0; i < 256; i++ {
			order = append(order, beat{set, i})
		}
	}
	r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	for _, b := range order {
		p := big.NewInt(int64(b.set))
		var want []int8
		for k := lanes - 1; k >= 0; k-- {
			x := int8(uint8(perms[b.set][k][b.i]))
			p.Lsh(p, 8).Or(p, big.NewInt(int64(uint8(x))))
			want = append([]int8{actExpected(cfg, cases[b.set])(x)}, want...)
		}
		s.payloads = append(s.payloads, p)
		s.want = append(s.want, want)
		s.tags = append(s.tags, b.set)
	}
	n := len(s.payloads)
	stallFrom := s.prmEnd + s.warm + 8
	horizon := stallFrom + 3*n
	src := actStall(seed*4+1, 0.3, stallFrom, horizon)
	s.stim.Sources = [][]*big.Int{s.payloads}
	s.stim.SourceStall = []func(int) bool{func(c int) bool { return c < s.prmEnd || src(c) }}
	s.stim.SinkStall = []func(int) bool{actStall(seed*4+2, 0.35, stallFrom, horizon)}
	s.stim.Expect = []int{n}
	return s
}

// check compares every beat with quant and the warm-up beats' timing with
// the documented latency; it returns the problems, per case name.
func (s *actStim) check(res *sim.Result, latency int) map[string][]string {
	problems := map[string][]string{}
	add := func(key, format string, a ...any) {
		if len(problems[key]) < 5 {
			problems[key] = append(problems[key], fmt.Sprintf(format, a...))
		}
	}
	beats := res.Sinks[0]
	if len(beats) != len(s.payloads) {
		add("stream", "%d beats for %d payloads (lost or duplicated)", len(beats), len(s.payloads))
	}
	lanes := s.cfg.Stage.Lanes
	for i := 0; i < min(len(beats), len(s.payloads)); i++ {
		d := beats[i].Data
		tag := int(new(big.Int).Rsh(d, uint(8*lanes)).Int64())
		if tag != s.tags[i] {
			add("stream", "beat %d has tag %d, want %d (lost, duplicated or reordered)", i, tag, s.tags[i])
			continue
		}
		c := s.cases[tag]
		for k := 0; k < lanes; k++ {
			got := int8(uint8(new(big.Int).Rsh(d, uint(8*k)).Uint64()))
			in := int8(uint8(new(big.Int).Rsh(s.payloads[i], uint(8*k)).Uint64()))
			if got != s.want[i][k] {
				add(c.name, "beat %d (cycle %d) lane %d: x=%d gives %d, want %d", i, beats[i].Cycle, k, in, got, s.want[i][k])
			}
		}
	}
	acc := res.Sources[0]
	for i := 0; i < min(s.warm, len(beats), len(acc)); i++ {
		if i > 0 && acc[i] != acc[i-1]+1 {
			add("timing", "unstalled beat %d accepted in cycle %d, the one before in %d: want one per cycle", i, acc[i], acc[i-1])
		}
		if beats[i].Cycle != acc[i]+latency {
			add("timing", "beat %d accepted in cycle %d left in cycle %d: want latency %d", i, acc[i], beats[i].Cycle, latency)
		}
	}
	return problems
}

func actVerifyTop(e *rtltest.Emitted) *sim.Top {
	top := e.VerifyTop()
	top.Sources = []sim.Stream{rtltest.StreamNamed("in")}
	top.Sinks = []sim.Stream{rtltest.StreamNamed("out")}
	return top
}

func actBuild(t *testing.T, cfg blocks.ActivationConfig) (*blocks.Activation, *rtltest.Emitted) {
	t.Helper()
	a, err := blocks.NewActivation(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a, rtltest.Build(t, a.Module)
}

// actRun runs every stimulus in both simulators and reports every problem.
func actRun(t *testing.T, top *sim.Top, latency int, stims []*actStim) {
	t.Helper()
	for _, sim := range rtltest.Simulators(t) {
		t.Run(sim.Name(), func(t *testing.T) {
			for run, s := range stims {
				res, err := rtltest.Run(t, sim, top, s.stim)
				if err != nil {
					t.Fatalf("run %d: %v (seed %d, rerun with -act-seed=%d)", run, err, *actSeed, *actSeed)
				}
				for key, ps := range s.check(res, latency) {
					for _, p := range ps {
						t.Errorf("run %d, %s: %s (seed %d)", run, key, p, *actSeed)
					}
				}
				t.Logf("run %d: %d beats, %d parameter writes, %d cycles", run, len(s.payloads), s.prmEnd, res.Cycles)
			}
		})
	}
}

func TestActConfigValidate(t *testing.T) {
	for _, c := range []blocks.ActivationConfig{
		{Stage: blocks.StageConfig{Lanes: 0, TagBits: 1}},
		{Stage: blocks.StageConfig{Lanes: 4, TagBits: 0}},
		{Stage: blocks.StageConfig{Lanes: 4, TagBits: 9}, Leaky: true},
	} {
		if _, err := blocks.NewActivation(c); err == nil {
			t.Errorf("%+v: NewActivation accepted an invalid configuration", c)
		}
	}
	if err := actFullCfg.Validate(); err != nil {
		t.Error(err)
	}
}

// TestActControlLayout pins the control word layout the host packs.
func TestActControlLayout(t *testing.T) {
	want := []blocks.Field{
		{Name: "mode", LSB: 0, Width: 2, Lanes: 1},
		{Name: "in_zp", LSB: 2, Width: 8, Lanes: 1, Signed: true},
		{Name: "out_zp", LSB: 10, Width: 8, Lanes: 1, Signed: true},
		{Name: "mult_identity", LSB: 18, Width: 32, Lanes: 1, Signed: true},
		{Name: "shift_identity", LSB: 50, Width: 6, Lanes: 1, Signed: true},
		{Name: "mult_alpha", LSB: 56, Width: 32, Lanes: 1, Signed: true},
		{Name: "shift_alpha", LSB: 88, Width: 6, Lanes: 1, Signed: true},
	}
	got := blocks.ActivationControlFields()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("control layout\n got %+v\nwant %+v", got, want)
	}
	if blocks.ActivationControlBits() != 94 {
		t.Errorf("control word is %d bits, want 94", blocks.ActivationControlBits())
	}
	a, err := blocks.NewActivation(actFullCfg)
	if err != nil {
		t.Fatal(err)
	}
	if w := a.Ports.PrmData.Width(); w != 94 {
		t.Errorf("prm_data is %d bits, want the control word's 94", w)
	}
	if w := a.Ports.PrmAddr.Width(); w != blocks.ActivationPrmAddrBits {
		t.Errorf("prm_addr is %d bits, want %d", w, blocks.ActivationPrmAddrBits)
	}
}

// TestActTools lints both test designs with Verilator and compiles them in
// Icarus. Yosys checks for latches on the pass-through and a one-lane
// LeakyReLU unit only: generic synthesis maps the tables to flip-flops,
// which takes tens of seconds even for one lane and two sets. TestActSynth
// (-act-synth) synthesizes every variant, tables included, with the same
// latch check.
func TestActTools(t *testing.T) {
	t.Parallel()
	rtltest.RequireTools(t, "verilator", "iverilog", "yosys")
	for _, cfg := range []blocks.ActivationConfig{actFullCfg, actMinCfg} {
		_, e := actBuild(t, cfg)
		if err := rtltest.LintVerilator(e.Top, e.Paths); err != nil {
			t.Error(err)
		}
		if err := rtltest.CompileIcarus(e.Top, e.Paths); err != nil {
			t.Error(err)
		}
	}
	for _, cfg := range []blocks.ActivationConfig{
		actMinCfg,
		{Stage: blocks.StageConfig{Lanes: 1, TagBits: 1}, Leaky: true},
	} {
		_, e := actBuild(t, cfg)
		if _, err := rtltest.SynthYosys(e.Top, e.Paths); err != nil {
			t.Error(err)
		}
	}
}

// TestActModes runs every mode over all 256 int8 inputs on every lane, four
// parameter sets interleaved, with random stalls on both sides, in both
// simulators: pass-through, LeakyReLU (alpha 0.1, 0.5, 1.7, −0.3 with
// different quantizations, and raw parameters at the datapath's corners),
// logistic, tanh and ReLU6 tables, and the reserved mode.
func TestActModes(t *testing.T) {
	t.Parallel()
	a, e := actBuild(t, actFullCfg)
	if a.Latency != 4 {
		t.Errorf("latency %d, want 4", a.Latency)
	}
	r := rand.New(rand.NewPCG(*actSeed, 1))
	var stims []*actStim
	for i, cases := range actRuns(t, r) {
		stims = append(stims, actNewStim(t, actFullCfg, cases, *actSeed*16+uint64(i)))
	}
	actRun(t, actVerifyTop(e), a.Latency, stims)
}

// TestActMinimalPassesThrough loads LeakyReLU and table parameters into the
// unit built without either datapath: both modes must pass values through.
func TestActMinimalPassesThrough(t *testing.T) {
	t.Parallel()
	a, e := actBuild(t, actMinCfg)
	if a.Latency != 1 {
		t.Errorf("latency %d, want 1", a.Latency)
	}
	cases := []actCase{
		actLeakyCase(t, 0.5, actParams(0.1, 20), actParams(0.07, -30)),
		actSigmoidCase(t, false, 0.1, -5),
	}
	actRun(t, actVerifyTop(e), a.Latency, []*actStim{actNewStim(t, actMinCfg, cases, *actSeed*16+9)})
}

// TestActOneDatapath runs the first two runs of TestActModes on the units
// with only LeakyReLU and only tables (2 lanes, 4 sets): the missing
// datapath's mode passes through. Icarus only, to spare two Verilator
// builds; the full design shows the simulators agree.
func TestActOneDatapath(t *testing.T) {
	t.Parallel()
	rtltest.RequireTools(t, "iverilog", "vvp")
	for _, cfg := range []blocks.ActivationConfig{
		{Stage: blocks.StageConfig{Lanes: 2, TagBits: 2}, Leaky: true},
		{Stage: blocks.StageConfig{Lanes: 2, TagBits: 2}, Table: true},
	} {
		a, e := actBuild(t, cfg)
		want := 4
		if !cfg.Leaky {
			want = 2
		}
		if a.Latency != want {
			t.Errorf("%s: latency %d, want %d", a.Name(), a.Latency, want)
		}
		r := rand.New(rand.NewPCG(*actSeed, 1))
		for run, cases := range actRuns(t, r)[:2] {
			s := actNewStim(t, cfg, cases, *actSeed*16+uint64(run))
			res, err := rtltest.Run(t, sim.Icarus{}, actVerifyTop(e), s.stim)
			if err != nil {
				t.Fatalf("%s run %d: %v (seed %d)", a.Name(), run, err, *actSeed)
			}
			for key, ps := range s.check(res, a.Latency) {
				for _, p := range ps {
					t.Errorf("%s run %d, %s: %s (seed %d)", a.Name(), run, key, p, *actSeed)
				}
			}
		}
	}
}

// actMutations break the full design's Verilog in two places: the leaky
// rounding (RoundingDivideByPOT rounds negative ties up instead of away
// from zero) and the table read address (x+1 is looked up instead of x).
var actMutations = []struct {
	name, re, repl string
}{
	{"leaky rounding", `\{31'h0, high_(\d+)\[31\]\}`, `{31'h0, 1'b0}`},
	{"table address", `(tbl_rd_\d+ <= table_\d+\[)(\w+)\]`, `${1}${2} + 1'b1]`},
}

// TestActMutantIsCaught runs the first run of TestActModes on the mutated
// design: some LeakyReLU case and every table case must fail, the
// pass-through case must not (the rounding mutation only shows on negative
// ties, which the negative-alpha case never produces). It runs in Icarus
// only: a Verilog text mutant is one more Verilator build, and the two
// simulators are shown to agree on the real design by TestActModes.
func TestActMutantIsCaught(t *testing.T) {
	t.Parallel()
	rtltest.RequireTools(t, "iverilog", "vvp")
	a, e := actBuild(t, actFullCfg)
	dir := t.TempDir()
	top := actVerifyTop(e)
	top.Files = nil
	for _, f := range e.Files {
		text := string(f.Text)
		for _, mu := range actMutations {
			re := regexp.MustCompile(mu.re)
			if f.Module == e.Top && !re.MatchString(text) {
				t.Fatalf("mutation %q: pattern %s not found in the Verilog", mu.name, mu.re)
			}
			text = re.ReplaceAllString(text, mu.repl)
		}
		p := filepath.Join(dir, f.Name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		top.Files = append(top.Files, p)
	}
	r := rand.New(rand.NewPCG(*actSeed, 1))
	cases := actRuns(t, r)[0]
	s := actNewStim(t, actFullCfg, cases, *actSeed*16)
	res, err := rtltest.Run(t, sim.Icarus{}, top, s.stim)
	if err != nil {
		t.Fatalf("the mutant should run to the end and deliver wrong values: %v", err)
	}
	problems := s.check(res, a.Latency)
	leakyCaught := false
	for _, c := range cases {
		caught := len(problems[c.name]) > 0
		if caught {
			t.Logf("%s: caught: %s", c.name, problems[c.name][0])
		}
		switch c.mode {
		case blocks.ActivationNone:
			if caught {
				t.Errorf("%s: failed on the mutant, whose pass-through is intact", c.name)
			}
		case blocks.ActivationTable:
			if !caught {
				t.Errorf("%s: the table address mutant passed (seed %d)", c.name, *actSeed)
			}
		case blocks.ActivationLeaky:
			leakyCaught = leakyCaught || caught
		}
	}
	if !leakyCaught {
		t.Errorf("the leaky rounding mutant passed every LeakyReLU case (seed %d)", *actSeed)
	}
	if ps := problems["stream"]; len(ps) > 0 {
		t.Errorf("the mutants keep the stream intact, yet: %s", strings.Join(ps, "; "))
	}
}

var actCellsRe = regexp.MustCompile(`Number of cells:\s+(\d+)`)

// actSynthRAM synthesizes like Yosys' generic synth but leaves the
// memories as RAM cells (an FPGA or ASIC flow would map them to block RAM
// or SRAM) and returns the number of cells.
func actSynthRAM(t *testing.T, e *rtltest.Emitted) int {
	t.Helper()
	var script strings.Builder
	for _, p := range e.Paths {
		fmt.Fprintf(&script, "read_verilog %s; ", p)
	}
	fmt.Fprintf(&script, "synth -top %s -run :fine; opt -fast -full; techmap; opt -fast; abc -fast; opt -fast; tee -o /dev/stdout stat", e.Top)
	out, err := exec.Command("yosys", "-q", "-p", script.String()).CombinedOutput()
	if err != nil {
		t.Fatalf("yosys: %v\n%s", err, out)
	}
	return actCells(t, string(out))
}

func actCells(t *testing.T, report string) int {
	t.Helper()
	m := actCellsRe.FindAllStringSubmatch(report, -1)
	if m == nil {
		t.Fatalf("no cell count in the Yosys report:\n%s", report)
	}
	n, err := strconv.Atoi(m[len(m)-1][1])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestActSynth logs Yosys cell counts per lane (with -act-synth): for each
// variant the increment from 1 to 2 lanes under generic synthesis (which
// maps the tables to flip-flops, and checks for latches), then the tested
// 4-lane, 4-set design both ways: generic, and with the tables kept as RAM.
func TestActSynth(t *testing.T) {
	if !*actSynth {
		t.Skip("run with -act-synth to log cell counts")
	}
	rtltest.RequireTools(t, "yosys")
	generic := func(cfg blocks.ActivationConfig) int {
		_, e := actBuild(t, cfg)
		out, err := rtltest.SynthYosys(e.Top, e.Paths)
		if err != nil {
			t.Fatal(err)
		}
		return actCells(t, out)
	}
	for _, v := range []struct {
		name         string
		leaky, table bool
	}{{"pass-through only", false, false}, {"LeakyReLU", true, false}, {"tables (2 sets)", false, true}, {"LeakyReLU and tables (2 sets)", true, true}} {
		cfg := blocks.ActivationConfig{Stage: blocks.StageConfig{Lanes: 1, TagBits: 1}, Leaky: v.leaky, Table: v.table}
		one := generic(cfg)
		cfg.Stage.Lanes = 2
		two := generic(cfg)
		t.Logf("generic, %-30s 1 lane %6d cells, 2 lanes %6d cells: %6d per lane", v.name, one, two, two-one)
	}
	lanes := actFullCfg.Stage.Lanes
	n := generic(actFullCfg)
	t.Logf("generic, tested design (%d lanes, %d sets, LeakyReLU and tables): %d cells, %d per lane", lanes, actFullCfg.Stage.Sets(), n, n/lanes)
	_, e := actBuild(t, actFullCfg)
	n = actSynthRAM(t, e)
	t.Logf("tables as RAM, tested design: %d cells (%d RAMs: a %dx%d-bit table per lane, one control word memory), %d per lane",
		n, lanes+1, actFullCfg.Stage.Sets()*blocks.ActivationTableSize, 8, n/lanes)
}
