package blocks_test

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/blocks"
	"github.com/tpugen/tpugen/internal/rtltest"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/verify/sim"
)

// The float-scale requantizer's test design: four lanes, four parameter
// sets, so sixteen (set, lane) slots, each with its own scale.
const (
	fqLanes   = 4
	fqTagBits = 2
	fqSlots   = fqLanes << fqTagBits
	fqLoad    = fqSlots + 2 // cycles the source waits while parameters load
)

var fqCfg = blocks.RequantConfig{Stage: blocks.StageConfig{Lanes: fqLanes, TagBits: fqTagBits}, Rounding: arch.FloatRounding}

type fqParams struct {
	bias       int32
	scale      float32
	zp, lo, hi int32
}

func (p fqParams) String() string {
	return fmt.Sprintf("{bias %d scale %g (%#08x) zp %d clamp [%d, %d]}", p.bias, p.scale, math.Float32bits(p.scale), p.zp, p.lo, p.hi)
}

func fqWord(p fqParams) *big.Int {
	vals := map[string]int64{"bias": int64(p.bias), "scale": int64(math.Float32bits(p.scale)),
		"out_zp": int64(p.zp), "act_min": int64(p.lo), "act_max": int64(p.hi)}
	w := new(big.Int)
	for _, f := range blocks.RequantParamFieldsFor(arch.FloatRounding) {
		v, ok := vals[f.Name]
		if !ok {
			panic("float requant test: unknown field " + f.Name)
		}
		w.Or(w, new(big.Int).Lsh(pattern(big.NewInt(v), f.Width), uint(f.LSB)))
	}
	return w
}

// fqScales are the slots' scales: typical conv and matmul scales, tiny
// ones (so that the sums reach 2^28 and float32(x) rounds, and products of
// float32s land on halves), powers of two (exact ties), large ones
// (saturation, float32 overflow), a negative one, zero and the extremes of
// the normal range.
func fqScales(r *rand.Rand) []float32 {
	s := []float32{0.00390625, 0x1p-20, 0x1p-7, 3.0517578e-05, 0.5, 1, 1000, -0.013, 0,
		math.MaxFloat32, 0x1p-126, 0x1.fffffep-21}
	for len(s) < fqSlots {
		switch r.IntN(3) {
		case 0:
			s = append(s, float32(math.Ldexp(1+r.Float64(), -r.IntN(28))))
		case 1:
			s = append(s, float32(0.0001+r.Float64()*0.05))
		default:
			s = append(s, float32(math.Ldexp(1+r.Float64(), -18-r.IntN(8))))
		}
	}
	r.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	return s
}

type fqVector struct {
	tag int
	acc [fqLanes]int32
}

// fqSum picks a sum acc+bias for a slot: mostly near n + 1/2 for the
// slot's scale (n a random output, so the roundings decide), else the
// int32 extremes, zero, small or anything.
func fqSum(r *rand.Rand, s float32) int32 {
	switch k := r.IntN(10); {
	case k < 6 && s != 0:
		n := float64(r.IntN(601) - 300)
		x := math.Round((n+0.5)/math.Abs(float64(s))) + float64(r.IntN(7)-3)
		if x >= math.MinInt32 && x <= math.MaxInt32 {
			return int32(x)
		}
		return int32(r.Uint32())
	case k == 6:
		return []int32{math.MinInt32, math.MaxInt32, 0, 1, -1, 1 << 24, 1<<24 + 1, -(1<<25 + 2)}[r.IntN(8)]
	case k == 7:
		return int32(r.IntN(2001) - 1000)
	default:
		return int32(r.Uint32())
	}
}

// fqExact is round half to even of (acc+bias)·scale in exact arithmetic,
// plus zp, clamped: what the float32 roundings sometimes differ from.
func fqExact(x int32, p fqParams) int32 {
	q := new(big.Rat).Mul(new(big.Rat).SetInt64(int64(x)), new(big.Rat).SetFloat64(float64(p.scale)))
	fl, _ := q.Float64()
	r := math.RoundToEven(fl) + float64(p.zp)
	return int32(max(float64(p.lo), min(float64(p.hi), r)))
}

type fqRun struct {
	params [fqSlots]fqParams // slot = tag*fqLanes + lane
	vecs   []fqVector
	stim   *sim.Stimulus
}

func newFQRun(seed uint64, n int) *fqRun {
	r := rand.New(rand.NewPCG(seed, 0xf10a7))
	run := &fqRun{}
	for i, s := range fqScales(r) {
		p := fqParams{bias: int32(r.Uint32()), scale: s, zp: int32(r.IntN(256) - 128), lo: -128, hi: 127}
		switch r.IntN(4) {
		case 0:
			p.zp = -128 // outputs up to 255 above the zero point
		case 1:
			p.lo = max(p.zp, -128) // a fused ReLU
		case 2:
			p.bias = int32(r.IntN(2001) - 1000)
		}
		run.params[i] = p
	}
	for range n {
		v := fqVector{tag: r.IntN(1 << fqTagBits)}
		for k := range v.acc {
			p := run.params[v.tag*fqLanes+k]
			v.acc[k] = fqSum(r, p.scale) - p.bias // wraps, as the hardware's add
		}
		run.vecs = append(run.vecs, v)
	}
	stim := &sim.Stimulus{}
	for i, p := range run.params {
		stim.Changes = append(stim.Changes,
			sim.Change{Cycle: i, Port: "prm_we", Value: big.NewInt(1)},
			sim.Change{Cycle: i, Port: "prm_set", Value: big.NewInt(int64(i / fqLanes))},
			sim.Change{Cycle: i, Port: "prm_addr", Value: big.NewInt(int64(i % fqLanes))},
			sim.Change{Cycle: i, Port: "prm_data", Value: fqWord(p)})
	}
	stim.Changes = append(stim.Changes, sim.Change{Cycle: fqSlots, Port: "prm_we", Value: big.NewInt(0)})
	var src []*big.Int
	for _, v := range run.vecs {
		d := big.NewInt(int64(v.tag))
		for k := fqLanes - 1; k >= 0; k-- {
			d.Lsh(d, 32).Or(d, pattern(big.NewInt(int64(v.acc[k])), 32))
		}
		src = append(src, d)
	}
	horizon := 2 * n
	stim.Sources = [][]*big.Int{src}
	stim.SourceStall = []func(int) bool{func(c int) bool { return c < fqLoad || poolStall(seed*10+3, 0.3, 0, horizon)(c) }}
	stim.SinkStall = []func(int) bool{poolStall(seed*10+4, 0.3, 0, horizon)}
	stim.Expect = []int{n}
	stim.MaxCycles = 10*n + 1000
	run.stim = stim
	return run
}

// coverage counts the cases that make the mode hard: exact float32 ties
// at the integer rounding, results where the float32 roundings differ from
// exact arithmetic, sums that float32 rounds, and saturation both ways.
func (run *fqRun) coverage() map[string]int {
	c := map[string]int{}
	for _, v := range run.vecs {
		for k, acc := range v.acc {
			p := run.params[v.tag*fqLanes+k]
			x := acc + p.bias
			prod := float32(float64(float32(x)) * float64(p.scale))
			if f := math.Abs(float64(prod)); f-math.Floor(f) == 0.5 && f < 400 {
				c["tie"]++
			}
			if quant.RequantizeFloat(acc, p.bias, p.scale, p.zp, p.lo, p.hi) != fqExact(x, p) {
				c["float differs from exact"]++
			}
			if float64(float32(x)) != float64(x) {
				c["sum rounded to float32"]++
			}
			switch got := quant.RequantizeFloat(acc, p.bias, p.scale, p.zp, p.lo, p.hi); {
			case got == p.hi && float64(prod)+float64(p.zp) > float64(p.hi)+1:
				c["saturate high"]++
			case got == p.lo && float64(prod)+float64(p.zp) < float64(p.lo)-1:
				c["saturate low"]++
			}
		}
	}
	return c
}

func (run *fqRun) check(res *sim.Result) []string {
	var problems []string
	beats := res.Sinks[0]
	for i := 0; i < min(len(beats), len(run.vecs)) && len(problems) < 10; i++ {
		v, d := run.vecs[i], beats[i].Data
		if tag := int(new(big.Int).Rsh(d, 8*fqLanes).Int64()); tag != v.tag {
			problems = append(problems, fmt.Sprintf("vector %d (cycle %d): tag %d, want %d", i, beats[i].Cycle, tag, v.tag))
		}
		for k, acc := range v.acc {
			p := run.params[v.tag*fqLanes+k]
			got := int32(int8(new(big.Int).Rsh(d, uint(8*k)).Uint64() & 0xff))
			if want := quant.RequantizeFloat(acc, p.bias, p.scale, p.zp, p.lo, p.hi); got != want {
				problems = append(problems, fmt.Sprintf("vector %d (tag %d, cycle %d) lane %d: acc %d, params %v: got %d, want %d",
					i, v.tag, beats[i].Cycle, k, acc, p, got, want))
			}
		}
	}
	if len(beats) != len(run.vecs) {
		problems = append(problems, fmt.Sprintf("%d beats delivered for %d vectors", len(beats), len(run.vecs)))
	}
	return problems
}

// TestRequantFloat streams 3,000 vectors through the float-scale
// requantizer in both simulators with stalls on both sides and compares
// every lane with quant.RequantizeFloat. The stimulus must cover exact
// ties, sums float32 rounds, results where float32 arithmetic differs from
// exact arithmetic, and saturation both ways.
func TestRequantFloat(t *testing.T) {
	t.Parallel()
	seed := *requantSeed
	rq := requantNew(t, fqCfg)
	e := rtltest.Build(t, rq.Module)
	rtltest.CheckTools(t, e)
	run := newFQRun(seed, 3000)
	cov := run.coverage()
	for _, k := range []string{"tie", "float differs from exact", "sum rounded to float32", "saturate high", "saturate low"} {
		if cov[k] < 10 {
			t.Errorf("stimulus covers %q %d times, want at least 10", k, cov[k])
		}
	}
	t.Logf("coverage %v", cov)
	top := requantVerifyTop(e)
	for _, s := range rtltest.Simulators(t) {
		res, err := rtltest.Run(t, s, top, run.stim)
		if err != nil {
			t.Fatalf("%s: %v", s.Name(), err)
		}
		for _, p := range run.check(res) {
			t.Errorf("%s: %s", s.Name(), p)
		}
	}
	if t.Failed() {
		t.Logf("rerun with go test ./blocks -run 'TestRequantFloat$' -requant-seed=%d", seed)
	}
}

// fqMutants break each rounding of the emitted Verilog: the sum's float32
// rounding, the product's and the integer rounding each truncate.
var fqMutants = []*regexp.Regexp{
	regexp.MustCompile(`(?m)^(\s*assign fx_mx_up_\d+ = ).*;$`),
	regexp.MustCompile(`(?m)^(\s*assign fx_mq_(?:hi|lo)_up_\d+ = ).*;$`),
	regexp.MustCompile(`(?m)^(\s*assign fx_int_up_\d+ = ).*;$`),
}

// TestRequantFloatMutantIsCaught requires each mutant to fail the
// comparison with quant.RequantizeFloat (in Icarus when it is there: it
// builds a mutant faster than Verilator).
func TestRequantFloatMutantIsCaught(t *testing.T) {
	t.Parallel()
	e := rtltest.Build(t, requantNew(t, fqCfg).Module)
	run := newFQRun(*requantSeed, 3000)
	sims := rtltest.Simulators(t)
	simr := sims[len(sims)-1]
	for _, s := range sims {
		if s.Name() == "icarus" {
			simr = s
		}
	}
	for i, re := range fqMutants {
		dir := t.TempDir()
		var files []string
		mutated := 0
		for _, f := range e.Files {
			text := string(f.Text)
			if f.Module == e.Top {
				mutated = len(re.FindAllString(text, -1))
				text = re.ReplaceAllString(text, "${1}1'b0;")
			}
			p := filepath.Join(dir, f.Name)
			if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, p)
		}
		if mutated < fqLanes {
			t.Fatalf("mutant %d changed %d lines, want one per lane at least: has the emitted form changed?", i, mutated)
		}
		top := requantVerifyTop(e)
		top.Files = files
		res, err := rtltest.Run(t, simr, top, run.stim)
		if err != nil {
			t.Fatalf("mutant %d: %v", i, err)
		}
		problems := run.check(res)
		if len(problems) == 0 {
			t.Errorf("mutant %d (%s) passed the comparison", i, re)
			continue
		}
		t.Logf("mutant %d caught: %s", i, problems[0])
	}
}
