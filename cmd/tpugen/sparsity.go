package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/blocks"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/sparse"
	"github.com/tpugen/tpugen/verify"
	"github.com/tpugen/tpugen/verify/sim"
)

// pruneStyle is how a model was pruned (models/manifest.json's style).
type pruneStyle uint8

const (
	styleDense pruneStyle = iota
	styleMagnitude
	styleStructured
	styleShrunk
	styleTile
	stylePattern
	styleArray
)

var pruneStyleNames = []string{"dense", "magnitude", "structured", "structured, shrunk", "tile-aligned", "pattern", "array-aligned"}

func (s pruneStyle) String() string { return pruneStyleNames[s] }

// parsePruneStyle reads a manifest style; unknown styles count as dense.
func parsePruneStyle(s string) pruneStyle {
	for i, n := range pruneStyleNames {
		if n == s {
			return pruneStyle(i)
		}
	}
	return styleDense
}

// sparsityModels is what tpugen sparsity runs by default: the dense LeNet
// and its pruned variants.
var sparsityModels = []string{
	"lenet5_mnist.onnx",
	"lenet5_mnist_prune_mag50.onnx", "lenet5_mnist_prune_mag80.onnx", "lenet5_mnist_prune_mag90.onnx",
	"lenet5_mnist_prune_struct50.onnx", "lenet5_mnist_prune_struct75.onnx",
	"lenet5_mnist_prune_struct50_shrunk.onnx", "lenet5_mnist_prune_struct75_shrunk.onnx",
	"lenet5_mnist_prune_tile50.onnx", "lenet5_mnist_prune_pattern.onnx",
	"lenet5_mnist_prune_array50.onnx",
}

func runSparsity(e *env, args []string) error {
	fs := e.flagSet("[-models A.onnx,B.onnx] [-n N] [-sim verilator|icarus|golden] [-out DIR] [-config FILE | -rtl DIR]",
		"Runs pruned models and the dense one on the RTL and reports, per model: weight\n"+
			"sparsity, the MACs left after the compiler removes pruned channels, top-1 of the\n"+
			"int8 golden model and of the RTL (bit-exact, every layer compared), RTL cycles per\n"+
			"image against the dense model's and against the ideal (MAC) ratio, the weights\n"+
			"crossing w_in per image dense and as bitmask beats (weight_compression), and the\n"+
			"share of MACs that see a zero activation or a zero weight; then the same per layer.\n"+
			"With -out, writes sparsity.csv and accuracy and cycles against sparsity per pruning\n"+
			"style (sparsity.png, sparsity.svg).",
		"  tpugen sparsity -n 1000 -out docs/sparsity\n"+
			"  tpugen sparsity -n 10000 -sim golden\n"+
			"  tpugen sparsity -models models/lenet5_mnist_prune_mag80.onnx -n 64 -config configs/sparse.json")
	dir := filepath.Dir(defaultModel)
	var def []string
	for _, m := range sparsityModels {
		def = append(def, filepath.Join(dir, m))
	}
	models := fs.String("models", strings.Join(def, ","), "comma-separated ONNX `FILES` (the first dense one is the baseline)")
	n := fs.Int("n", 100, "number of test images `N`")
	skip := fs.Int("skip", 0, "start at test image `K`")
	batch := fs.Int("batch", 32, "images per layer run `B`")
	simName := fs.String("sim", "verilator", "where hardware layers run: verilator, icarus or golden (no RTL, no cycles)")
	calib := fs.Int("calib", 200, "calibrate activations on the first `N` training images")
	out := fs.String("out", "", "write sparsity.csv, sparsity.png and sparsity.svg into `DIR`")
	src := e.rtlFlags(fs)
	verbose := e.verboseFlag(fs)
	if err := e.parse(fs, args); err != nil {
		return err
	}
	e.setVerbose(*verbose)
	if *n < 1 || *skip < 0 || *batch < 1 || *calib < 1 {
		return badInputf("-n, -batch and -calib must be at least 1 and -skip at least 0")
	}
	var files []string
	for _, f := range strings.Split(*models, ",") {
		if f = strings.TrimSpace(f); f != "" {
			if _, err := os.Stat(f); err != nil {
				return badInput(err)
			}
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return badInputf("-models: no model given")
	}
	rtl, err := openRTL(src, *simName)
	if err != nil {
		return err
	}
	defer rtl.cleanup()
	if rtl.sim != nil {
		if err := checkSimulators(e.ctx, []sim.Simulator{rtl.sim}); err != nil {
			return err
		}
		rtl.sim = e.sessions([]sim.Simulator{rtl.sim})[0]
	}
	cman, err := bitmaskManifest(rtl.man)
	if err != nil {
		return badInput(err)
	}
	var rows []sparsityRow
	for _, f := range files {
		e.log.Infof("sparsity: %s", f)
		r, err := e.sparsityRun(f, modelRun{model: f, n: *n, skip: *skip, batch: *batch, calib: *calib, method: "minmax",
			scale: math.NaN(), mean: math.NaN(), std: math.NaN(), rtl: rtl}, cman)
		if err != nil {
			return err
		}
		rows = append(rows, r)
	}
	base := rows[0]
	for _, r := range rows {
		if r.style == styleDense {
			base = r
			break
		}
	}
	printSparsity(e.stdout, rows, base, rtl, *n, *batch)
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return badInput(err)
		}
		if err := writeFileAtomic(filepath.Join(*out, "sparsity.csv"), func(w io.Writer) error { return sparsityCSV(w, rows, base) }); err != nil {
			return err
		}
		for _, ext := range []string{"png", "svg"} {
			if err := sparsityPlot(filepath.Join(*out, "sparsity."+ext), rows, base, rtl.sim != nil); err != nil {
				return fmt.Errorf("plot: %w", err)
			}
		}
		fmt.Fprintf(e.stdout, "\nwrote %s\n", strings.Join([]string{filepath.Join(*out, "sparsity.csv"), filepath.Join(*out, "sparsity.png"), filepath.Join(*out, "sparsity.svg")}, ", "))
	}
	for _, r := range rows {
		if r.rep.Mismatch != nil {
			return mismatch(fmt.Errorf("%s: the RTL differs from the golden model in %d values (first in %s)", r.file, r.rep.Mismatches, r.rep.Mismatch.Op))
		}
	}
	return nil
}

// bitmaskManifest is man with weight_compression bitmask: the w_in layout
// the decoder takes, for counting the compressed beats.
func bitmaskManifest(man *arch.Manifest) (*arch.Manifest, error) {
	c := *man
	if c.Config.WeightCompression.IsCompressed() {
		return &c, nil
	}
	c.Config.WeightCompression = arch.WeightBitmask
	dec, err := blocks.NewWeightDecoder(blocks.WeightDecoderConfig{Lanes: c.Config.Cols, Rows: c.Config.Rows, WeightBits: c.Config.WeightBits})
	if err != nil {
		return nil, fmt.Errorf("weight traffic: %w", err)
	}
	c.Streams = append([]arch.Layout(nil), man.Streams...)
	for i := range c.Streams {
		if c.Streams[i].Name == arch.StreamW {
			c.Streams[i].Width, c.Streams[i].Fields = dec.Width, dec.Fields
		}
	}
	return &c, nil
}

// sparsityRow is one model's figures.
type sparsityRow struct {
	file  string
	style pruneStyle
	// weights and zeros count the int8 weights of the hardware layers as
	// the model has them (before channel removal).
	weights, zeros int
	macs, kept     int64 // MACs per image before and after channel removal
	removed        []compile.PrunedChannels
	rep            *verify.EvalReport
	layers         []layerMACs           // per hardware layer, summed over the images
	dense, packed  compile.WeightTraffic // one batch's passes
	aBeats         int                   // a_in beats of one batch's passes: the array's passes over its rows
	n, batch       int
}

type layerMACs struct {
	name string
	sparse.MACCount
	kept   int64 // MACs per image after channel removal
	cycles int64 // RTL cycles, all images
}

func (r sparsityRow) sparsity() float64 { return float64(r.zeros) / float64(max(1, r.weights)) }

// macSparsity is the share of the model's MACs that multiply a zero weight.
func (r sparsityRow) macSparsity() float64 {
	c := r.macCount()
	return c.Share(c.ZeroWeight)
}

func (r sparsityRow) macCount() sparse.MACCount {
	var c sparse.MACCount
	for _, l := range r.layers {
		c.Add(l.MACCount)
	}
	return c
}

func (r sparsityRow) cyclesPerImage() float64 { return float64(r.rep.Cycles()) / float64(r.n) }

// styleOf reads a model's pruning style from the models/manifest.json
// beside it ("pruned" entries); other models are dense.
func styleOf(path string) pruneStyle {
	data, err := os.ReadFile(filepath.Join(filepath.Dir(path), "manifest.json"))
	if err != nil {
		return styleDense
	}
	var list struct {
		Pruned []struct {
			File  string `json:"file"`
			Style string `json:"style"`
		} `json:"pruned"`
	}
	if json.Unmarshal(data, &list) != nil {
		return styleDense
	}
	for _, p := range list.Pruned {
		if p.File == filepath.Base(path) {
			return parsePruneStyle(p.Style)
		}
	}
	return styleDense
}

// sparsityRun quantizes one model, removes its pruned channels, runs it
// and counts what its zeros are worth.
func (e *env) sparsityRun(file string, m modelRun, cman *arch.Manifest) (sparsityRow, error) {
	lm, err := e.loadModel(&m)
	if err != nil {
		return sparsityRow{}, err
	}
	man := m.rtl.man
	row := sparsityRow{file: file, style: styleOf(file), n: m.n, batch: m.batch}
	for _, op := range lm.net.Ops {
		if op.OnHardware() {
			row.macs += op.MACs()
			row.weights += len(op.Layer.Weights)
			for _, w := range op.Layer.Weights {
				if w == 0 {
					row.zeros++
				}
			}
		}
	}
	net, removed, err := compile.RemovePrunedChannels(lm.net, man.Config.Rounding)
	if err != nil {
		return row, err
	}
	row.removed = removed
	for _, op := range net.Ops {
		if op.OnHardware() {
			row.kept += op.MACs()
		}
	}
	var images [][]int8
	for i := m.skip; i < m.skip+m.n; i++ {
		images = append(images, lm.int8Image(i))
	}
	labels := lm.test.Labels[m.skip : m.skip+m.n]
	opt := verify.EvalOptions{Batch: m.batch, GEMM: verify.GEMMOptions{Sim: e.simOptions()}}
	if m.rtl.sim != nil {
		if err := net.Fit(man); err != nil {
			return row, badInput(err)
		}
		opt.Sim, opt.Man, opt.Dir = m.rtl.sim, man, m.rtl.dir
	}
	row.rep, err = verify.Evaluate(e.ctx, man.Config, net, images, labels, opt)
	if err != nil {
		return row, interrupted(e.ctx, mismatch(err))
	}
	// Channel removal keeps every op, so the reports' ops pair up.
	for i, op := range lm.net.Ops {
		if op.OnHardware() {
			o := row.rep.Ops[i]
			row.layers = append(row.layers, layerMACs{name: shortName(op.Name), kept: o.MACs, cycles: o.Cycles})
		}
	}
	// Zero activations and weights of the model as it is (before channel
	// removal), from the golden model's inputs to every hardware layer.
	for b0 := 0; b0 < len(images); b0 += m.batch {
		nb := min(m.batch, len(images)-b0)
		var input []int8
		for _, img := range images[b0 : b0+nb] {
			input = append(input, img...)
		}
		vals, err := verify.GoldenNetwork(man.Config, lm.net, input, nb)
		if err != nil {
			return row, err
		}
		k := 0
		for _, op := range lm.net.Ops {
			if !op.OnHardware() {
				continue
			}
			in := vals[op.Inputs[0]]
			c, err := sparse.CountMACs(op.Bind(in.Data, in.Shape))
			if err != nil {
				return row, fmt.Errorf("%s: %w", op.Name, err)
			}
			row.layers[k].Add(c)
			k++
		}
	}
	// Weight traffic of one batch's passes, dense rows and bitmask beats.
	for _, op := range net.Ops {
		if !op.OnHardware() {
			continue
		}
		s := net.Tensors[op.Inputs[0]].Shape
		s.N = m.batch
		passes, err := compile.PlanPasses(cman, op.Bind(make([]int8, s.Len()), s))
		if err != nil {
			return row, badInput(fmt.Errorf("%s: %w", op.Name, err))
		}
		for _, p := range passes {
			_, d, c, err := compile.CompressWeights(cman, p.Plan.GEMM.W)
			if err != nil {
				return row, err
			}
			row.dense.Add(d)
			row.packed.Add(c)
			row.aBeats += len(p.Plan.GEMM.A)
		}
	}
	return row, nil
}

// perImage divides a batch's traffic by the batch.
func perImage(v int64, batch int) float64 { return float64(v) / float64(batch) }

// printSparsity writes the per-model table and the per-layer one.
func printSparsity(w io.Writer, rows []sparsityRow, base sparsityRow, rtl *rtlRun, n, batch int) {
	man := rtl.man
	where := "golden model only"
	if rtl.sim != nil {
		where = rtl.sim.Name()
	}
	fmt.Fprintf(w, "hardware %s; %s; %d test images from the set's start, batch %d\n\n", describeConfig(man.Config), where, n, batch)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "model\tstyle\tweight sparsity\tMACs/image\tMAC ratio\ttop-1 golden\ttop-1 RTL\tvs dense\tcycles/image\tcycle ratio\tcycles/ideal\tarray passes\tw_in beats dense\tbitmask\tw_in bytes dense\tbitmask\tzero-act MACs\tzero-weight MACs\tmismatches\t")
	pct := func(k int) float64 { return 100 * float64(k) / float64(n) }
	for _, r := range rows {
		macRatio := float64(r.kept) / float64(base.macs)
		rtlTop, dTop, cyc, cycRatio, ideal, mm := "-", "-", "-", "-", "-", "-"
		if rtl.sim != nil {
			rtlTop = fmt.Sprintf("%.2f%%", pct(r.rep.RTLTop1))
			cyc = fmt.Sprintf("%.0f", r.cyclesPerImage())
			cr := r.cyclesPerImage() / base.cyclesPerImage()
			cycRatio = fmt.Sprintf("%.3f", cr)
			ideal = fmt.Sprintf("%.2f", cr/macRatio)
			mm = fmt.Sprint(r.rep.Mismatches)
		}
		dTop = fmt.Sprintf("%+.2f", pct(r.rep.GoldenTop1)-pct(base.rep.GoldenTop1))
		c := r.macCount()
		fmt.Fprintf(tw, "%s\t%s\t%.1f%%\t%d\t%.3f\t%.2f%%\t%s\t%s\t%s\t%s\t%s\t%.3f\t%.0f\t%.1f\t%.0f\t%.1f\t%.1f%%\t%.1f%%\t%s\t\n",
			strings.TrimSuffix(filepath.Base(r.file), ".onnx"), r.style, 100*r.sparsity(), r.kept, macRatio,
			pct(r.rep.GoldenTop1), rtlTop, dTop, cyc, cycRatio, ideal, float64(r.aBeats)/float64(base.aBeats),
			perImage(int64(r.dense.Beats), batch), perImage(int64(r.packed.Beats), batch),
			perImage(int64(r.dense.Bytes), batch), perImage(int64(r.packed.Bytes), batch),
			100*c.Share(c.ZeroActivation), 100*c.Share(c.ZeroWeight), mm)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nMAC ratio: MACs per image after the compiler removes pruned channels, over the dense model's; cycle ratio: RTL cycles\n"+
		"per image over the dense model's; cycles/ideal: cycle ratio over MAC ratio (1.00 is proportional); array passes: a_in\n"+
		"beats (an activation row through the array per weight tile) over the dense model's: the work left once whole tiles\n"+
		"are gone, which a WS array's cycles follow. w_in: weight beats and\n"+
		"bytes per image on the interface (per batch of %d, divided), dense rows and bitmask beats (weight_compression).\n"+
		"zero-act / zero-weight MACs: the share of the model's MACs (before channel removal) whose activation is the input\n"+
		"zero point, or whose weight is zero, measured on the golden model's layer inputs.\n\n", batch)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "model\tlayer\tMACs/image\tzero activation\tzero weight\tboth\tMACs kept\tMAC ratio\tcycles/image\tcycle ratio\t")
	for _, r := range rows {
		for k, l := range r.layers {
			macRatio, cyc, cycRatio := "-", "-", "-"
			if k < len(base.layers) && len(base.layers) == len(r.layers) {
				b := base.layers[k]
				macRatio = fmt.Sprintf("%.3f", float64(l.kept)/float64(max(1, b.kept)))
				if l.cycles > 0 {
					cyc = fmt.Sprintf("%.0f", float64(l.cycles)/float64(n))
					cycRatio = fmt.Sprintf("%.3f", float64(l.cycles)/float64(max(1, b.cycles)))
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f%%\t%.1f%%\t%.1f%%\t%d\t%s\t%s\t%s\t\n", strings.TrimSuffix(filepath.Base(r.file), ".onnx"), l.name,
				l.Total/int64(n), 100*l.Share(l.ZeroActivation), 100*l.Share(l.ZeroWeight), 100*l.Share(l.Both), l.kept, macRatio, cyc, cycRatio)
		}
	}
	tw.Flush()
}

// sparsityCSV writes one line per model.
func sparsityCSV(w io.Writer, rows []sparsityRow, base sparsityRow) error {
	cw := csv.NewWriter(w)
	f := func(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }
	if err := cw.Write([]string{"model", "style", "weight_sparsity", "macs_per_image", "mac_ratio", "images", "golden_top1", "rtl_top1",
		"cycles_per_image", "cycle_ratio", "w_beats_dense_per_image", "w_beats_bitmask_per_image", "w_bytes_dense_per_image",
		"w_bytes_bitmask_per_image", "zero_activation_macs", "zero_weight_macs", "mismatches"}); err != nil {
		return err
	}
	for _, r := range rows {
		c := r.macCount()
		cyc, ratio := "", ""
		if r.rep.Cycles() > 0 {
			cyc, ratio = f(r.cyclesPerImage(), 1), f(r.cyclesPerImage()/base.cyclesPerImage(), 4)
		}
		if err := cw.Write([]string{strings.TrimSuffix(filepath.Base(r.file), ".onnx"), r.style.String(), f(r.sparsity(), 4),
			strconv.FormatInt(r.kept, 10), f(float64(r.kept)/float64(base.macs), 4), strconv.Itoa(r.n),
			f(float64(r.rep.GoldenTop1)/float64(r.n), 4), f(float64(r.rep.RTLTop1)/float64(r.n), 4), cyc, ratio,
			f(perImage(int64(r.dense.Beats), r.batch), 2), f(perImage(int64(r.packed.Beats), r.batch), 2),
			f(perImage(int64(r.dense.Bytes), r.batch), 2), f(perImage(int64(r.packed.Bytes), r.batch), 2),
			f(c.Share(c.ZeroActivation), 4), f(c.Share(c.ZeroWeight), 4), strconv.Itoa(r.rep.Mismatches)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// removePrunedChannels lets tpugen run compile a pruned model as the
// compiler can: without the output channels whose weights are all zero
// (and the next layer's inputs from them), exactly. The layer table then
// shows the MACs and cycles that are left.
func (e *env) removePrunedChannels(lm *loadedModel, man *arch.Manifest) error {
	net, removed, err := compile.RemovePrunedChannels(lm.net, man.Config.Rounding)
	if err != nil {
		return err
	}
	for _, r := range removed {
		e.log.Infof("%s: %d output channels with all-zero weights removed (constant outputs folded into %s)", shortName(r.Op), len(r.Outputs), shortName(r.Consumer))
	}
	lm.net = net
	return nil
}
