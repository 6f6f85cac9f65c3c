package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/verify"
	"github.com/tpugen/tpugen/verify/sim"
)

func runDemo(e *env, args []string) error {
	fs := e.flagSet("[-config FILE] [-out DIR] [-cases N] [-seed S] [-size N]",
		"The tour for a new user: generates the configuration's RTL into DIR, runs a short\n"+
			"Verilator regression on those files against the golden model, then one large\n"+
			"random GEMM to show utilization and the cycle model, and prints a summary. Run it\n"+
			"from the repository root. Exits 1 if anything mismatched.",
		"  tpugen demo\n  tpugen demo -config configs/large.json -cases 10")
	config := fs.String("config", "", "JSON configuration `FILE` (default: the embedded 8x8 weight-stationary int8 default)")
	outDir := fs.String("out", "", "output `DIR` for the RTL (default rtl-out/<config name>)")
	cases := fs.Int("cases", 24, "regression cases `N`")
	seed := fs.Uint64("seed", 1, "seed `S` of the regression and of the large GEMM's operands")
	size := fs.Int("size", 128, "`N` = M = K = N of the large GEMM")
	verbose := e.verboseFlag(fs)
	if err := e.parse(fs, args); err != nil {
		return err
	}
	e.setVerbose(*verbose)
	if *cases < 1 {
		return badInputf("-cases %d: want at least 1", *cases)
	}
	if *size < 1 || *size > 4096 {
		return badInputf("-size %d: want 1 to 4096", *size)
	}
	start := time.Now()
	cfg, err := loadConfig(*config)
	if err != nil {
		return err
	}
	if *outDir == "" {
		*outDir = "rtl-out/" + cfg.Name
	}
	sims := []sim.Simulator{sim.Verilator{}}
	if err := checkSimulators(e.ctx, sims); err != nil {
		return err
	}

	// 1. RTL, written where a user finds it, and simulated from there.
	out, man, err := generate(cfg)
	if err != nil {
		return err
	}
	if err := out.WriteDir(*outDir); err != nil {
		return badInput(err)
	}
	names, _, err := out.Files()
	if err != nil {
		return err
	}
	rtlTime := time.Since(start)
	e.log.Infof("wrote %d files to %s", len(names), *outDir)

	// 2. A short regression against the golden model.
	e.log.Infof("regression: %d cases on verilator, seed %d (the first build takes a few seconds; later runs use the build cache)", *cases, *seed)
	repro := "tpugen regress -cases " + fmt.Sprint(*cases)
	if *config != "" {
		repro = "tpugen regress -config " + shellQuote(*config) + " -cases " + fmt.Sprint(*cases)
	}
	layers := 0
	if man.Config.Requant {
		layers = *cases / 2
		repro += fmt.Sprintf(" -layers %d", layers)
	}
	rep, err := e.regress(man, *outDir, verify.RegressOptions{Sims: sims, Cases: *cases, Layers: layers, Seed: *seed, Only: -1, Repro: repro})
	if err != nil {
		return err
	}

	// 3. One large GEMM: utilization and the cycle model.
	n := *size
	e.log.Infof("gemm: %dx%dx%d random operands on verilator", n, n, n)
	gemmStart := time.Now()
	a, b := randomOperands(man.Config, n, n, n, *seed)
	run, err := verify.RunGEMM(e.ctx, sims[0], man, *outDir, a, b, verify.GEMMOptions{Sim: e.simOptions()})
	if err != nil {
		return interrupted(e.ctx, mismatch(err))
	}
	diffs := diffMatrices(verify.GoldenGEMM(man.Config, a, b), run.C)
	gemmTime := time.Since(gemmStart)

	// 4. A quantized layer through the whole pipeline, when there is one.
	var lr *layerResult
	if man.Config.Requant {
		e.log.Infof("layer: quantized conv through the pipeline on verilator")
		if lr, err = demoLayer(e, man, *outDir, *seed); err != nil {
			return err
		}
	}

	failed := rep.Failed > 0 || len(diffs) > 0 || (lr != nil && lr.mismatches > 0)
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	row := func(k, format string, a ...any) { fmt.Fprintf(tw, "  %s\t%s\n", k, fmt.Sprintf(format, a...)) }
	fmt.Fprintln(tw, "tpugen demo")
	row("config", "%s", describeConfig(man.Config))
	row("rtl", "%s: %d files (%s)", *outDir, len(names), strings.Join(names, ", "))
	row("regression", "%d cases on verilator, seed %d: %d failed, %d mismatches", rep.Cases, *seed, rep.Failed, rep.Mismatches)
	row("", "%d cycles, utilization %.1f%% (small shapes: fill and drain dominate)", rep.Cycles, 100*rep.Utilization())
	row(fmt.Sprintf("gemm %dx%dx%d", n, n, n), "%d mismatches against the golden model", len(diffs))
	row("", "cycles: %d measured, %d predicted by the cycle model (%s)", run.Cycles, run.Predicted, modelAgreement(run))
	row("", "ideal %.0f cycles (MACs / %d PEs), utilization %.1f%%", run.Ideal, man.Config.Rows*man.Config.Cols, 100*run.Utilization)
	if lr != nil {
		row("layer", "%s", lr.name)
		row("", "%d int8 outputs, %d mismatches against quant's TFLite reference kernels", lr.outputs, lr.mismatches)
		row("", "%d cycles: the GEMM alone takes %d, so the pipeline adds %d cycles of latency; utilization %.1f%%",
			lr.cycles, lr.gemmCycles, lr.cycles-lr.gemmCycles, 100*lr.utilization)
	}
	row("wall time", "%s (rtl %s, regression %s, gemm %s)", time.Since(start).Round(10*time.Millisecond),
		rtlTime.Round(time.Millisecond), rep.Elapsed.Round(10*time.Millisecond), gemmTime.Round(10*time.Millisecond))
	result := "PASS: the RTL matched the golden model bit for bit"
	if failed {
		result = "FAIL: see the errors above"
	}
	row("result", "%s", result)
	if err := tw.Flush(); err != nil {
		return err
	}
	for i, d := range diffs {
		if i == maxReportedMismatches {
			fmt.Fprintf(e.stdout, "... and %d more\n", len(diffs)-i)
			break
		}
		fmt.Fprintln(e.stdout, d)
	}
	if failed {
		return mismatch(fmt.Errorf("%d regression cases failed, %d mismatches in the %dx%dx%d GEMM", rep.Failed, len(diffs), n, n, n))
	}
	return nil
}

// modelAgreement compares a run's measured cycles with the cycle model.
func modelAgreement(run *verify.GEMMRun) string {
	if run.Cycles == run.Predicted {
		return "exact"
	}
	return fmt.Sprintf("off by %+d", run.Cycles-run.Predicted)
}

// randomOperands returns uniformly random A (m x k) and B (k x n) over the
// configuration's operand ranges.
func randomOperands(c arch.Config, m, k, n int, seed uint64) (compile.Matrix, compile.Matrix) {
	r := rand.New(rand.NewPCG(seed, 0x7470756765)) // "tpuge"
	fill := func(rows, cols, bits int, signed bool) compile.Matrix {
		lo, hi := arch.OperandRange(bits, signed)
		x := compile.NewMatrix(rows, cols)
		for i := range x {
			for j := range x[i] {
				x[i][j] = lo + r.Int64N(hi-lo+1)
			}
		}
		return x
	}
	return fill(m, k, c.InputBits, c.InputSigned), fill(k, n, c.WeightBits, c.WeightSigned)
}

// layerResult summarizes the demo's layer.
type layerResult struct {
	name                string
	outputs, mismatches int
	cycles, gemmCycles  int
	utilization         float64
}

// demoLayer runs a quantized convolution like a small CNN's second layer:
// 14x14x8 int8 input (zero point -3), 3x3 SAME convolution to 16 channels
// with per-channel weight scales, a fused ReLU6, LeakyReLU (when the
// configuration has it) and 2x2 max pooling (when it has pooling), checked
// against quant's reference kernels.
func demoLayer(e *env, man *arch.Manifest, dir string, seed uint64) (*layerResult, error) {
	c := man.Config
	r := rand.New(rand.NewPCG(seed, 0x6c61796572)) // "layer"
	const h, w, inC, outC = 14, 14, 8, 16
	l := &compile.Layer{Kind: compile.Conv, InShape: quant.Shape{N: 1, H: h, W: w, C: inC},
		WeightShape: quant.Shape{N: outC, H: 3, W: 3, C: inC},
		Window:      quant.Window{StrideH: 1, StrideW: 1, Padding: quant.PaddingSame}, InputZP: -3}
	for i := 0; i < h*w*inC; i++ {
		l.Input = append(l.Input, int8(r.IntN(256)-128))
	}
	for i := 0; i < outC*3*3*inC; i++ {
		l.Weights = append(l.Weights, int8(r.IntN(255)-127))
	}
	wScales := make([]float32, outC)
	for i := range wScales {
		wScales[i] = float32(0.002 + 0.004*r.Float64())
		l.Bias = append(l.Bias, int32(r.IntN(4001)-2000))
	}
	inScale, outScale := float32(0.05), float32(0.08)
	mults, shifts := quant.OutputMultipliers(inScale, wScales, outScale)
	outQ := quant.Params{Scale: outScale, ZeroPoint: -10, DType: quant.Int8}
	lo, hi, err := quant.ActivationRange(quant.ActReLU6, outQ)
	if err != nil {
		return nil, err
	}
	l.Requant = compile.Requant{Multipliers: mults, Shifts: shifts, ZeroPoint: outQ.ZeroPoint, ActMin: lo, ActMax: hi}
	name := "conv 14x14x8 -> 16, 3x3 SAME, per-channel requant, ReLU6"
	l.Act = compile.Activation{Func: arch.ActIdentity}
	if c.Activation.HasLeaky() {
		lk, err := quant.PrepareLeakyReLU(outQ, outQ, 0.1)
		if err != nil {
			return nil, err
		}
		l.Act = compile.Activation{Func: arch.ActLeaky, Leaky: lk}
		name += ", LeakyReLU(0.1)"
	}
	if c.Pool && c.PoolWidth >= w && c.PoolHeight >= h {
		l.Pool = &compile.Pool{Kind: arch.MaxPool, KH: 2, KW: 2, SH: 2, SW: 2}
		name += ", 2x2 max pool"
	}
	want, shape, err := verify.LayerReference(c, l)
	if err != nil {
		return nil, err
	}
	run, err := verify.RunLayer(e.ctx, sim.Verilator{}, man, dir, l, verify.GEMMOptions{Sim: e.simOptions()})
	if err != nil {
		return nil, interrupted(e.ctx, mismatch(err))
	}
	res := &layerResult{name: name, outputs: len(want), cycles: run.Cycles, utilization: run.Utilization,
		gemmCycles: verify.PredictGEMMCycles(man, h*w, 3*3*inC, outC)}
	res.mismatches = verify.CompareTensors(want, run.Output, shape).Count
	return res, nil
}
