package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/dataset"
	"github.com/tpugen/tpugen/metrics"
	"github.com/tpugen/tpugen/nn"
	"github.com/tpugen/tpugen/nn/ptq"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/verify"
	"github.com/tpugen/tpugen/verify/sim"
)

// defaultModel is the model make demo runs.
const defaultModel = "models/lenet5_mnist.onnx"

func runRun(e *env, args []string) error {
	fs := e.flagSet("[-model M.onnx] [-data mnist|fashion|DIR] [-n N] [-sim verilator|icarus|golden] [-calib N -calib-method M] [-config FILE | -rtl DIR]",
		"Imports an ONNX model, quantizes it after training (activations calibrated on\n"+
			"training images, weights int8 per channel, TFLite's arithmetic), lowers it onto the\n"+
			"configured matrix unit and runs N test images: every convolution and fully connected\n"+
			"layer on the RTL, every other op on the host (named as host ops), each layer's int8\n"+
			"output compared bit for bit with the golden model. Prints top-1 and top-5 accuracy of\n"+
			"the float model, the int8 golden model and the RTL, a per-layer table (shape, MACs,\n"+
			"cycles measured and predicted, utilization, hardware or host) and cycles per image.\n"+
			"A mismatch prints the layer, the image, the first differing coordinates and a command\n"+
			"that reruns that batch. Preprocessing defaults come from models/manifest.json when\n"+
			"the model is listed there, else pixels/255.",
		"  tpugen run -model models/lenet5_mnist.onnx -data mnist -n 500\n"+
			"  tpugen run -model models/lenet5_mnist.onnx -n 10000 -sim golden -calib-method entropy\n"+
			"  tpugen run -model models/fashion_cnn.onnx -data fashion -n 200 -sim icarus -batch 8")
	model := fs.String("model", defaultModel, "ONNX model `FILE` (float)")
	data := fs.String("data", "", "test set: mnist, fashion or a `DIR` of IDX files (default: the model's, else mnist)")
	n := fs.Int("n", 100, "number of test images `N`")
	skip := fs.Int("skip", 0, "start at test image `K`")
	batch := fs.Int("batch", 32, "images per layer run `B`: FC layers become GEMMs of B rows")
	simName := fs.String("sim", "verilator", "where hardware layers run: verilator, icarus or golden (no RTL)")
	calib := fs.Int("calib", 200, "calibrate activations on the first `N` training images")
	method := fs.String("calib-method", "minmax", "calibration `METHOD`: minmax, percentile, mse or entropy")
	scale := fs.Float64("scale", math.NaN(), "multiply pixels (0..255) by `S` (default: the model's, else 1/255)")
	mean := fs.Float64("mean", math.NaN(), "then subtract `M` (default: the model's, else 0)")
	std := fs.Float64("std", math.NaN(), "then divide by `D` (default: the model's, else 1)")
	src := e.rtlFlags(fs)
	target := fs.String("target", "mxu", "`T`: mxu (the host drives each layer through the matrix unit) or core (one program per batch on the core)")
	verbose := e.verboseFlag(fs)
	if err := e.parse(fs, args); err != nil {
		return err
	}
	e.setVerbose(*verbose)
	if *n < 1 || *skip < 0 || *batch < 1 || *calib < 1 {
		return badInputf("-n, -batch and -calib must be at least 1 and -skip at least 0")
	}
	if *target != "mxu" {
		return e.runCoreTarget(*target, src, *simName, modelRun{model: *model, data: *data, n: *n, skip: *skip, batch: *batch,
			calib: *calib, method: *method, scale: *scale, mean: *mean, std: *std})
	}
	rtl, err := openRTL(src, *simName)
	if err != nil {
		return err
	}
	defer rtl.cleanup()
	if rtl.sim != nil {
		rtl.sim = e.sessions([]sim.Simulator{rtl.sim})[0]
	}
	mr := modelRun{model: *model, data: *data, n: *n, skip: *skip, batch: *batch, calib: *calib, method: *method,
		scale: *scale, mean: *mean, std: *std, rtl: rtl}
	res, err := e.runModel(mr)
	if err != nil {
		return err
	}
	res.print(e.stdout)
	return res.verdict(e.stdout, res.run.repro(src, *simName))
}

// rtlRun is where a model's hardware layers run: a simulator on the RTL in
// dir, or nowhere (the golden model only).
type rtlRun struct {
	man     *arch.Manifest
	dir     string
	sim     sim.Simulator // nil: golden only
	cleanup func()
}

// openRTL resolves -config/-rtl and -sim (verilator, icarus or golden).
func openRTL(src rtlSource, simName string) (*rtlRun, error) {
	var s sim.Simulator
	if simName != "golden" {
		sims, err := simulators(simName, false)
		if err != nil {
			return nil, badInputf("-sim %q: want verilator, icarus or golden", simName)
		}
		s = sims[0]
	}
	man, dir, cleanup, err := src.open()
	if err != nil {
		return nil, err
	}
	if s != nil && !man.Config.Requant {
		cleanup()
		return nil, badInputf("configuration %s has no pipeline (requant: true): networks need it", man.Config.Name)
	}
	return &rtlRun{man: man, dir: dir, sim: s, cleanup: cleanup}, nil
}

// modelRun is one model over a test set.
type modelRun struct {
	model, data      string
	n, skip, batch   int
	calib            int
	method           string
	scale, mean, std float64 // NaN: the model's default
	rtl              *rtlRun
}

// repro is the command line that reruns a batch.
func (m modelRun) repro(src rtlSource, simName string) func(first, n int) string {
	return func(first, n int) string {
		r := fmt.Sprintf("tpugen run -model %s -data %s -skip %d -n %d -batch %d -sim %s -calib %d -calib-method %s",
			shellQuote(m.model), shellQuote(m.data), first, n, n, simName, m.calib, m.method)
		if *src.config != "" {
			r += " -config " + shellQuote(*src.config)
		}
		if *src.rtl != "" {
			r += " -rtl " + shellQuote(*src.rtl)
		}
		return r
	}
}

// modelResult is what a model run found.
type modelResult struct {
	run                  modelRun
	pre                  preprocess
	samples              int
	floatTop1, floatTop5 int
	rep                  *verify.EvalReport
	// reference names the first accuracy row: the float model, or a
	// pre-quantized (QDQ) model run with ONNX's own arithmetic.
	reference string
	model     *loadedModel
}

// loadedModel is a model imported and quantized, with its data set.
type loadedModel struct {
	float   *nn.Graph // the float model, as imported
	net     *compile.Network
	input   string // the float model's input name
	test    *dataset.Set
	pre     preprocess
	samples int
	image   func(px []byte) *nn.Tensor // pixels to the float model's input
}

// int8Image is test image i as the network's int8 NHWC input.
func (l *loadedModel) int8Image(i int) []int8 {
	x := l.image(l.test.Images[i])
	return toNHWC(quant.QuantizeInt8(x.Float32, l.net.Tensors[l.net.Input].Params), l.test.C, l.test.H, l.test.W)
}

// loadModel imports m.model, loads its data set (m.data, defaulted from
// the model's manifest entry) and quantizes the model.
func (e *env) loadModel(m *modelRun) (*loadedModel, error) {
	methods := map[string]quant.Method{"minmax": quant.MethodMinMax, "percentile": quant.MethodPercentile, "mse": quant.MethodMSE, "entropy": quant.MethodEntropy}
	cm, ok := methods[m.method]
	if !ok {
		return nil, badInputf("-calib-method %q: want minmax, percentile, mse or entropy", m.method)
	}
	info := lookupModel(m.model)
	pre := preprocess{scale: 1.0 / 255, mean: 0, std: 1}
	if info != nil {
		pre = info.pre()
	}
	for _, f := range []struct {
		v   float64
		dst *float64
	}{{m.scale, &pre.scale}, {m.mean, &pre.mean}, {m.std, &pre.std}} {
		if !math.IsNaN(f.v) {
			*f.dst = f.v
		}
	}
	if !(pre.std > 0) || math.IsInf(pre.scale, 0) || math.IsInf(pre.mean, 0) {
		return nil, badInputf("preprocessing scale %v, mean %v, std %v: std must be positive, all finite", pre.scale, pre.mean, pre.std)
	}
	if m.data == "" {
		m.data = dataset.MNIST
		if info != nil && info.Dataset != "" {
			m.data = info.Dataset
		}
	}

	g, err := nn.Load(m.model)
	if err != nil {
		return nil, badInput(err)
	}
	test, err := dataset.Load(m.data, dataset.Test)
	if err != nil {
		return nil, badInput(err)
	}
	train, err := dataset.Load(m.data, dataset.Train)
	if err != nil {
		return nil, badInput(err)
	}
	if len(g.Inputs) != 1 {
		return nil, badInputf("%s: the model has %d inputs, want one image input", m.model, len(g.Inputs))
	}
	in := g.Inputs[0]
	want := []int{1, test.C, test.H, test.W}
	if len(in.Shape) != 4 || (in.Shape[1] >= 0 && in.Shape[1] != test.C) || (in.Shape[2] >= 0 && in.Shape[2] != test.H) || (in.Shape[3] >= 0 && in.Shape[3] != test.W) {
		return nil, badInputf("%s: input %q has shape %v, the %s images are %dx%dx%d (C×H×W)", m.model, in.Name, in.Shape, m.data, test.C, test.H, test.W)
	}
	if m.skip+m.n > test.Len() {
		return nil, badInputf("-skip %d -n %d: the %s test set has %d images", m.skip, m.n, m.data, test.Len())
	}
	image := func(px []byte) *nn.Tensor {
		f := make([]float32, len(px))
		// IDX images are H×W (one channel); NCHW for one channel is the same.
		for i, v := range px {
			f[i] = float32((float64(v)*pre.scale - pre.mean) / pre.std)
		}
		return nn.Float32Tensor(want, f)
	}

	e.log.Debugf("quantizing %s: calibrating on %d %s training images (%s)", m.model, m.calib, m.data, m.method)
	var samples []*nn.Tensor
	for i := 0; i < min(m.calib, train.Len()); i++ {
		samples = append(samples, image(train.Images[i]))
	}
	float, err := nn.Load(m.model)
	if err != nil {
		return nil, badInput(err)
	}
	// An int4 array (input_bits or weight_bits 4) runs the model quantized
	// to 4 bits.
	bits := 8
	if m.rtl != nil && (m.rtl.man.Config.InputBits == 4 || m.rtl.man.Config.WeightBits == 4) {
		bits = 4
	}
	net, err := ptq.Quantize(g, ptq.Options{Calib: quant.CalibConfig{Method: cm}, Samples: samples, Bits: bits})
	if err != nil {
		return nil, badInput(err)
	}
	return &loadedModel{float: float, net: net, input: in.Name, test: test, pre: pre, samples: len(samples), image: image}, nil
}

// runModel quantizes the model and runs the test images.
func (e *env) runModel(m modelRun) (*modelResult, error) {
	lm, err := e.loadModel(&m)
	if err != nil {
		return nil, err
	}
	if err := e.removePrunedChannels(lm, m.rtl.man); err != nil {
		return nil, err
	}
	test, float, net, pre := lm.test, lm.float, lm.net, lm.pre
	// Beside the float-scale requantizer average pools run on the host in
	// ONNX Runtime's float32 arithmetic (the pooling unit's is TFLite's).
	net, err = verify.HostAveragePools(net, m.rtl.man.Config)
	if err != nil {
		return nil, err
	}
	// A configuration with the softmax unit takes the final softmax on chip.
	net = verify.FuseSoftmax(net, m.rtl.man.Config)

	// Test images: float for the float model, int8 NHWC for the network.
	lo, hi := m.skip, m.skip+m.n
	labels := test.Labels[lo:hi]
	var images [][]int8
	floatTop1, floatTop5 := 0, 0
	bar := e.progress(m.n, "float model")
	for i := lo; i < hi; i++ {
		out, err := nn.Run(float, map[string]*nn.Tensor{lm.input: lm.image(test.Images[i])})
		if err != nil {
			return nil, badInput(err)
		}
		t1, t5 := rank(out[float.Outputs[0].Name].Float32, test.Labels[i])
		floatTop1 += t1
		floatTop5 += t5
		images = append(images, lm.int8Image(i))
		bar.Add(1)
	}
	bar.Finish()

	opt := verify.EvalOptions{Batch: m.batch, GEMM: verify.GEMMOptions{Sim: e.simOptions()}}
	man := m.rtl.man
	where := "golden model only"
	if m.rtl.sim != nil {
		if err := net.Fit(man); err != nil {
			return nil, badInput(err)
		}
		if err := checkSimulators(e.ctx, []sim.Simulator{m.rtl.sim}); err != nil {
			return nil, err
		}
		opt.Sim, opt.Man, opt.Dir = m.rtl.sim, man, m.rtl.dir
		where = m.rtl.sim.Name()
	}
	e.log.Infof("running %d images on %s (%s), batch %d", m.n, where, describeConfig(man.Config), m.batch)
	bar = e.progress(m.n, "network")
	done := 0
	opt.Progress = func(d int) { bar.Add(d - done); done = d }
	rep, err := verify.Evaluate(e.ctx, man.Config, net, images, labels, opt)
	bar.Finish()
	if err != nil {
		return nil, interrupted(e.ctx, mismatch(err))
	}
	reference := "float"
	for _, n := range float.Nodes {
		if n.Op == "QuantizeLinear" {
			reference = "QDQ model (ONNX arithmetic)"
			break
		}
	}
	return &modelResult{reference: reference, model: lm, run: m, pre: pre, samples: lm.samples, floatTop1: floatTop1, floatTop5: floatTop5, rep: rep}, nil
}

// print writes the report: the layer table, the accuracy table, cycles.
func (r *modelResult) print(w io.Writer) {
	m, rep, man := r.run, r.rep, r.run.rtl.man
	rtl := m.rtl.sim != nil
	where := "golden model only"
	if rtl {
		where = m.rtl.sim.Name()
	}
	quantized := fmt.Sprintf("calibration %s on %d training images", m.method, r.samples)
	if r.reference != "float" {
		quantized = "the model's own scales and zero points (QDQ)"
	}
	fmt.Fprintf(w, "model %s: %d images of %s from %d; preprocessing (pixel*%g - %g)/%g; %s\n",
		m.model, m.n, m.data, m.skip, r.pre.scale, r.pre.mean, r.pre.std, quantized)
	fmt.Fprintf(w, "hardware %s; %s\n\n", describeConfig(man.Config), where)
	printLayers(w, rep, man.Config.Rows*man.Config.Cols, rtl)
	pct := func(k int) string { return fmt.Sprintf("%.2f%%", 100*float64(k)/float64(m.n)) }
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\taccuracy top-1\ttop-5")
	fmt.Fprintf(tw, "%s\t%s\t%s\n", r.reference, pct(r.floatTop1), pct(r.floatTop5))
	fmt.Fprintf(tw, "int8 golden\t%s\t%s\n", pct(rep.GoldenTop1), pct(rep.GoldenTop5))
	if rtl {
		fmt.Fprintf(tw, "RTL (%s)\t%s\t%s\n", where, pct(rep.RTLTop1), pct(rep.RTLTop5))
	}
	tw.Flush()
	if rtl {
		fmt.Fprintf(w, "\ncycles per image %.0f (batch %d), %d MACs per image on the array, utilization %.1f%%, mismatches %d, wall %s\n",
			r.cyclesPerImage(), m.batch, rep.MACs(), 100*r.utilization(), rep.Mismatches, rep.Wall.Round(time.Millisecond))
	}
}

func (r *modelResult) cyclesPerImage() float64 { return float64(r.rep.Cycles()) / float64(r.run.n) }

func (r *modelResult) utilization() float64 {
	pes := r.run.rtl.man.Config.Rows * r.run.rtl.man.Config.Cols
	return float64(r.rep.MACs()) / float64(pes) / r.cyclesPerImage()
}

// verdict is nil when the RTL matched the golden model; else it prints
// the first mismatch with a command that reruns its batch.
func (r *modelResult) verdict(w io.Writer, repro func(first, n int) string) error {
	rep := r.rep
	if mm := rep.Mismatch; mm != nil {
		skip := r.run.skip
		fmt.Fprintf(w, "MISMATCH in %s, test image %d: %s\n", mm.Op, skip+mm.Image, mm.Mismatch)
		fmt.Fprintf(w, "  reproduce: %s\n", repro(skip+mm.Batch[0], mm.Batch[1]))
		// The failing image's golden vectors, every layer's, for a
		// testbench or a waveform viewer.
		if dir, err := r.writeVectors(skip + mm.Image); err == nil {
			fmt.Fprintf(w, "  golden vectors of that image: %s\n", dir)
		} else {
			fmt.Fprintf(w, "  golden vectors not written: %v\n", err)
		}
		return mismatch(fmt.Errorf("the RTL differs from the golden model in %d values", rep.Mismatches))
	}
	if r.run.rtl.sim != nil && rep.RTLTop1 != rep.GoldenTop1 {
		return mismatch(fmt.Errorf("RTL top-1 %d differs from the golden model's %d", rep.RTLTop1, rep.GoldenTop1))
	}
	return nil
}

// writeVectors writes test image index's golden vectors into a new
// temporary directory and returns it.
func (r *modelResult) writeVectors(index int) (string, error) {
	files, err := goldenVectors(r.run.rtl.man, r.model, r.run.model, r.run.data, index)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", fmt.Sprintf("tpugen-mismatch-image%d-", index))
	if err != nil {
		return "", err
	}
	return dir, writeTree(dir, files)
}

// printLayers writes the per-layer table.
func printLayers(w io.Writer, rep *verify.EvalReport, pes int, rtl bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "layer\top\toutput\twhere\tMACs/image\tpasses\tcycles/image\tpredicted\tutilization\t")
	for _, o := range rep.Ops {
		where, macs, passes, cyc, pred, util := "host", "-", "-", "-", "-", "-"
		if o.Hardware {
			where, macs = "hw", fmt.Sprint(o.MACs)
			if rtl && rep.Images > 0 {
				passes = fmt.Sprint(o.Passes)
				cyc = fmt.Sprintf("%.0f", float64(o.Cycles)/float64(rep.Images))
				pred = fmt.Sprintf("%.0f", float64(o.Predicted)/float64(rep.Images))
				util = fmt.Sprintf("%.1f%%", 100*o.Utilization(pes, rep.Images))
			}
		}
		s := o.Shape.Shape
		fmt.Fprintf(tw, "%s\t%s\t%dx%dx%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", shortName(o.Op.Name), o.Op.Describe(), s.H, s.W, s.C, where, macs, passes, cyc, pred, util)
	}
	tw.Flush()
	fmt.Fprintln(w)
}

// shortName trims the exporter's path-like node names ("/conv1/Conv").
func shortName(s string) string {
	s = strings.TrimPrefix(s, "/")
	if i := strings.Index(s, "/"); i > 0 {
		return s[:i]
	}
	return s
}

// rank reports whether label is the top class and among the top five.
func rank(scores []float32, label int) (top1, top5 int) {
	var a metrics.Accuracy
	a.Add(metrics.Rank(scores, label))
	return a.Top1, a.Top5
}

// toNHWC reorders one C×H×W image to H×W×C.
func toNHWC(x []int8, c, h, w int) []int8 {
	if c == 1 {
		return x
	}
	out := make([]int8, len(x))
	for ch := 0; ch < c; ch++ {
		for i := 0; i < h*w; i++ {
			out[i*c+ch] = x[ch*h*w+i]
		}
	}
	return out
}

// preprocess maps a pixel p (0..255) to (p*scale - mean)/std.
type preprocess struct{ scale, mean, std float64 }

// modelInfo is a model's entry in models/manifest.json.
type modelInfo struct {
	File          string `json:"file"`
	Dataset       string `json:"dataset"`
	Preprocessing struct {
		Scale float64 `json:"scale"`
		Mean  float64 `json:"mean"`
		Std   float64 `json:"std"`
	} `json:"preprocessing"`
}

func (m *modelInfo) pre() preprocess {
	p := preprocess{scale: m.Preprocessing.Scale, mean: m.Preprocessing.Mean, std: m.Preprocessing.Std}
	if p.scale == 0 {
		p.scale = 1.0 / 255
	}
	if p.std == 0 {
		p.std = 1
	}
	return p
}

// lookupModel finds the model in the manifest.json beside it, if any.
func lookupModel(path string) *modelInfo {
	data, err := os.ReadFile(filepath.Join(filepath.Dir(path), "manifest.json"))
	if err != nil {
		return nil
	}
	var list struct {
		Models []modelInfo `json:"models"`
	}
	if json.Unmarshal(data, &list) != nil {
		return nil
	}
	for i := range list.Models {
		if list.Models[i].File == filepath.Base(path) {
			return &list.Models[i]
		}
	}
	return nil
}

// progress returns a progress bar on standard error, drawn only when it
// is a terminal (logs and CI output stay clean).
func (e *env) progress(total int, what string) *progressbar.ProgressBar {
	tty := false
	if f, ok := e.stderr.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return progressbar.NewOptions(total,
		progressbar.OptionSetVisibility(tty),
		progressbar.OptionSetWriter(e.stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("images"),
		progressbar.OptionShowIts(),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}
