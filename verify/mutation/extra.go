package mutation

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/verify"
	"github.com/tpugen/tpugen/verify/sim"
)

// ExtraCase is a targeted case: a layer whose parameters reach corners
// that the regression's realistic random layers reach too rarely, found by
// the mutants that survived them (see docs/mutation.md).
type ExtraCase struct {
	Name  string
	Layer *compile.Layer
	A, B  compile.Matrix // a GEMM, when Layer is nil
	// Split, for a GEMM, runs it as two GEMMs over the two halves of K
	// sent back to back, the second's activation beats all flagged acc:
	// the accumulator adds the second half to the first's results.
	Split int
	// RunningSum, for a GEMM of one weight tile on a weight-stationary
	// unit, sends every row of A to accumulator row 0 (acc on all but the
	// first, last on all): result beat i is the sum of the products of
	// rows 0..i.
	RunningSum bool
	// Offset, for a GEMM, moves every activation beat's accumulator row
	// by Offset (and so every result's).
	Offset int
	Stalls bool
}

// TargetedVersion numbers the set of targeted cases; a new version only
// appends cases, so a mutant an older set killed stays killed.
const TargetedVersion = 7

// ExtraCases returns the targeted cases for cfg (none without the
// pipeline): fully connected layers with multipliers from 2^-31 to 2^9
// (right shifts up to 31 and left shifts), the extreme multipliers 2^30
// and 2^31-1, accumulators and biases over the whole int32 range, extreme
// output zero points and random clamps, LeakyReLU with negative and large
// slopes and arbitrary tables, and pooled convolutions.
//
// Version 2 adds GEMMs over every accumulator row and past the end of the
// memory (a chunk wrap), accumulating over three K tiles, plain and with
// stalls: the random cases use at most 3×rows+2 rows, so the high address
// bits (and the accumulator's read-after-write bypass on them) went
// untested.
func ExtraCases(cfg arch.Config, seed uint64) []ExtraCase {
	var out []ExtraCase
	if cfg.Requant {
		r := rand.New(rand.NewPCG(seed^0xE7A5C0DE, 0x5EED))
		for i := 0; i < 8; i++ {
			out = append(out, extraFC(r, cfg, i))
		}
		if cfg.Pool {
			for i := 0; i < 2; i++ {
				out = append(out, extraConv(r, cfg, i))
			}
		}
	}
	// Version 2.
	r := rand.New(rand.NewPCG(seed^0xACC0DE, 0x5EED2))
	for i := 0; i < 2; i++ {
		m, k, n := cfg.AccDepth+cfg.Rows+1, 2*cfg.Rows+1, cfg.Cols+1
		out = append(out, ExtraCase{Name: fmt.Sprintf("targeted gemm %dx%dx%d over every accumulator row", m, k, n),
			A: randMatrix(r, m, k, cfg.InputBits, cfg.InputSigned), B: randMatrix(r, k, n, cfg.WeightBits, cfg.WeightSigned), Stalls: i == 1})
	}
	// Version 3: K split into two GEMMs, the second accumulating onto the
	// first's rows (the acc flag on every beat). The compiler never sets
	// acc on an output-stationary unit, nor on a first K tile, so the
	// accumulator's read path and the flag's pipeline went untested there;
	// with one row, back-to-back accumulations of one address also need
	// the accumulator's bypass.
	// Many rows for WS (a row per accumulator address); one row tile for
	// OS, whose row tiles share the accumulator rows as column tiles do.
	tall := 2*cfg.Rows + 1
	if cfg.Dataflow == arch.OS {
		tall = cfg.Rows
	}
	for i, m := range []int{1, tall} {
		// One column tile: the plans give every column tile the same
		// accumulator rows, so only the last tile's results stay in them.
		k, n := 2*cfg.Rows+3, cfg.Cols
		out = append(out, ExtraCase{Name: fmt.Sprintf("targeted gemm %dx%dx%d in two accumulated halves of K", m, k, n),
			A: randMatrix(r, m, k, cfg.InputBits, cfg.InputSigned), B: randMatrix(r, k, n, cfg.WeightBits, cfg.WeightSigned),
			Split: cfg.Rows + i, Stalls: i == 1})
	}
	// Version 4: one accumulator row accumulated by consecutive beats (the
	// accumulator's read-after-write bypass: the compiler never sends one
	// address twice in a row); and small accumulators under large
	// multipliers (shifts -1 to 6), so results with few fraction bits
	// stay inside the int8 range instead of saturating.
	if cfg.Dataflow == arch.WS {
		for i := 0; i < 2; i++ {
			m, k, n := 3*cfg.Rows+2, cfg.Rows, cfg.Cols
			out = append(out, ExtraCase{Name: fmt.Sprintf("targeted gemm %dx%dx%d summed into one accumulator row", m, k, n),
				A: randMatrix(r, m, k, cfg.InputBits, cfg.InputSigned), B: randMatrix(r, k, n, cfg.WeightBits, cfg.WeightSigned),
				RunningSum: true, Stalls: i == 1})
		}
	}
	if cfg.Requant {
		for i := 0; i < 2; i++ {
			out = append(out, smallFC(r, cfg, i))
		}
	}
	// Version 5: GEMMs whose accumulator rows are moved by offsets that
	// set every address bit (alternating patterns): an output-stationary
	// plan puts every tile at row 0, so the high bits of the readout's
	// base address went untested.
	for i, off := range []int{0x155, 0xAA} {
		m, k, n := 2*cfg.Rows+1, cfg.Rows+2, cfg.Cols+1
		if off+m+cfg.Rows > cfg.AccDepth {
			off %= max(cfg.AccDepth-m-cfg.Rows, 1)
		}
		out = append(out, ExtraCase{Name: fmt.Sprintf("targeted gemm %dx%dx%d at accumulator rows moved by %d", m, k, n, off),
			A: randMatrix(r, m, k, cfg.InputBits, cfg.InputSigned), B: randMatrix(r, k, n, cfg.WeightBits, cfg.WeightSigned),
			Offset: off, Stalls: i == 1})
	}
	// Version 6: rounding points in every lane. Each channel puts the
	// rounding's half bit at one bit b of the 64-bit product (shift
	// 30-b, so the result is the product over 2^(b+1)); over the layers
	// every lane sees every b from 0 to 61 twice, with multipliers of
	// every length (powers of two, so the bits below b are zero and the
	// halves are exact ties, and arbitrary ones) and products of both
	// signs mostly inside the int8 range. A flipped product or
	// multiplier bit at or above the half bit then always changes the
	// result; realistic multipliers (always at least 2^30, shifts of a
	// few bits) leave the low product bits and the large shifts unseen.
	if cfg.Requant {
		n := (2*tieBits + cfg.ParamSets - 1) / cfg.ParamSets
		for i := 0; i < n; i++ {
			out = append(out, tieFC(r, cfg, i))
		}
	}
	// Version 7: values one below, at and one above both ends of the
	// clamp, in every lane, for clamps whose ends set each bit: the
	// random layers' results rarely land next to an end, so a wrong bit
	// in a clamp comparison went unseen.
	if cfg.Requant && !cfg.Rounding.IsFloat() {
		for i := 0; i < 8; i++ {
			out = append(out, clampFC(r, cfg, i))
		}
	}
	return out
}

// clampFC is version 7's layer i: a fully connected layer of two input
// features whose every channel computes v = lo + x1 + x2*(hi-lo) before the
// clamp [lo, hi] (multiplier 2^30 with a left shift of 1 is the identity),
// the rows cycling x1 through -1, 0, 1 (around 1 for unsigned inputs) and
// x2 through 0, 1: each lane sees lo-1, lo, lo+1, hi-1, hi and hi+1.
func clampFC(r *rand.Rand, cfg arch.Config, i int) ExtraCase {
	outC, batches := cfg.Cols*cfg.ParamSets, 3*cfg.Rows+1
	lo := int32(r.IntN(129) - 128)
	if i < 2 {
		lo = []int32{-128, -1}[i] // every bit of the low end set, then the lowest
	}
	// x1 around base (1 for unsigned inputs), hi-lo a weight.
	base, wmax := int32(0), int32(1)<<(cfg.WeightBits-1)-1
	if !cfg.InputSigned {
		base = 1
	}
	if !cfg.WeightSigned {
		wmax = 1<<cfg.WeightBits - 1
	}
	hi := lo + int32(r.IntN(int(min(127-lo, wmax))+1))
	zp := int32(r.IntN(256) - 128)
	st := compile.Requant{ZeroPoint: zp, ActMin: lo, ActMax: hi}
	bias := make([]int32, outC)
	weights := make([]int8, 2*outC)
	for c := 0; c < outC; c++ {
		st.Multipliers = append(st.Multipliers, 1<<30)
		st.Shifts = append(st.Shifts, 1)
		weights[2*c], weights[2*c+1] = 1, int8(hi-lo)
		bias[c] = lo - zp - base
	}
	input := make([]int8, 2*batches)
	for j := 0; j < batches; j++ {
		input[2*j], input[2*j+1] = int8(base+int32(j%3)-1), int8(j/3%2)
	}
	l := &compile.Layer{Kind: compile.FC, InShape: quant.Shape{N: batches, H: 1, W: 1, C: 2}, Input: input,
		WeightShape: quant.Shape{N: outC, H: 1, W: 1, C: 2}, Weights: weights,
		Bias: bias, Requant: st, Act: compile.Activation{Func: arch.ActIdentity}}
	return ExtraCase{Name: fmt.Sprintf("targeted fc %dx2->%d at the clamp [%d, %d], zero point %d", batches, outC, lo, hi, zp), Layer: l, Stalls: i%4 == 3}
}

// tieBits is the number of product bits the half bit of the rounding can
// sit at: shifts from 30 down to -31.
const tieBits = 62

// tieFC is version 6's layer i: a fully connected layer of one input
// feature (weights 1 and -1, so each batch row gives every channel another
// accumulator, or 0 where the accumulator must stay tiny) whose channel on lane l of parameter set s rounds at
// product bit (i*sets+s+7*l) mod 62.
func tieFC(r *rand.Rand, cfg arch.Config, i int) ExtraCase {
	sets, lanes := cfg.ParamSets, cfg.Cols
	outC, batches := lanes*sets, 3*cfg.Rows+1
	st := compile.Requant{}
	bias := make([]int32, outC)
	weights := make([]int8, outC)
	for c := 0; c < outC; c++ {
		lane, set := c%lanes, c/lanes
		b := (i*sets + set + 7*lane) % tieBits
		// m < 2^a with a at most b+1, and the accumulator within about
		// 2^(b+7)/m: results of a few dozen steps.
		amin, amax := 0, min(31, b+1)
		xmax := int64(math.MaxInt32 / 2)
		if cfg.Rounding == arch.DoubleRounding && b < 30 {
			// Double rounding shifts the accumulator left by 30-b first,
			// in 32 bits: keep it from wrapping, and the multiplier long
			// enough for results beyond ±1.
			xmax, amin = int64(1)<<(b+1)-1, min(8, amax)
		}
		// An accumulator below 2^30 must reach 2^(b+7) for large b.
		amin = max(amin, min(amax, b-23))
		a := amin + r.IntN(amax-amin+1)
		m := int64(1) << max(a-1, 0)
		if i%2 == 1 && a > 1 {
			m += r.Int64N(m) // not a power of two: the bits below b vary
		}
		st.Multipliers = append(st.Multipliers, int32(m))
		st.Shifts = append(st.Shifts, 30-b)
		lim := min((int64(1)<<min(b+7, 62))/m, xmax)
		// Inputs are -16..15: a channel whose accumulator must stay
		// smaller takes weight 0 (its bias alone is the accumulator).
		if lim > 32 {
			weights[c] = int8(1 - 2*r.IntN(2))
			lim -= 16
		}
		bias[c] = int32(r.Int64N(2*lim+1) - lim)
	}
	input := make([]int8, batches)
	for j := range input {
		input[j] = int8(r.IntN(32) - 16)
	}
	l := &compile.Layer{Kind: compile.FC, InShape: quant.Shape{N: batches, H: 1, W: 1, C: 1}, Input: input,
		WeightShape: quant.Shape{N: outC, H: 1, W: 1, C: 1}, Weights: weights,
		Bias: bias, Requant: st, Act: compile.Activation{Func: arch.ActIdentity}}
	return ExtraCase{Name: fmt.Sprintf("targeted fc %dx1->%d rounding at product bits, pass %d", batches, outC, i), Layer: l, Stalls: i%5 == 4}
}

// smallFC is a fully connected layer of values in -2..2 and biases in
// -20..20 under multipliers from 2^-2 to 2^6.
func smallFC(r *rand.Rand, cfg arch.Config, i int) ExtraCase {
	outC := min(cfg.Cols*cfg.ParamSets, 2*cfg.Cols+1)
	batches, in := 2*cfg.Rows+1, cfg.Rows+2
	small := func(n, lo, hi int) []int8 {
		out := make([]int8, n)
		for j := range out {
			out[j] = int8(lo + r.IntN(hi-lo+1))
		}
		return out
	}
	st := compile.Requant{ZeroPoint: int32(r.IntN(21) - 10)}
	bias := make([]int32, outC)
	for c := 0; c < outC; c++ {
		m, sh := quant.QuantizeMultiplier(math.Ldexp(1+r.Float64(), r.IntN(9)-2))
		st.Multipliers = append(st.Multipliers, m)
		st.Shifts = append(st.Shifts, sh)
		bias[c] = int32(r.IntN(41) - 20)
	}
	act, mode := extraActivation(r, cfg, i+1)
	l := &compile.Layer{Kind: compile.FC, InShape: quant.Shape{N: batches, H: 1, W: 1, C: in}, Input: small(batches*in, -2, 2),
		WeightShape: quant.Shape{N: outC, H: 1, W: 1, C: in}, Weights: small(outC*in, -2, 2),
		Bias: bias, InputZP: int32(r.IntN(5) - 2), Requant: st, Act: act}
	return ExtraCase{Name: fmt.Sprintf("targeted fc %dx%d->%d small values, large multipliers, %s", batches, in, outC, mode), Layer: l, Stalls: i == 1}
}

func randMatrix(r *rand.Rand, rows, cols, bits int, signed bool) compile.Matrix {
	lo, hi := arch.OperandRange(bits, signed)
	m := compile.NewMatrix(rows, cols)
	for i := range m {
		for j := range m[i] {
			m[i][j] = lo + r.Int64N(hi-lo+1)
		}
	}
	return m
}

func i8s(r *rand.Rand, n int, extreme bool) []int8 {
	out := make([]int8, n)
	corners := []int8{-128, 127, -127, 0, 1, -1}
	for i := range out {
		if extreme && r.IntN(2) == 0 {
			out[i] = corners[r.IntN(len(corners))]
		} else {
			out[i] = int8(r.IntN(256) - 128)
		}
	}
	return out
}

// extraStage is a requantization with one channel per column of every
// parameter set the layer uses, multipliers spread over the whole range.
func extraStage(r *rand.Rand, outC int, i int) (compile.Requant, []int32) {
	st := compile.Requant{}
	zps := []int32{-128, 127, 0, int32(r.IntN(256) - 128)}
	st.ZeroPoint = zps[i%len(zps)]
	for c := 0; c < outC; c++ {
		var m int32
		var sh int
		switch {
		case c == 0:
			m, sh = math.MaxInt32, r.IntN(8)-4 // the largest significand
		case c == 1:
			m, sh = 1<<30, -r.IntN(32) // exactly one half: ties after the shift
		default:
			m, sh = quant.QuantizeMultiplier(math.Ldexp(1+r.Float64(), r.IntN(40)-31))
			if m == 0 {
				m, sh = 1<<30, -31
			}
		}
		st.Multipliers = append(st.Multipliers, m)
		st.Shifts = append(st.Shifts, sh)
	}
	if i%2 == 1 {
		lo := int32(r.IntN(256) - 128)
		hi := lo + int32(r.IntN(int(128-lo)))
		st.ActMin, st.ActMax = lo, hi
	}
	bias := make([]int32, outC)
	for c := range bias {
		if i%3 == 0 {
			bias[c] = int32(r.Uint32()) // wraps with the accumulator
		} else {
			bias[c] = int32(r.IntN(1<<20) - 1<<19)
		}
	}
	return st, bias
}

// extraActivation picks each activation the configuration has in turn:
// LeakyReLU with slopes from -1 to 3 and extreme zero points, or an
// arbitrary table.
func extraActivation(r *rand.Rand, cfg arch.Config, i int) (compile.Activation, string) {
	var modes []string
	if cfg.Activation.HasLeaky() {
		modes = append(modes, "leaky")
	}
	if cfg.Activation.HasTable() {
		modes = append(modes, "table")
	}
	modes = append(modes, "none")
	switch mode := modes[i%len(modes)]; mode {
	case "leaky":
		zps := []int32{-128, 127, 0, int32(r.IntN(256) - 128)}
		inQ := quant.Params{Scale: float32(0.005 + 0.2*r.Float64()), ZeroPoint: zps[i%4], DType: quant.Int8}
		outQ := quant.Params{Scale: float32(0.005 + 0.2*r.Float64()), ZeroPoint: zps[(i+1)%4], DType: quant.Int8}
		if lk, err := quant.PrepareLeakyReLU(inQ, outQ, float32(-1+4*r.Float64())); err == nil {
			return compile.Activation{Func: arch.ActLeaky, Leaky: lk}, "leaky"
		}
	case "table":
		var t [256]int8
		for k := range t {
			t[k] = int8(r.IntN(256) - 128)
		}
		return compile.Activation{Func: arch.ActTable, Table: t}, "table"
	}
	return compile.Activation{Func: arch.ActIdentity}, "none"
}

func extraFC(r *rand.Rand, cfg arch.Config, i int) ExtraCase {
	outC := min(cfg.Cols*cfg.ParamSets, 2*cfg.Cols+1+i%2)
	batches, in := cfg.Rows+3+r.IntN(cfg.Rows), 1+r.IntN(3*cfg.Rows+2)
	st, bias := extraStage(r, outC, i)
	act, mode := extraActivation(r, cfg, i)
	extreme := i%2 == 0
	l := &compile.Layer{Kind: compile.FC, InShape: quant.Shape{N: batches, H: 1, W: 1, C: in}, Input: i8s(r, batches*in, extreme),
		WeightShape: quant.Shape{N: outC, H: 1, W: 1, C: in}, Weights: clampWeights(i8s(r, outC*in, extreme)),
		Bias: bias, InputZP: int32(r.IntN(256) - 128), Requant: st, Act: act}
	return ExtraCase{Name: fmt.Sprintf("targeted fc %dx%d->%d %s", batches, in, outC, mode), Layer: l, Stalls: i%4 == 3}
}

// clampWeights keeps weights symmetric (-127..127), as the quantizer does.
func clampWeights(w []int8) []int8 {
	for i := range w {
		w[i] = max(w[i], -127)
	}
	return w
}

func extraConv(r *rand.Rand, cfg arch.Config, i int) ExtraCase {
	outC := cfg.Cols + 1
	h, w := min(4+r.IntN(5), cfg.PoolHeight), min(4+r.IntN(5), cfg.PoolWidth)
	inC := 1 + r.IntN(3)
	st, bias := extraStage(r, outC, i+4)
	act, mode := extraActivation(r, cfg, i)
	l := &compile.Layer{Kind: compile.Conv, InShape: quant.Shape{N: 1, H: h, W: w, C: inC}, Input: i8s(r, h*w*inC, i == 0),
		WeightShape: quant.Shape{N: outC, H: 3, W: 3, C: inC}, Weights: clampWeights(i8s(r, outC*9*inC, false)),
		Window: quant.Window{StrideH: 1, StrideW: 1, Padding: quant.PaddingSame}, Bias: bias, InputZP: int32(r.IntN(256) - 128), Requant: st, Act: act}
	k := min(cfg.PoolWindow, h, w)
	kind, kname := arch.AveragePool, "avg"
	if i == 1 {
		kind, kname = arch.MaxPool, "max"
	}
	l.Pool = &compile.Pool{Kind: kind, KH: k, KW: k - i, SH: 1, SW: 1 + i}
	return ExtraCase{Name: fmt.Sprintf("targeted conv %dx%dx%d ->%d %s %spool %dx%d", h, w, inC, outC, mode, kname, k, k-i), Layer: l, Stalls: i == 1}
}

// runExtra runs the targeted cases on the design in dir and returns the
// first failure ("" if none) and the cases run.
func runExtra(ctx context.Context, s sim.Simulator, man *arch.Manifest, dir string, seed uint64, opt sim.Options) (string, int, error) {
	// verdict says whether case i (named name) ends the run, and how: a
	// canceled context or a failed build is an error; any other run error
	// or a failure message kills the mutant.
	verdict := func(i int, name, failed string, err error) (bool, string, int, error) {
		if err != nil {
			if ctx.Err() != nil {
				return true, "", i, ctx.Err()
			}
			if strings.Contains(err.Error(), "build") {
				return true, "", i + 1, err
			}
			failed = oneLine(err.Error())
		}
		if failed != "" {
			return true, fmt.Sprintf("%s: %s", name, failed), i + 1, nil
		}
		return false, "", 0, nil
	}
	cases := ExtraCases(man.Config, seed)
	for i, c := range cases {
		g := verify.GEMMOptions{Sim: opt}
		if c.Stalls {
			g.AStall, g.WStall, g.SinkStall = pattern(seed, i, 1, 0.3), pattern(seed, i, 2, 0.2), pattern(seed, i, 3, 0.4)
		}
		if c.RunningSum || c.Offset > 0 {
			run := runRunningSum
			if c.Offset > 0 {
				run = runOffset
			}
			failed, err := run(ctx, s, man, dir, c, g)
			if done, res, n, err := verdict(i, c.Name, failed, err); done {
				return res, n, err
			}
			continue
		}
		if c.Layer == nil && c.Split > 0 {
			failed, err := runSplit(ctx, s, man, dir, c, g)
			if done, res, n, err := verdict(i, c.Name, failed, err); done {
				return res, n, err
			}
			continue
		}
		if c.Layer == nil {
			run, err := verify.RunGEMM(ctx, s, man, dir, c.A, c.B, g)
			if err != nil {
				_, res, n, err := verdict(i, c.Name, "", err)
				return res, n, err
			}
			if mm := verify.CompareMatrices(verify.GoldenGEMM(man.Config, c.A, c.B), run.C); mm.Count > 0 {
				return fmt.Sprintf("%s: %d mismatches; %s", c.Name, mm.Count, oneLine(strings.Join(mm.First, "; "))), i + 1, nil
			}
			continue
		}
		want, shape, err := verify.LayerReference(man.Config, c.Layer)
		if err != nil {
			return "", i, fmt.Errorf("%s: reference: %w", c.Name, err)
		}
		run, err := verify.RunLayer(ctx, s, man, dir, c.Layer, g)
		if err != nil {
			_, res, n, err := verdict(i, c.Name, "", err)
			return res, n, err
		}
		if mm := verify.CompareTensors(want, run.Output, shape); mm.Count > 0 {
			return fmt.Sprintf("%s: %d mismatches; %s", c.Name, mm.Count, oneLine(strings.Join(mm.First, "; "))), i + 1, nil
		}
	}
	return "", len(cases), nil
}

// pattern is a seeded stall pattern stalling about a fraction p of cycles.
func pattern(seed uint64, i int, salt uint64, p float64) func(int) bool {
	return func(cycle int) bool {
		x := rand.New(rand.NewPCG(seed^uint64(i)<<8^salt, uint64(cycle)))
		return x.Float64() < p
	}
}

// runSplit runs a split GEMM: the plans of both halves of K back to back,
// the second's activation beats flagged acc, and checks the result beats
// of the first against the first half's product and those of the second
// against the whole product.
func runSplit(ctx context.Context, s sim.Simulator, man *arch.Manifest, dir string, c ExtraCase, g verify.GEMMOptions) (string, error) {
	m, k := c.A.Dims()
	_, n := c.B.Dims()
	a1, a2 := compile.NewMatrix(m, c.Split), compile.NewMatrix(m, k-c.Split)
	for i := range c.A {
		copy(a1[i], c.A[i][:c.Split])
		copy(a2[i], c.A[i][c.Split:])
	}
	b1, b2 := c.B[:c.Split], c.B[c.Split:]
	p1, err := compile.PlanGEMM(man, a1, b1)
	if err != nil {
		return "", err
	}
	p2, err := compile.PlanGEMM(man, a2, b2)
	if err != nil {
		return "", err
	}
	as := man.Stream(arch.StreamA)
	acc := as.Field("acc")
	if acc == nil {
		return "", fmt.Errorf("stream %s has no acc field", arch.StreamA)
	}
	aBeats := append([]*big.Int{}, p1.A...)
	for _, v := range p2.A {
		aBeats = append(aBeats, new(big.Int).SetBit(v, acc.LSB, 1))
	}
	top := verify.SimTop(man, dir)
	stim := top.StreamStimulus(map[string][]*big.Int{arch.StreamW: append(append([]*big.Int{}, p1.W...), p2.W...), arch.StreamA: aBeats},
		map[string]func(int) bool{arch.StreamW: g.WStall, arch.StreamA: g.AStall, arch.StreamC: g.SinkStall},
		map[string]int{arch.StreamC: len(p1.Out) + len(p2.Out)})
	stim.MaxCycles = 20*(len(aBeats)+len(p1.W)+len(p2.W)) + 20_000
	stim.Linger = 2*man.Derived.Latency + 64
	res, err := s.Run(ctx, top, stim, g.Sim)
	if err != nil {
		return "", err
	}
	got := res.Sinks[top.SinkIndex(arch.StreamC)]
	if len(got) != len(p1.Out)+len(p2.Out) {
		return fmt.Sprintf("%s: the RTL sent %d beats, the plans expect %d", arch.StreamC, len(got), len(p1.Out)+len(p2.Out)), nil
	}
	cs := man.Stream(arch.StreamC)
	half, whole := compile.NewMatrix(m, n), compile.NewMatrix(m, n)
	for i, beat := range got {
		o, dst := p1.Out, half
		j := i
		if i >= len(p1.Out) {
			o, dst, j = p2.Out, whole, i-len(p1.Out)
		}
		addr, err := cs.Unpack(beat.Data, "addr")
		if err != nil {
			return "", err
		}
		if addr[0] != int64(o[j].Addr) {
			return fmt.Sprintf("%s beat %d: accumulator address %d, want %d", arch.StreamC, i, addr[0], o[j].Addr), nil
		}
		sums, err := cs.Unpack(beat.Data, "sums")
		if err != nil {
			return "", err
		}
		for l := 0; l < o[j].Lanes; l++ {
			dst[o[j].Row][o[j].Col0+l] = sums[l]
		}
	}
	if mm := verify.CompareMatrices(verify.GoldenGEMM(man.Config, a1, b1), half); mm.Count > 0 {
		return fmt.Sprintf("first half: %d mismatches; %s", mm.Count, oneLine(strings.Join(mm.First, "; "))), nil
	}
	if mm := verify.CompareMatrices(verify.GoldenGEMM(man.Config, c.A, c.B), whole); mm.Count > 0 {
		return fmt.Sprintf("accumulated: %d mismatches; %s", mm.Count, oneLine(strings.Join(mm.First, "; "))), nil
	}
	return "", nil
}

// runRunningSum runs a running-sum case: the plan of the one-tile GEMM with
// every activation beat readdressed to row 0, acc set on all but the first
// and last on all.
func runRunningSum(ctx context.Context, s sim.Simulator, man *arch.Manifest, dir string, c ExtraCase, g verify.GEMMOptions) (string, error) {
	m, _ := c.A.Dims()
	_, n := c.B.Dims()
	p, err := compile.PlanGEMM(man, c.A, c.B)
	if err != nil {
		return "", err
	}
	as := man.Stream(arch.StreamA)
	var beats []*big.Int
	for i, v := range p.A {
		vals := arch.Values{}
		for _, f := range as.Fields {
			x, err := as.Unpack(v, f.Name)
			if err != nil {
				return "", err
			}
			vals[f.Name] = x
		}
		vals["addr"] = []int64{0}
		vals["last"] = []int64{1}
		vals["acc"] = []int64{0}
		if i > 0 {
			vals["acc"] = []int64{1}
		}
		b, err := as.Pack(vals)
		if err != nil {
			return "", err
		}
		beats = append(beats, b)
	}
	top := verify.SimTop(man, dir)
	stim := top.StreamStimulus(map[string][]*big.Int{arch.StreamW: p.W, arch.StreamA: beats},
		map[string]func(int) bool{arch.StreamW: g.WStall, arch.StreamA: g.AStall, arch.StreamC: g.SinkStall},
		map[string]int{arch.StreamC: m})
	stim.MaxCycles = 20*(len(beats)+len(p.W)) + 20_000
	stim.Linger = 2*man.Derived.Latency + 64
	res, err := s.Run(ctx, top, stim, g.Sim)
	if err != nil {
		return "", err
	}
	got := res.Sinks[top.SinkIndex(arch.StreamC)]
	if len(got) != m {
		return fmt.Sprintf("%s: the RTL sent %d beats, want %d", arch.StreamC, len(got), m), nil
	}
	want := verify.GoldenGEMM(man.Config, c.A, c.B)
	cs := man.Stream(arch.StreamC)
	run := make([]int64, n)
	for i, beat := range got {
		sums, err := cs.Unpack(beat.Data, "sums")
		if err != nil {
			return "", err
		}
		for j := 0; j < n; j++ {
			run[j] = wrap(run[j]+want[i][j], man.Config.AccBits)
			if sums[j] != run[j] {
				return fmt.Sprintf("%s beat %d lane %d: %d, want the running sum %d", arch.StreamC, i, j, sums[j], run[j]), nil
			}
		}
	}
	return "", nil
}

// wrap reduces v to a bits-wide two's complement value.
func wrap(v int64, bits int) int64 {
	if bits >= 64 {
		return v
	}
	v &= 1<<bits - 1
	if v >= 1<<(bits-1) {
		v -= 1 << bits
	}
	return v
}

// readdress returns the activation beats of a plan with their fields
// changed by f.
func readdress(as *arch.Layout, beats []*big.Int, f func(i int, v arch.Values)) ([]*big.Int, error) {
	var out []*big.Int
	for i, b := range beats {
		vals := arch.Values{}
		for _, fl := range as.Fields {
			x, err := as.Unpack(b, fl.Name)
			if err != nil {
				return nil, err
			}
			vals[fl.Name] = x
		}
		f(i, vals)
		nb, err := as.Pack(vals)
		if err != nil {
			return nil, err
		}
		out = append(out, nb)
	}
	return out, nil
}

// runOffset runs a GEMM's plan with every accumulator row moved by
// c.Offset and checks the results and the rows they carry.
func runOffset(ctx context.Context, s sim.Simulator, man *arch.Manifest, dir string, c ExtraCase, g verify.GEMMOptions) (string, error) {
	m, _ := c.A.Dims()
	_, n := c.B.Dims()
	p, err := compile.PlanGEMM(man, c.A, c.B)
	if err != nil {
		return "", err
	}
	beats, err := readdress(man.Stream(arch.StreamA), p.A, func(_ int, v arch.Values) { v["addr"][0] += int64(c.Offset) })
	if err != nil {
		return "", err
	}
	top := verify.SimTop(man, dir)
	stim := top.StreamStimulus(map[string][]*big.Int{arch.StreamW: p.W, arch.StreamA: beats},
		map[string]func(int) bool{arch.StreamW: g.WStall, arch.StreamA: g.AStall, arch.StreamC: g.SinkStall},
		map[string]int{arch.StreamC: len(p.Out)})
	stim.MaxCycles = 20*(len(beats)+len(p.W)) + 20_000
	stim.Linger = 2*man.Derived.Latency + 64
	res, err := s.Run(ctx, top, stim, g.Sim)
	if err != nil {
		return "", err
	}
	got := res.Sinks[top.SinkIndex(arch.StreamC)]
	if len(got) != len(p.Out) {
		return fmt.Sprintf("%s: the RTL sent %d beats, want %d", arch.StreamC, len(got), len(p.Out)), nil
	}
	cs := man.Stream(arch.StreamC)
	C := compile.NewMatrix(m, n)
	for i, beat := range got {
		o := p.Out[i]
		addr, err := cs.Unpack(beat.Data, "addr")
		if err != nil {
			return "", err
		}
		if addr[0] != int64(o.Addr+c.Offset) {
			return fmt.Sprintf("%s beat %d: accumulator address %d, want %d", arch.StreamC, i, addr[0], o.Addr+c.Offset), nil
		}
		sums, err := cs.Unpack(beat.Data, "sums")
		if err != nil {
			return "", err
		}
		for l := 0; l < o.Lanes; l++ {
			C[o.Row][o.Col0+l] = sums[l]
		}
	}
	if mm := verify.CompareMatrices(verify.GoldenGEMM(man.Config, c.A, c.B), C); mm.Count > 0 {
		return fmt.Sprintf("%d mismatches; %s", mm.Count, oneLine(strings.Join(mm.First, "; "))), nil
	}
	return "", nil
}
