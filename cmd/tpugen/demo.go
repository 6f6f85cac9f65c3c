package main

import (
	"fmt"
	"math"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tpugen/tpugen/verify"
	"github.com/tpugen/tpugen/verify/sim"
)

func runDemo(e *env, args []string) error {
	fs := e.flagSet("[-config FILE] [-out DIR] [-cases N] [-seed S] [-model M.onnx] [-images N] [-batch B]",
		"The tour for a new user: generates the configuration's RTL into DIR, runs a short\n"+
			"Verilator regression on those files against the golden model, then the main job:\n"+
			"a trained LeNet-5 (models/lenet5_mnist.onnx), quantized after training, on the RTL\n"+
			"over MNIST test images, every layer compared bit for bit with the golden model, with\n"+
			"float / int8 / RTL accuracy, cycles per image and utilization. Run it from the\n"+
			"repository root. Exits 1 if anything mismatched.",
		"  tpugen demo\n  tpugen demo -images 1000 -batch 64\n  tpugen demo -config configs/large.json -cases 10")
	config := fs.String("config", "", "JSON configuration `FILE` (default: the embedded 8x8 weight-stationary int8 default)")
	outDir := fs.String("out", "", "output `DIR` for the RTL (default rtl-out/<config name>)")
	cases := fs.Int("cases", 12, "regression cases `N`")
	seed := fs.Uint64("seed", 1, "regression seed `S`")
	model := fs.String("model", defaultModel, "ONNX `MODEL` to run on the RTL")
	images := fs.Int("images", 256, "MNIST test images `N` to run the model on")
	batch := fs.Int("batch", 32, "images per layer run `B`")
	verbose := e.verboseFlag(fs)
	if err := e.parse(fs, args); err != nil {
		return err
	}
	e.setVerbose(*verbose)
	if *cases < 1 || *images < 0 || *batch < 1 {
		return badInputf("-cases and -batch must be at least 1, -images at least 0")
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
	sims = e.sessions(sims)
	runModel := *images > 0 && cfg.Requant
	if runModel {
		if _, err := os.Stat(*model); err != nil {
			return badInputf("-model %s: %v (run tpugen demo from the repository root)", *model, err)
		}
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
	e.log.Infof("wrote %d files to %s", len(names), *outDir)

	// 2. A short regression against the golden model.
	e.log.Infof("regression: %d cases on verilator, seed %d (the first build takes a while; later runs use the build cache)", *cases, *seed)
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

	// 3. The main job: a real network on the RTL.
	var res *modelResult
	if runModel {
		mr := modelRun{model: *model, data: "", n: *images, batch: *batch, calib: 200, method: "minmax",
			scale: math.NaN(), mean: math.NaN(), std: math.NaN(),
			rtl: &rtlRun{man: man, dir: *outDir, sim: sims[0], cleanup: func() {}}}
		if res, err = e.runModel(mr); err != nil {
			return err
		}
	}

	failed := rep.Failed > 0 || (res != nil && (res.rep.Mismatches > 0 || res.rep.RTLTop1 != res.rep.GoldenTop1))
	w := e.stdout
	fmt.Fprintln(w, "tpugen demo")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, a ...any) { fmt.Fprintf(tw, "  %s\t%s\n", k, fmt.Sprintf(format, a...)) }
	row("config", "%s", describeConfig(man.Config))
	row("rtl", "%s: %d files (%s)", *outDir, len(names), strings.Join(names, ", "))
	row("regression", "%d cases on verilator, seed %d: %d failed, %d mismatches (%s)", rep.Cases, *seed, rep.Failed, rep.Mismatches, rep.Elapsed.Round(10*time.Millisecond))
	if res != nil {
		r := res.rep
		pct := func(k int) string { return fmt.Sprintf("%.2f%%", 100*float64(k)/float64(r.Images)) }
		row("model", "%s on %d MNIST test images, batch %d (%s)", *model, r.Images, *batch, r.Wall.Round(10*time.Millisecond))
		row("accuracy", "float %s, int8 golden %s, RTL %s (top-1)", pct(res.floatTop1), pct(r.GoldenTop1), pct(r.RTLTop1))
		row("cycles", "%.0f per image on the RTL, %d MACs per image: %.1f%% utilization of the %dx%d array", res.cyclesPerImage(), r.MACs(),
			100*res.utilization(), man.Config.Rows, man.Config.Cols)
		row("mismatches", "%d int8 values differ between the RTL and the golden model, over every layer and image", r.Mismatches)
	} else if !cfg.Requant {
		row("model", "skipped: configuration %s has no pipeline (requant: true)", cfg.Name)
	}
	row("wall time", "%s", time.Since(start).Round(10*time.Millisecond))
	result := "PASS: the RTL matched the golden model bit for bit"
	if failed {
		result = "FAIL: see the errors above"
	}
	row("result", "%s", result)
	if err := tw.Flush(); err != nil {
		return err
	}
	if res != nil {
		fmt.Fprintln(w)
		printLayers(w, res.rep, man.Config.Rows*man.Config.Cols, true)
		if err := res.verdict(w, res.run.repro(rtlSource{config: config, rtl: new(string)}, "verilator")); err != nil {
			return err
		}
	}
	if failed {
		return mismatch(fmt.Errorf("%d regression cases failed", rep.Failed))
	}
	return nil
}
