package blocks_test

import (
	"context"
	"flag"
	"fmt"
	"github.com/tpugen/tpugen/arch"
	"math"
	"math/big"
	"math/bits"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tpugen/tpugen/blocks"
	"github.com/tpugen/tpugen/internal/rtltest"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/verify/sim"
)

var (
	requantSeed  = flag.Uint64("requant-seed", 1, "seed of the requantizer tests' random stimulus")
	requantSynth = flag.Bool("requant-synth", false, "run the requantizer's yosys area figures (slow)")
)

// The regression design: four lanes, four parameter sets.
const (
	requantLanes    = 4
	requantTagBits  = 2
	requantPerPhase = 200 // vectors streamed between two parameter reloads
)

// requantParams is one lane's parameter word.
type requantParams struct {
	bias, mul  int32
	shift      int
	zp, lo, hi int32
}

func (p requantParams) String() string {
	return fmt.Sprintf("{bias %d mul %d shift %d zp %d clamp [%d, %d]}", p.bias, p.mul, p.shift, p.zp, p.lo, p.hi)
}

// requantWord packs p with the block's exported layout, as a host driver would.
func requantWord(p requantParams) *big.Int {
	vals := map[string]int64{"bias": int64(p.bias), "multiplier": int64(p.mul), "shift": int64(p.shift),
		"out_zp": int64(p.zp), "act_min": int64(p.lo), "act_max": int64(p.hi)}
	w := new(big.Int)
	for _, f := range blocks.RequantParamFields() {
		v, ok := vals[f.Name]
		if !ok {
			panic("requant test: unknown field " + f.Name)
		}
		w.Or(w, new(big.Int).Lsh(pattern(big.NewInt(v), f.Width), uint(f.LSB)))
	}
	return w
}

// requantVector is one input beat: a tag and one accumulator per lane.
type requantVector struct {
	phase, tag int
	acc        [requantLanes]int32
}

// requantRun is the stimulus of one regression run and what it must give:
// phases of requantPerPhase vectors, each phase preceded by a drain of the
// pipeline and a reload of every parameter word, with random stalls on both
// streams while vectors flow. Stalls are decided while a cycle model of the
// stage's handshake runs, so the reload windows fall exactly between phases
// and the model also predicts every accept and deliver cycle.
type requantRun struct {
	mode      quant.Rounding
	seed      uint64
	params    [][][]requantParams // [phase][set][lane]
	vecs      []requantVector
	stim      *sim.Stimulus
	wantAcc   []int // cycle each vector is accepted, per the model
	wantBeats []int // cycle each result is delivered
}

// archRounding is the hardware rounding key of quant's rounding mode.
func archRounding(mode quant.Rounding) arch.Rounding {
	if mode == quant.RoundingSingle {
		return arch.SingleRounding
	}
	return arch.DoubleRounding
}

func requantMode(mode quant.Rounding) blocks.RequantConfig {
	return blocks.RequantConfig{Stage: blocks.StageConfig{Lanes: requantLanes, TagBits: requantTagBits}, Rounding: archRounding(mode)}
}

func newRequantRun(mode quant.Rounding, seed uint64, latency int) *requantRun {
	r := rand.New(rand.NewPCG(seed, uint64(mode)+1))
	rr := &requantRun{mode: mode, seed: seed, stim: &sim.Stimulus{}}
	sets := 1 << requantTagBits
	slots := sets * requantLanes
	pool := requantParamPool(r, mode)
	for len(pool)%slots != 0 {
		pool = append(pool, requantFinish(r, requantParams{mul: requantNormMul(r, mode), shift: r.IntN(62) - 31}))
	}
	phases := len(pool) / slots
	for j := 0; j < phases; j++ {
		ps := make([][]requantParams, sets)
		for g := range ps {
			ps[g] = pool[j*slots+g*requantLanes : j*slots+(g+1)*requantLanes]
		}
		rr.params = append(rr.params, ps)
		for i := 0; i < requantPerPhase; i++ {
			v := requantVector{phase: j, tag: r.IntN(sets)}
			for k := range v.acc {
				v.acc[k] = requantAcc(r, ps[v.tag][k], mode)
			}
			rr.vecs = append(rr.vecs, v)
		}
	}
	rr.schedule(r, latency)
	return rr
}

// schedule runs the handshake model (in_ready = adv = !out_valid ||
// out_ready, all stages shift together on adv) and builds the stalls and
// the parameter writes around it.
func (rr *requantRun) schedule(r *rand.Rand, latency int) {
	n := len(rr.vecs)
	occ := make([]bool, latency)
	var src, sink []bool
	next, c := 0, 0
	step := func(srcStall, sinkStall bool) {
		src, sink = append(src, srcStall), append(sink, sinkStall)
		outValid := occ[latency-1]
		adv := !outValid || !sinkStall
		fire := next < n && !srcStall && adv
		if fire {
			rr.wantAcc = append(rr.wantAcc, c)
			next++
		}
		if outValid && !sinkStall {
			rr.wantBeats = append(rr.wantBeats, c)
		}
		if adv {
			copy(occ[1:], occ[:latency-1])
			occ[0] = fire
		}
		c++
	}
	empty := func() bool {
		for _, o := range occ {
			if o {
				return false
			}
		}
		return true
	}
	change := func(port string, v *big.Int) {
		rr.stim.Changes = append(rr.stim.Changes, sim.Change{Cycle: c, Port: port, Value: v})
	}
	for j, ps := range rr.params {
		// Drain: the source waits and the sink takes everything, so no
		// beat that could read a parameter is in flight during the writes.
		for !empty() {
			step(true, false)
		}
		sinkRate := []float64{0.3, 0.05, 0.6, 0.4}[j%4]
		srcRate := []float64{0.3, 0.6, 0.05, 0.4}[j%4]
		for _, w := range r.Perm(len(ps) * requantLanes) {
			g, k := w/requantLanes, w%requantLanes
			change("prm_we", big.NewInt(1))
			change("prm_set", big.NewInt(int64(g)))
			change("prm_addr", big.NewInt(int64(k)))
			change("prm_data", requantWord(ps[g][k]))
			step(true, r.Float64() < sinkRate)
		}
		// Junk on the write port without prm_we must not be written.
		change("prm_we", big.NewInt(0))
		change("prm_set", big.NewInt(int64(r.IntN(len(ps)))))
		change("prm_data", randBits(r, blocks.RequantParamBits))
		end := (j + 1) * requantPerPhase
		for next < end {
			step(r.Float64() < srcRate, r.Float64() < sinkRate)
		}
	}
	for len(rr.wantBeats) < n {
		step(false, r.Float64() < 0.3)
	}
	var payloads []*big.Int
	for _, v := range rr.vecs {
		payloads = append(payloads, requantPayload(v))
	}
	rr.stim.Sources = [][]*big.Int{payloads}
	rr.stim.SourceStall = []func(int) bool{func(c int) bool { return c < len(src) && src[c] }}
	rr.stim.SinkStall = []func(int) bool{func(c int) bool { return c < len(sink) && sink[c] }}
	rr.stim.Expect = []int{n}
}

// requantPayload packs a vector as the stage's in_data: lanes, then the tag.
func requantPayload(v requantVector) *big.Int {
	d := big.NewInt(int64(v.tag))
	for k := requantLanes - 1; k >= 0; k-- {
		d.Lsh(d, 32).Or(d, pattern(big.NewInt(int64(v.acc[k])), 32))
	}
	return d
}

// requantNormMul is a multiplier as QuantizeMultiplier makes them:
// |m| in [2^30, 2^31), negative only where double rounding allows it.
func requantNormMul(r *rand.Rand, mode quant.Rounding) int32 {
	m := int32(1<<30 + r.Int64N(1<<30))
	if mode == quant.RoundingDouble && r.IntN(2) == 0 {
		m = -m
	}
	return m
}

// requantTieableMul returns mo·2^j with a small odd mo, so that some
// accumulators make an exact tie whose result is small enough to escape the
// clamp. j is picked, when it can be, so such an accumulator fits in int32
// for this shift.
func requantTieableMul(r *rand.Rand, mode quant.Rounding, shift int) int32 {
	mo := int64(1 + 2*r.IntN(128))
	top := 31 - bits.Len64(uint64(mo)) // largest j with mo·2^j < 2^31
	lo, hi := 0, top
	if mode == quant.RoundingSingle {
		lo, hi = max(0, -shift), min(top, 30-shift)
	} else {
		hi = min(top, 30-max(shift, 0))
	}
	j := r.IntN(top + 1)
	if lo <= hi {
		j = lo + r.IntN(hi-lo+1)
	}
	m := int32(mo << j)
	if mode == quant.RoundingDouble && r.IntN(2) == 0 {
		m = -m
	}
	return m
}

// requantFinish adds a random bias, zero point and clamp to p.
func requantFinish(r *rand.Rand, p requantParams) requantParams {
	switch r.IntN(3) {
	case 0:
		p.bias = 0
	case 1:
		p.bias = int32(r.IntN(10001) - 5000)
	default:
		p.bias = int32(r.Uint32())
	}
	p.zp = int32(r.IntN(256) - 128)
	p.lo, p.hi = -128, 127
	switch u := r.IntN(20); {
	case u < 5: // a narrower clamp, as a fused ReLU6 or the like gives
		a, b := int32(r.IntN(256)-128), int32(r.IntN(256)-128)
		p.lo, p.hi = min(a, b), max(a, b)
	case u < 7: // min > max: quant tests the minimum first
		p.lo, p.hi = int32(r.IntN(256)-128), int32(r.IntN(256)-128)
	case u < 8:
		p.lo = p.zp
	}
	return p
}

// requantEdgeMuls are the multipliers each rounding mode must handle at the
// edges of its range (single rounding: TFLite allows only m >= 0).
func requantEdgeMuls(mode quant.Rounding) []int32 {
	m := []int32{0, 1, 1 << 30, math.MaxInt32}
	if mode == quant.RoundingDouble {
		m = append(m, -1, -(1 << 30), math.MinInt32, math.MinInt32+1)
	}
	return m
}

// requantParamPool returns every lane parameter word of a run: for each
// shift from -31 to 30 a normalised multiplier and a tie-friendly one, and
// the edge multipliers at the extreme shifts and a random one.
func requantParamPool(r *rand.Rand, mode quant.Rounding) []requantParams {
	var pool []requantParams
	for s := -31; s <= 30; s++ {
		pool = append(pool,
			requantFinish(r, requantParams{mul: requantNormMul(r, mode), shift: s}),
			requantFinish(r, requantParams{mul: requantTieableMul(r, mode, s), shift: s}))
	}
	for _, m := range requantEdgeMuls(mode) {
		for _, s := range []int{-31, 0, 30, r.IntN(62) - 31} {
			pool = append(pool, requantFinish(r, requantParams{mul: m, shift: s}))
		}
	}
	r.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	return pool
}

var requantEdgeValues = [...]int32{math.MinInt32, math.MaxInt32, 0, 1, -1}

// requantAcc draws one accumulator for a lane with parameters p: edge
// values (before or after the bias), raw random words, values aimed at the
// unclamped output range, and constructed exact ties.
func requantAcc(r *rand.Rand, p requantParams, mode quant.Rounding) int32 {
	switch u := r.IntN(100); {
	case u < 10:
		return requantEdgeValues[r.IntN(len(requantEdgeValues))]
	case u < 20:
		return requantEdgeValues[r.IntN(len(requantEdgeValues))] - p.bias
	case u < 35:
		return int32(r.Uint32())
	case u < 65:
		if x, ok := requantTie(r, p, mode); ok {
			return x - p.bias
		}
	}
	return requantTarget(r, p) - p.bias
}

// requantTarget returns an x (the sum acc + bias) whose result lands near a
// random value in [-170, 170].
func requantTarget(r *rand.Rand, p requantParams) int32 {
	scale := float64(p.mul) * math.Ldexp(1, p.shift-31)
	if scale == 0 {
		return int32(r.Uint32())
	}
	x := math.Round((r.Float64()*2-1)*170/scale) + float64(r.IntN(3)-1)
	return int32(math.Max(math.MinInt32, math.Min(math.MaxInt32, x)))
}

// requantTie tries to construct an x that makes one rounding step an exact
// tie: RoundingDivideByPOT's (a high-mul result h = odd·2^(e-1), searched
// for), the high multiply's (x·m ≡ 2^30 mod 2^31) or single rounding's
// (x·m ≡ 2^(t-1) mod 2^t). Every candidate is verified with requantTies.
func requantTie(r *rand.Rand, p requantParams, mode quant.Rounding) (int32, bool) {
	if p.mul == 0 {
		return 0, false
	}
	j := bits.TrailingZeros32(uint32(p.mul))
	var x int64
	ok := false
	// pow2 returns xo·2^i for a random odd xo with |xo·2^(i+extra)| < 2^31.
	pow2 := func(i, extra int) {
		if i < 0 || i+extra > 31 {
			return
		}
		if i+extra == 31 {
			x, ok = math.MinInt32>>extra, true
			return
		}
		lim := min(int64(31), (int64(1)<<(31-i-extra)-1)|1)
		x = (2*r.Int64N(lim/2+1) + 1) << i
		if r.IntN(2) == 0 {
			x = -x
		}
		ok = x >= math.MinInt32 && x <= math.MaxInt32
	}
	if mode == quant.RoundingSingle {
		pow2(30-p.shift-j, 0)
	} else {
		left, e := max(p.shift, 0), max(-p.shift, 0)
		if e >= 1 && r.IntN(3) != 0 {
			odd := int64(1)
			if e <= 25 {
				odd = 2*r.Int64N(min(int64(40), int64(1)<<(31-e)/2)) + 1
			}
			if r.IntN(2) == 0 {
				odd = -odd
			}
			h := odd << (e - 1)
			est := math.Round(float64(h) * (1 << 31) / float64(p.mul))
			for d := -3.0; d <= 3 && !ok; d++ {
				c := est + d
				if c >= math.MinInt32 && c <= math.MaxInt32 && int64(quant.SaturatingRoundingDoublingHighMul(int32(c), p.mul)) == h {
					x, ok = int64(c), true
				}
			}
		} else {
			pow2(30-j-left, left)
		}
	}
	if !ok || len(requantTies(int32(x), p.mul, p.shift, mode)) == 0 {
		return 0, false
	}
	return int32(x), true
}

// requantTies names the rounding steps for which x (acc + bias) is an exact
// tie, with the sign of the value being rounded: "srdhm+", "rdbpot-",
// "single+", ...
func requantTies(x, m int32, shift int, mode quant.Rounding) []string {
	sign := func(neg bool) string {
		if neg {
			return "-"
		}
		return "+"
	}
	if mode == quant.RoundingSingle {
		t := uint(31 - shift)
		p := int64(x) * int64(m)
		if p&(int64(1)<<t-1) == int64(1)<<(t-1) {
			return []string{"single" + sign(p < 0)}
		}
		return nil
	}
	var ties []string
	left, e := max(shift, 0), max(-shift, 0)
	xs := x << left
	if xs == math.MinInt32 && m == math.MinInt32 {
		return nil
	}
	ab := int64(xs) * int64(m)
	if ab&(1<<31-1) == 1<<30 {
		ties = append(ties, "srdhm"+sign(ab < 0))
	}
	hm := int64(quant.SaturatingRoundingDoublingHighMul(xs, m))
	if e >= 1 && hm&(int64(1)<<e-1) == int64(1)<<(e-1) {
		ties = append(ties, "rdbpot"+sign(hm < 0))
	}
	return ties
}

// requantCoverage counts what the run's vectors exercise; ties count only
// when the result escapes the clamp, where a wrong rounding would show.
func (rr *requantRun) coverage() map[string]int {
	cov := map[string]int{}
	for _, v := range rr.vecs {
		for k, acc := range v.acc {
			p := rr.params[v.phase][v.tag][k]
			x := acc + p.bias
			cov[fmt.Sprintf("shift %d", p.shift)]++
			cov[fmt.Sprintf("mul %d", p.mul)]++
			if s := int64(acc) + int64(p.bias); s != int64(x) {
				cov["bias wrap"]++
			}
			if rr.mode == quant.RoundingDouble && x<<max(p.shift, 0) == math.MinInt32 && p.mul == math.MinInt32 {
				cov["saturation"]++
			}
			for _, e := range requantEdgeValues {
				if acc == e {
					cov["acc edge"]++
				}
				if x == e {
					cov["x edge"]++
				}
			}
			out := quant.MultiplyByQuantizedMultiplierMode(x, p.mul, p.shift, rr.mode) + p.zp
			if out < p.lo || out > p.hi {
				cov["clamped"]++
				continue
			}
			cov["unclamped"]++
			for _, tie := range requantTies(x, p.mul, p.shift, rr.mode) {
				cov["tie "+tie]++
			}
		}
	}
	return cov
}

// checkCoverage fails t when the run misses a case the brief of the block
// names: every shift, the edge multipliers, ties of both signs at every
// rounding step, bias wrap, saturation.
func (rr *requantRun) checkCoverage(t *testing.T) {
	t.Helper()
	cov := rr.coverage()
	need := []string{"bias wrap", "acc edge", "x edge", "clamped", "unclamped"}
	for s := -31; s <= 30; s++ {
		need = append(need, fmt.Sprintf("shift %d", s))
	}
	for _, m := range requantEdgeMuls(rr.mode) {
		need = append(need, fmt.Sprintf("mul %d", m))
	}
	if rr.mode == quant.RoundingDouble {
		need = append(need, "saturation", "tie srdhm+", "tie srdhm-", "tie rdbpot+", "tie rdbpot-")
	} else {
		need = append(need, "tie single+", "tie single-")
	}
	for _, n := range need {
		if least := map[bool]int{true: 20, false: 1}[strings.HasPrefix(n, "tie")]; cov[n] < least {
			t.Errorf("seed %d: stimulus covers %q %d times, want at least %d", rr.seed, n, cov[n], least)
		}
	}
	var ties []string
	for k, v := range cov {
		if strings.HasPrefix(k, "tie") || !strings.Contains(k, " ") || k == "bias wrap" || k == "saturation" || k == "clamped" || k == "unclamped" {
			ties = append(ties, fmt.Sprintf("%s %d", k, v))
		}
	}
	sort.Strings(ties)
	t.Logf("%s rounding: %d vectors × %d lanes in %d phases; %s", rr.mode, len(rr.vecs), requantLanes, len(rr.params), strings.Join(ties, ", "))
}

// check compares a run's result with quant and with the handshake model:
// every beat's tag and lanes, then the accept and deliver cycles. Data
// mismatches come first, named by vector, lane and parameters.
func (rr *requantRun) check(res *sim.Result) []string {
	var problems []string
	beats := res.Sinks[0]
	for i := 0; i < min(len(beats), len(rr.vecs)) && len(problems) < 10; i++ {
		v, d := rr.vecs[i], beats[i].Data
		if tag := int(new(big.Int).Rsh(d, 8*requantLanes).Int64()); tag != v.tag {
			problems = append(problems, fmt.Sprintf("vector %d (cycle %d): tag %d, want %d", i, beats[i].Cycle, tag, v.tag))
		}
		for k, acc := range v.acc {
			p := rr.params[v.phase][v.tag][k]
			got := int32(int8(new(big.Int).Rsh(d, uint(8*k)).Uint64() & 0xff))
			if want := quant.Requantize(acc, p.bias, p.mul, p.shift, p.zp, p.lo, p.hi, rr.mode); got != want {
				problems = append(problems, fmt.Sprintf("vector %d (phase %d, tag %d, cycle %d) lane %d: acc %d, params %v: got %d, want %d (ties: %v)",
					i, v.phase, v.tag, beats[i].Cycle, k, acc, p, got, want, requantTies(acc+p.bias, p.mul, p.shift, rr.mode)))
			}
		}
	}
	if len(beats) != len(rr.vecs) {
		problems = append(problems, fmt.Sprintf("%d beats delivered for %d vectors", len(beats), len(rr.vecs)))
	}
	if d := firstCycleDiff("accepted", rr.wantAcc, res.Sources[0]); d != "" {
		problems = append(problems, "handshake model: "+d)
	}
	var got []int
	for _, b := range beats {
		got = append(got, b.Cycle)
	}
	if d := firstCycleDiff("delivered", rr.wantBeats, got); d != "" {
		problems = append(problems, "handshake model: "+d)
	}
	return problems
}

func requantNew(t *testing.T, cfg blocks.RequantConfig) *blocks.Requantizer {
	t.Helper()
	rq, err := blocks.NewRequantizer(cfg)
	must(t, err)
	return rq
}

func requantVerifyTop(e *rtltest.Emitted) *sim.Top {
	top := e.VerifyTop()
	top.Sources = []sim.Stream{rtltest.StreamNamed("in")}
	top.Sinks = []sim.Stream{rtltest.StreamNamed("out")}
	return top
}

var requantModes = []quant.Rounding{quant.RoundingDouble, quant.RoundingSingle}

// TestRequant streams about 2,000 vectors (four lanes, four parameter sets
// used interleaved, reloaded between phases) through the requantizer in
// each rounding mode, in both simulators, with random stalls on both
// streams, and compares every lane with quant.Requantize and every
// handshake with the pipeline's model. The stimulus is first checked to
// cover every shift, the edge multipliers, exact ties of both signs at
// every rounding step, bias wrap and saturation.
func TestRequant(t *testing.T) {
	t.Parallel()
	for _, mode := range requantModes {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			rq := requantNew(t, requantMode(mode))
			e := rtltest.Build(t, rq.Module)
			rtltest.RequireTools(t, "verilator")
			if err := rtltest.LintVerilator(e.Top, e.Paths); err != nil {
				t.Error(err)
			}
			run := newRequantRun(mode, *requantSeed, rq.Latency)
			run.checkCoverage(t)
			requantRunBoth(t, requantVerifyTop(e), run, func(t *testing.T, problems []string, res *sim.Result) {
				for _, p := range problems {
					t.Error(p)
				}
				if len(problems) > 0 {
					t.Logf("seed %d: rerun with go test ./blocks -run 'TestRequant$/%s' -requant-seed=%d", run.seed, mode, run.seed)
				}
				t.Logf("%d vectors in %d cycles", len(run.vecs), res.Cycles)
			})
		})
	}
}

// requantRunBoth runs run in both simulators in parallel and hands each
// checker's problems to check.
func requantRunBoth(t *testing.T, top *sim.Top, run *requantRun, check func(t *testing.T, problems []string, res *sim.Result)) {
	for _, sim := range rtltest.Simulators(t) {
		t.Run(sim.Name(), func(t *testing.T) {
			t.Parallel()
			res, err := rtltest.Run(t, sim, top, run.stim)
			if err != nil {
				t.Fatalf("seed %d: %v", run.seed, err)
			}
			check(t, run.check(res), res)
		})
	}
}

// requantMutations break the rounding in the emitted Verilog: double
// rounding rounds negative RoundingDivideByPOT ties up instead of away from
// zero, single rounding truncates instead of rounding half up.
var requantMutations = map[quant.Rounding]*regexp.Regexp{
	quant.RoundingDouble: regexp.MustCompile(`(?m)^(\s*assign rnd_away_\d+ = ).*;$`),
	quant.RoundingSingle: regexp.MustCompile(`(?m)^(\s*assign rnd_up_\d+ = ).*;$`),
}

// TestRequantMutantIsCaught runs the regression's checker on requantizers
// whose rounding is broken in the Verilog text; it must report a wrong lane
// value in both simulators, or TestRequant would prove little.
func TestRequantMutantIsCaught(t *testing.T) {
	t.Parallel()
	for _, mode := range requantModes {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			e := rtltest.Build(t, requantNew(t, requantMode(mode)).Module)
			top := requantVerifyTop(e)
			dir := t.TempDir()
			top.Files = nil
			for _, p := range e.Paths {
				text, err := os.ReadFile(p)
				must(t, err)
				re := requantMutations[mode]
				if n := len(re.FindAll(text, -1)); n != requantLanes {
					t.Fatalf("%s: the mutation matches %d lines, want one per lane (%d): has the emitted form changed?", filepath.Base(p), n, requantLanes)
				}
				text = re.ReplaceAll(text, []byte("${1}1'b0;"))
				mp := filepath.Join(dir, filepath.Base(p))
				must(t, os.WriteFile(mp, text, 0o644))
				top.Files = append(top.Files, mp)
			}
			run := newRequantRun(mode, *requantSeed, requantNew(t, requantMode(mode)).Latency)
			requantRunBoth(t, top, run, func(t *testing.T, problems []string, _ *sim.Result) {
				if len(problems) == 0 {
					t.Fatalf("seed %d: the checker passed a requantizer with broken rounding", run.seed)
				}
				if !strings.Contains(problems[0], " lane ") {
					t.Errorf("first problem is not a wrong lane value: %s", problems[0])
				}
				t.Logf("caught (%d problems): %s", len(problems), problems[0])
			})
		})
	}
}

// TestRequantTools lints, compiles and synthesizes (no latches) small
// requantizers: one lane (the smallest address port) and three lanes with
// eight parameter sets (an address that is not a power of two).
func TestRequantTools(t *testing.T) {
	t.Parallel()
	for _, mode := range requantModes {
		for _, sc := range []blocks.StageConfig{{Lanes: 1, TagBits: 1}, {Lanes: 3, TagBits: 3}} {
			t.Run(fmt.Sprintf("%s_l%d", mode, sc.Lanes), func(t *testing.T) {
				t.Parallel()
				e := rtltest.Build(t, requantNew(t, blocks.RequantConfig{Stage: sc, Rounding: archRounding(mode)}).Module)
				if sc.Lanes == 1 {
					rtltest.CheckTools(t, e)
					return
				}
				rtltest.RequireTools(t, "verilator", "iverilog")
				if err := rtltest.LintVerilator(e.Top, e.Paths); err != nil {
					t.Error(err)
				}
				if err := rtltest.CompileIcarus(e.Top, e.Paths); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

// TestRequantConfig checks validation, defaults, names and the parameter
// word layout.
func TestRequantConfig(t *testing.T) {
	ok := blocks.StageConfig{Lanes: 8, TagBits: 4}
	for _, c := range []struct {
		cfg  blocks.RequantConfig
		name string // "" when Validate must fail
		lat  int
	}{
		{blocks.RequantConfig{Stage: ok}, "requant_l8_t4_double", 6},
		{blocks.RequantConfig{Stage: ok, Rounding: arch.DoubleRounding}, "requant_l8_t4_double", 6},
		{blocks.RequantConfig{Stage: ok, Rounding: arch.SingleRounding}, "requant_l8_t4_single", 5},
		{blocks.RequantConfig{Stage: ok, Rounding: arch.Rounding(7)}, "", 0},
		{blocks.RequantConfig{Stage: blocks.StageConfig{Lanes: 0, TagBits: 1}}, "", 0},
		{blocks.RequantConfig{Stage: blocks.StageConfig{Lanes: 1, TagBits: 0}}, "", 0},
	} {
		rq, err := blocks.NewRequantizer(c.cfg)
		if c.name == "" {
			if err == nil || c.cfg.Validate() == nil {
				t.Errorf("%+v: no error", c.cfg)
			}
			continue
		}
		if err != nil {
			t.Errorf("%+v: %v", c.cfg, err)
			continue
		}
		if rq.Name() != c.name || rq.Latency != c.lat {
			t.Errorf("%+v: name %s latency %d rounding %q, want %s %d", c.cfg, rq.Name(), rq.Latency, rq.Config.Rounding, c.name, c.lat)
		}
	}
	var got []string
	total := 0
	for _, f := range blocks.RequantParamFields() {
		got = append(got, fmt.Sprintf("%s@%d:%d", f.Name, f.LSB, f.Width))
		total += f.Width * f.Lanes
	}
	want := "bias@0:32 multiplier@32:32 shift@64:6 out_zp@70:8 act_min@78:8 act_max@86:8"
	if strings.Join(got, " ") != want || total != blocks.RequantParamBits {
		t.Errorf("layout %s (%d bits), want %s (%d bits)", strings.Join(got, " "), total, want, blocks.RequantParamBits)
	}
}

// TestRequantSynth reports the area of a one-lane requantizer per rounding
// mode: generic `synth -flatten` cells and `synth_ice40 -dsp` SB_MAC16,
// SB_LUT4 and flip-flops. Run with -requant-synth.
func TestRequantSynth(t *testing.T) {
	if !*requantSynth {
		t.Skip("area figures run with -requant-synth")
	}
	rtltest.RequireTools(t, "yosys")
	for _, mode := range requantModes {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			const lanes = 1
			e := rtltest.Build(t, requantNew(t, blocks.RequantConfig{Stage: blocks.StageConfig{Lanes: lanes, TagBits: 1}, Rounding: archRounding(mode)}).Module)
			generic := requantYosysStat(t, e, "synth -flatten -top "+e.Top)
			ice := requantYosysStat(t, e, "synth_ice40 -dsp -top "+e.Top)
			dff := 0
			for k, v := range ice {
				if strings.HasPrefix(k, "SB_DFF") {
					dff += v
				}
			}
			t.Logf("%s, per lane: generic synth %d cells; synth_ice40 -dsp %d cells: %d SB_MAC16, %d SB_LUT4, %d SB_CARRY, %d SB_DFF*",
				e.Top, generic["cells"]/lanes, ice["cells"]/lanes, ice["SB_MAC16"]/lanes, ice["SB_LUT4"]/lanes, ice["SB_CARRY"]/lanes, dff/lanes)
		})
	}
}

var requantStatLine = regexp.MustCompile(`^\s+(Number of cells:|\S+)\s+(\d+)$`)

// requantYosysStat runs a synthesis command on e and returns the cell
// counts of `stat` by type, plus "cells" for the total.
func requantYosysStat(t *testing.T, e *rtltest.Emitted, cmd string) map[string]int {
	t.Helper()
	var script strings.Builder
	for _, p := range e.Paths {
		fmt.Fprintf(&script, "read_verilog %s; ", p)
	}
	fmt.Fprintf(&script, "%s; tee -o /dev/stdout stat", cmd)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "yosys", "-q", "-p", script.String()).CombinedOutput()
	if err != nil {
		t.Fatalf("yosys %s: %v\n%s", cmd, err, out)
	}
	stat := map[string]int{}
	for _, line := range strings.Split(string(out), "\n") {
		if m := requantStatLine.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[2])
			if m[1] == "Number of cells:" {
				stat["cells"] = n
			} else {
				stat[m[1]] = n
			}
		}
	}
	return stat
}
