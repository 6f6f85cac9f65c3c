package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/verify"
)

func runLayer(e *env, args []string) error {
	fs := e.flagSet("[-config FILE] [-sim icarus|verilator] (-random fc|conv [-seed S] | -a A.txt -b B.txt -bias BIAS.txt [options]) [-o Y.txt]",
		"Runs one quantized layer on the generated RTL (matrix unit, requantizer, activation\n"+
			"unit, pooling unit) and compares every output with quant's TFLite reference kernels.\n"+
			"A is the int8 input (M x K: a fully connected layer's batch rows, or a convolution's\n"+
			"im2col matrix with one row per output pixel in raster order, given -map HxW); B is the\n"+
			"int8 weights (K x N); BIAS holds N int32 values. Per-channel multipliers come from\n"+
			"the scales as TFLite computes them. -random builds a random FC or conv layer instead.\n"+
			"Y.txt receives the RTL's int8 output (rows = batch rows or pooled pixels, columns =\n"+
			"channels). Exits 1 if the RTL and the reference differ. The configuration needs\n"+
			"requant: true (and activation/pool for those stages).",
		"  tpugen layer -random conv -seed 7\n"+
			"  tpugen layer -a A.txt -b B.txt -bias bias.txt -in-zp -3 -in-scale 0.05 -w-scale 0.01 \\\n"+
			"      -out-scale 0.1 -fused relu6 -act leaky -alpha 0.1 -map 12x12 -pool max -pool-window 2 -o Y.txt")
	config := fs.String("config", "", "JSON configuration `FILE` (default: the embedded default)")
	simName := fs.String("sim", "verilator", "simulator `NAME`: icarus or verilator")
	random := fs.String("random", "", "generate a random layer of `KIND` fc or conv instead of reading files")
	seed := fs.Uint64("seed", 1, "seed for -random")
	aPath := fs.String("a", "", "int8 input `A.txt` (M x K)")
	bPath := fs.String("b", "", "int8 weights `B.txt` (K x N)")
	biasPath := fs.String("bias", "", "int32 biases `FILE` (N values)")
	yPath := fs.String("o", "", "write the RTL's output to `Y.txt`")
	inZP := fs.Int("in-zp", 0, "input zero point")
	inScale := fs.Float64("in-scale", 0.05, "input scale")
	wScale := fs.Float64("w-scale", 0.01, "weight scale, every channel")
	wScales := fs.String("w-scales", "", "per-channel weight scales `FILE` (N values; overrides -w-scale)")
	outScale := fs.Float64("out-scale", 0.1, "output scale")
	outZP := fs.Int("out-zp", 0, "output zero point")
	fused := fs.String("fused", "none", "fused activation clamp: none, relu or relu6")
	act := fs.String("act", "none", "activation unit: none, leaky, logistic or tanh")
	alpha := fs.Float64("alpha", 0.1, "LeakyReLU slope")
	mapHW := fs.String("map", "", "the rows of A are an `HxW` feature map (needed for pooling)")
	pool := fs.String("pool", "none", "pooling: none, max or avg")
	window := fs.Int("pool-window", 2, "pooling window side")
	stride := fs.Int("pool-stride", 2, "pooling stride")
	verbose := e.verboseFlag(fs)
	if err := e.parse(fs, args); err != nil {
		return err
	}
	e.setVerbose(*verbose)
	sims, err := simulators(*simName, false)
	if err != nil {
		return err
	}
	out, man, err := design(*config)
	if err != nil {
		return err
	}
	var l *compile.Layer
	var name string
	if *random != "" {
		if *random != "fc" && *random != "conv" {
			return badInputf("-random %q: want fc or conv", *random)
		}
		if !man.Config.Requant {
			return badInputf("configuration %s has no pipeline: set \"requant\": true", man.Config.Name)
		}
		// Layer cases alternate FC (even) and conv (odd); pick the kind asked.
		idx := int(*seed % 1000 * 2)
		if *random == "conv" {
			idx++
		}
		c := verify.MakeLayerCase(man.Config, *seed, idx)
		l, name = c.Layer, c.Name
	} else {
		l, err = layerFromFiles(layerFiles{a: *aPath, b: *bPath, bias: *biasPath, wScales: *wScales, mapHW: *mapHW},
			layerQuant{inZP: *inZP, outZP: *outZP, inScale: *inScale, wScale: *wScale, outScale: *outScale,
				fused: *fused, act: *act, alpha: *alpha, pool: *pool, window: *window, stride: *stride})
		if err != nil {
			return err
		}
		name = fmt.Sprintf("fc %dx%d->%d %s", l.InShape.N, l.InShape.C, l.WeightShape.N, *act)
	}
	// The reference takes every numeric choice (the rounding) from the
	// configuration the RTL was generated from, never a default of its own.
	want, wantShape, err := verify.LayerReference(man.Config, l)
	if err != nil {
		return badInput(err)
	}
	if _, err := compile.PlanLayer(man, l); err != nil {
		return badInput(err)
	}
	if err := checkSimulators(e.ctx, sims); err != nil {
		return err
	}
	dir, cleanup, err := writeTempRTL(out)
	if err != nil {
		return err
	}
	defer cleanup()
	e.log.Infof("layer %s on %s (%s)", name, sims[0].Name(), describeConfig(man.Config))
	start := time.Now()
	run, err := verify.RunLayer(e.ctx, sims[0], man, dir, l, verify.GEMMOptions{Sim: e.simOptions()})
	if err != nil {
		return interrupted(e.ctx, mismatch(err))
	}
	var diffs []string
	for _, i := range verify.CompareTensors(want, run.Output, wantShape).Index {
		p, c := i/wantShape.C, i%wantShape.C
		diffs = append(diffs, fmt.Sprintf("mismatch Y[%d][%d]: rtl %d, reference %d", p, c, run.Output[i], want[i]))
	}
	if *yPath != "" {
		y := compile.NewMatrix(len(want)/wantShape.C, wantShape.C)
		for i, v := range run.Output {
			y[i/wantShape.C][i%wantShape.C] = int64(v)
		}
		if err := writeFileAtomic(*yPath, func(w io.Writer) error { return compile.WriteMatrix(w, y) }); err != nil {
			return err
		}
	}
	e.log.Infof("layer done (%s)", time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(e.stdout, "layer=%q outputs=%d cycles=%d ideal=%.1f utilization=%.1f%% mismatches=%d\n",
		name, len(want), run.Cycles, run.Ideal, 100*run.Utilization, len(diffs))
	if len(diffs) > 0 {
		for i, d := range diffs {
			if i == maxReportedMismatches {
				fmt.Fprintf(e.stdout, "... and %d more\n", len(diffs)-i)
				break
			}
			fmt.Fprintln(e.stdout, d)
		}
		return mismatch(fmt.Errorf("RTL and reference differ in %d of %d outputs", len(diffs), len(want)))
	}
	return nil
}

type layerFiles struct{ a, b, bias, wScales, mapHW string }

type layerQuant struct {
	inZP, outZP               int
	inScale, wScale, outScale float64
	fused, act, pool          string
	alpha                     float64
	window, stride            int
}

// layerFromFiles builds a layer from matrix files and quantization flags.
func layerFromFiles(f layerFiles, q layerQuant) (*compile.Layer, error) {
	for _, r := range []struct{ flag, val string }{{"-a", f.a}, {"-b", f.b}, {"-bias", f.bias}} {
		if r.val == "" {
			return nil, badInputf("%s is required without -random (see tpugen layer -h)", r.flag)
		}
	}
	a, err := readMatrixFile(f.a)
	if err != nil {
		return nil, err
	}
	b, err := readMatrixFile(f.b)
	if err != nil {
		return nil, err
	}
	m, k := a.Dims()
	kb, n := b.Dims()
	if k != kb {
		return nil, badInputf("A is %dx%d but B is %dx%d: K must match", m, k, kb, n)
	}
	l := &compile.Layer{Kind: compile.FC, InShape: quant.Shape{N: m, H: 1, W: 1, C: k}, WeightShape: quant.Shape{N: n, H: 1, W: 1, C: k}}
	for i, row := range a {
		for j, v := range row {
			if v < -128 || v > 127 {
				return nil, badInputf("%s: A[%d][%d] = %d is not int8", f.a, i, j, v)
			}
			l.Input = append(l.Input, int8(v))
		}
	}
	l.Weights = make([]int8, n*k)
	for kk, row := range b {
		for c, v := range row {
			if v < -127 || v > 127 {
				return nil, badInputf("%s: B[%d][%d] = %d is not a symmetric int8 weight (-127..127)", f.b, kk, c, v)
			}
			l.Weights[c*k+kk] = int8(v)
		}
	}
	bias, err := readVector(f.bias, n)
	if err != nil {
		return nil, err
	}
	for i, v := range bias {
		if v < math.MinInt32 || v > math.MaxInt32 {
			return nil, badInputf("%s: bias %d = %v is not int32", f.bias, i, v)
		}
		l.Bias = append(l.Bias, int32(v))
	}
	if q.inZP < -128 || q.inZP > 127 || q.outZP < -128 || q.outZP > 127 {
		return nil, badInputf("zero points must be in [-128, 127]")
	}
	l.InputZP = int32(q.inZP)
	for _, s := range []struct {
		name string
		v    float64
	}{{"-in-scale", q.inScale}, {"-w-scale", q.wScale}, {"-out-scale", q.outScale}} {
		// Scales are float32 (TFLite's): 1e300 is finite here but not there.
		if f := float32(s.v); !(f > 0) || math.IsInf(float64(f), 0) {
			return nil, badInputf("%s %v must be a positive finite scale", s.name, s.v)
		}
	}
	ws := make([]float32, n)
	for i := range ws {
		ws[i] = float32(q.wScale)
	}
	if f.wScales != "" {
		vals, err := readFloats(f.wScales, n)
		if err != nil {
			return nil, err
		}
		for i, v := range vals {
			if v32 := float32(v); !(v32 > 0) || math.IsInf(float64(v32), 0) {
				return nil, badInputf("%s: scale %d = %v must be positive and finite as a float32", f.wScales, i, v)
			}
			ws[i] = float32(v)
		}
	}
	mults, shifts := quant.OutputMultipliers(float32(q.inScale), ws, float32(q.outScale))
	for i, sh := range shifts {
		// The requantizer (like TFLite) shifts left by at most 30.
		if sh > 30 {
			return nil, badInputf("channel %d: effective scale %g (input scale × weight scale ÷ output scale) is above the requantizer's 2^30",
				i, quant.EffectiveScale(float32(q.inScale), ws[i], float32(q.outScale)))
		}
	}
	outP := quant.Params{Scale: float32(q.outScale), ZeroPoint: int32(q.outZP), DType: quant.Int8}
	fusedAct := map[string]quant.FusedActivation{"none": quant.ActNone, "relu": quant.ActReLU, "relu6": quant.ActReLU6}
	fa, ok := fusedAct[q.fused]
	if !ok {
		return nil, badInputf("-fused %q: want none, relu or relu6", q.fused)
	}
	lo, hi, err := quant.ActivationRange(fa, outP)
	if err != nil {
		return nil, badInput(err)
	}
	l.Requant = compile.Requant{Multipliers: mults, Shifts: shifts, ZeroPoint: int32(q.outZP), ActMin: lo, ActMax: hi}
	switch q.act {
	case "none":
		l.Act = compile.Activation{Func: arch.ActIdentity}
	case "leaky":
		lk, err := quant.PrepareLeakyReLU(outP, outP, float32(q.alpha))
		if err != nil {
			return nil, badInput(err)
		}
		l.Act = compile.Activation{Func: arch.ActLeaky, Leaky: lk}
	case "logistic", "tanh":
		sp, err := quant.PrepareSigmoid(outP.Scale, outP.ZeroPoint)
		if err != nil {
			return nil, badInput(err)
		}
		fn := quant.LogisticInt8
		if q.act == "tanh" {
			fn = quant.TanhInt8
		}
		l.Act = compile.Activation{Func: arch.ActTable, Table: quant.Table256(func(x int8) int8 {
			return fn(x, sp.InputZeroPoint, sp.InputRangeRadius, sp.InputMultiplier, sp.InputLeftShift)
		})}
	default:
		return nil, badInputf("-act %q: want none, leaky, logistic or tanh", q.act)
	}
	if f.mapHW != "" {
		h, w, ok := parseHW(f.mapHW)
		if !ok || h*w != m {
			return nil, badInputf("-map %q: want HxW with H*W = %d rows of A", f.mapHW, m)
		}
		l.MapH, l.MapW = h, w
	}
	switch q.pool {
	case "none":
	case "max", "avg":
		if l.MapH == 0 {
			return nil, badInputf("-pool needs -map HxW (the feature map the rows of A form)")
		}
		if q.window < 1 || q.stride < 1 {
			return nil, badInputf("-pool-window and -pool-stride must be at least 1")
		}
		l.Pool = &compile.Pool{Kind: poolKind(q.pool), KH: q.window, KW: q.window, SH: q.stride, SW: q.stride}
	default:
		return nil, badInputf("-pool %q: want none, max or avg", q.pool)
	}
	return l, nil
}

// poolKind is the pooling unit's mode for the -pool flag ("max" or "avg").
func poolKind(flag string) arch.PoolKind {
	if flag == "avg" {
		return arch.AveragePool
	}
	return arch.MaxPool
}

func parseHW(s string) (int, int, bool) {
	hs, ws, ok := strings.Cut(strings.ToLower(s), "x")
	if !ok {
		return 0, 0, false
	}
	h, err1 := strconv.Atoi(hs)
	w, err2 := strconv.Atoi(ws)
	return h, w, err1 == nil && err2 == nil && h > 0 && w > 0
}

// readVector reads n integers from a matrix file of any shape.
func readVector(path string, n int) ([]int64, error) {
	m, err := readMatrixFile(path)
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, row := range m {
		out = append(out, row...)
	}
	if len(out) != n {
		return nil, badInputf("%s: %d values, want %d (one per output channel)", path, len(out), n)
	}
	return out, nil
}

// readFloats reads n decimal numbers separated by white space.
func readFloats(path string, n int) ([]float64, error) {
	data, err := readAll(path)
	if err != nil {
		return nil, err
	}
	var out []float64
	for i, line := range strings.Split(data, "\n") {
		if c := strings.IndexByte(line, '#'); c >= 0 {
			line = line[:c]
		}
		for _, tok := range strings.Fields(line) {
			v, err := strconv.ParseFloat(tok, 64)
			if err != nil {
				return nil, badInputf("%s:%d: %q is not a number", path, i+1, tok)
			}
			out = append(out, v)
		}
	}
	if len(out) != n {
		return nil, badInputf("%s: %d values, want %d (one per output channel)", path, len(out), n)
	}
	return out, nil
}

func readAll(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", badInput(err)
	}
	return string(data), nil
}
