package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/fpga"
	"github.com/tpugen/tpugen/gen"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/verify"
)

func runSweep(e *env, args []string) error {
	fs := e.flagSet("[-config FILE] [-rows 4,8] [-cols ...] [-dataflow ws,os] [-bits 4,8] [-mac split,fused] [-target T] [-out DIR] [-model M.onnx]",
		"Sweeps the design space: for every combination of the lists, generates the RTL of the\n"+
			"base configuration with those keys changed, synthesizes it for the target (area; on\n"+
			"iCE40, Fmax from nextpnr-ice40 when the design fits the device, else \"-\"), and computes\n"+
			"the model's cycles per image from the cycle model (no simulation): every hardware layer\n"+
			"of the quantized network planned onto the configuration for a batch, in as many passes\n"+
			"as its channels need parameter sets. Writes DIR/sweep.csv (config, rows, cols,\n"+
			"dataflow, bits, mac, area, flip-flops, DSPs, block RAMs, Fmax, cycles per image,\n"+
			"images/s = Fmax / cycles, utilization), DIR/throughput.png and .svg (throughput against\n"+
			"area, the Pareto front marked; images per 10^6 cycles when some point has no Fmax) and\n"+
			"DIR/utilization.png and .svg (utilization per layer of the base configuration).\n"+
			"Cycles depend on shapes only: -bits 4 points plan the same network (as if quantized to\n"+
			"4 bits). Configurations are synthesized in parallel; progress goes to standard error.",
		"  tpugen sweep -rows 2,4,8 -dataflow ws,os -bits 4,8 -target generic -out docs/sweep\n"+
			"  tpugen sweep -rows 2 -cols 2,4 -mac split,fused -target ice40-hx8k -seeds 3\n"+
			"  tpugen sweep -config configs/small.json -rows 4,8 -dataflow os -out sweep-os")
	config := fs.String("config", "", "base configuration `FILE` whose other keys every point keeps (default: the embedded default)")
	rowsF := fs.String("rows", "4,8", "array rows, a comma-separated `LIST`")
	colsF := fs.String("cols", "", "array columns, a comma-separated `LIST` (default: each point's rows, square arrays)")
	dataflowF := fs.String("dataflow", "ws,os", "dataflows `LIST`: ws, os")
	bitsF := fs.String("bits", "8", "input and weight bits `LIST`: 4, 8, 16")
	macF := fs.String("mac", "split", "MAC forms `LIST`: split, fused, csa")
	targetName := fs.String("target", "generic", "`TARGET`: "+strings.Join(fpga.TargetNames(), ", ")+" (Fmax on iCE40 only)")
	dsp := fs.Bool("dsp", false, "map multipliers onto DSP blocks (see tpugen synth -h)")
	seeds := fs.Int("seeds", 1, "nextpnr seeds `N` per point that fits (Fmax is their median)")
	freq := fs.Float64("freq", 100, "clock `MHZ` nextpnr's placer aims at")
	outDir := fs.String("out", "sweep", "output `DIR` (created)")
	model := fs.String("model", defaultModel, "ONNX `MODEL` whose cycles per image are computed")
	batch := fs.Int("batch", 32, "images per layer run `B` (FC layers become GEMMs of B rows)")
	jobs := fs.Int("jobs", 0, "syntheses at once `N` (default: the number of CPUs)")
	verbose := fs.Bool("v", false, "also log every Yosys and nextpnr command")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	e.setVerbose(*verbose)
	rows, err := intList("rows", *rowsF)
	if err != nil {
		return err
	}
	cols := []int{0} // 0: the point's rows
	if *colsF != "" {
		if cols, err = intList("cols", *colsF); err != nil {
			return err
		}
	}
	bits, err := intList("bits", *bitsF)
	if err != nil {
		return err
	}
	dataflows, err := modeList[arch.Dataflow]("dataflow", *dataflowF)
	if err != nil {
		return err
	}
	macs, err := modeList[arch.MACForm]("mac", *macF)
	if err != nil {
		return err
	}
	target, err := fpga.LookupTarget(*targetName)
	if err != nil {
		return badInputf("-target: %v", err)
	}
	if err := checkDSP(target, *dsp); err != nil {
		return err
	}
	if *seeds < 1 || *batch < 1 || *jobs < 0 || !(*freq > 0) {
		return badInputf("-seeds and -batch must be at least 1, -jobs at least 0 and -freq above 0")
	}
	base, err := loadConfig(*config)
	if err != nil {
		return err
	}

	// Every point generated up front: a bad combination fails before any
	// long run.
	var points []*sweepPoint
	for _, r := range rows {
		for _, c := range cols {
			for _, df := range dataflows {
				for _, b := range bits {
					for _, m := range macs {
						cfg := base
						cfg.Rows, cfg.Cols, cfg.Dataflow, cfg.InputBits, cfg.WeightBits, cfg.MAC = r, c, df, b, b, m
						if c == 0 {
							cfg.Cols = r
						}
						cfg.Name = fmt.Sprintf("r%dc%d_%s_b%d_%s", cfg.Rows, cfg.Cols, df, b, m)
						out, man, err := generate(cfg)
						if err != nil {
							return err
						}
						points = append(points, &sweepPoint{cfg: man.Config, out: out, man: man})
					}
				}
			}
		}
	}
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		return badInputf("-out: %v", err)
	}
	tools := &fpga.Tools{Log: e.toolLog()}
	if err := tools.Check(target, true); err != nil {
		return badInput(err)
	}
	start := time.Now()

	// The model, quantized once; its cycles on every point and on the base.
	e.log.Infof("loading and quantizing %s", *model)
	// Only the shapes matter here: a few calibration images do.
	mr := modelRun{model: *model, n: 1, batch: *batch, calib: 16, method: "minmax", scale: math.NaN(), mean: math.NaN(), std: math.NaN()}
	lm, err := e.loadModel(&mr)
	if err != nil {
		return err
	}
	for _, p := range points {
		p.layers, p.cycleErr = networkCycles(p.man, lm.net, *batch)
	}
	_, baseMan, err := generate(base)
	if err != nil {
		return err
	}
	baseLayers, err := networkCycles(baseMan, lm.net, *batch)
	if err != nil {
		return badInputf("%s on the base configuration %s: %v", *model, base.Name, err)
	}

	// Synthesis, in parallel.
	work, done, err := workDir("")
	if err != nil {
		return err
	}
	defer done()
	var mu sync.Mutex
	finished := 0
	var fns []func(context.Context) error
	for _, p := range points {
		fns = append(fns, func(ctx context.Context) error {
			dir, cleanup, err := writeTempRTL(p.out)
			if err != nil {
				return err
			}
			defer cleanup()
			f := &fpga.Flow{Tools: tools, Dir: work, Target: target, DSP: *dsp, Seeds: *seeds, FreqMHz: *freq, Jobs: 1}
			if *verbose {
				f.Progress = func(msg string) { e.log.Debug(msg) }
			}
			t0 := time.Now()
			res, err := f.Run(ctx, rtlDesign(p.man, dir))
			if err != nil && res == nil {
				return fmt.Errorf("%s: %w", p.cfg.Name, err)
			}
			p.res = res
			mu.Lock()
			finished++
			e.log.Infof("%s: %s (%.0fs; %d of %d done, %.0fs so far)", p.cfg.Name, p.summary(target), time.Since(t0).Seconds(), finished, len(points), time.Since(start).Seconds())
			mu.Unlock()
			return nil
		})
	}
	if *jobs == 0 {
		*jobs = runtime.NumCPU()
	}
	e.log.Infof("synthesizing %d configurations for %s, %d at a time", len(points), target.Name, *jobs)
	if err := fpga.Parallel(e.ctx, *jobs, fns...); err != nil {
		return interrupted(e.ctx, err)
	}

	s := &sweep{target: target, points: points, base: baseMan.Config, baseLayers: baseLayers, batch: *batch, model: *model}
	csvPath := filepath.Join(*outDir, "sweep.csv")
	if err := s.writeCSV(csvPath); err != nil {
		return err
	}
	files := []string{csvPath}
	for _, ext := range []string{"png", "svg"} {
		tp := filepath.Join(*outDir, "throughput."+ext)
		up := filepath.Join(*outDir, "utilization."+ext)
		if err := s.throughputPlot(tp); err != nil {
			return err
		}
		if err := s.utilizationPlot(up); err != nil {
			return err
		}
		files = append(files, tp, up)
	}
	s.print(e.stdout)
	fmt.Fprintf(e.stdout, "\nwrote %s (%.0f s)\n", strings.Join(files, ", "), time.Since(start).Seconds())
	return nil
}

// intList parses a comma-separated list of positive integers.
func intList(flag, s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, badInputf("-%s %q: %q is not a positive integer (want a comma-separated list such as 4,8)", flag, s, f)
		}
		if !containsInt(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

func containsInt(v []int, n int) bool {
	for _, x := range v {
		if x == n {
			return true
		}
	}
	return false
}

// modeList parses a comma-separated list of a mode (dataflow, MAC form).
func modeList[T ~uint8, P interface {
	*T
	UnmarshalText([]byte) error
}](flag, s string) ([]T, error) {
	var out []T
	for _, f := range strings.Split(s, ",") {
		v, err := arch.ParseMode[T, P](strings.TrimSpace(f))
		if err != nil {
			return nil, badInputf("-%s %q: %v", flag, s, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// sweepPoint is one configuration of a sweep.
type sweepPoint struct {
	cfg      arch.Config
	out      *gen.Output
	man      *arch.Manifest
	res      *fpga.Result
	layers   []layerCycles
	cycleErr error
}

// layerCycles is one hardware layer of a network on a configuration,
// from the cycle model.
type layerCycles struct {
	Name   string
	About  string
	MACs   int64 // per batch
	Cycles int   // per batch, all passes
	Passes int
}

// Utilization is ideal cycles (MACs / PEs) over cycles.
func (l layerCycles) Utilization(pes int) float64 {
	if l.Cycles == 0 {
		return 0
	}
	return float64(l.MACs) / float64(pes) / float64(l.Cycles)
}

// networkCycles plans every hardware layer of net onto man's configuration
// for a batch and sums the cycle model's predictions, as a run on the RTL
// would take them (verify.RunNetwork): each layer in as many passes as its
// output channels need parameter sets. Only shapes matter, so every tensor
// is zeros and every weight is 1 (a narrow configuration plans the same
// network as if it were quantized to its widths; not 0, since the compiler
// skips all-zero weight tiles).
func networkCycles(man *arch.Manifest, net *compile.Network, batch int) ([]layerCycles, error) {
	in := net.Tensors[net.Input].Shape
	in.N = batch
	vals := map[string]verify.Value{net.Input: {Data: make([]int8, in.Len()), Shape: in}}
	var out []layerCycles
	for _, op := range net.Ops {
		x := vals[op.Inputs[0]]
		var v verify.Value
		if op.OnHardware() {
			l := op.Bind(x.Data, x.Shape)
			l.Weights = make([]int8, len(l.Weights))
			for i := range l.Weights {
				l.Weights[i] = 1
			}
			l.InputZP = 0
			lc := layerCycles{Name: shortName(op.Name), About: op.Describe(), MACs: op.MACs() * int64(batch)}
			passes, err := compile.PlanPasses(man, l)
			if err != nil {
				return nil, fmt.Errorf("%s (%s): %w", op.Name, op.Describe(), err)
			}
			for i, pp := range passes {
				plan := pp.Plan
				lc.Cycles += verify.PredictLayerCycles(man, plan)
				if i == 0 {
					v.Shape = plan.Shape
					v.Shape.C = l.WeightShape.N
				}
			}
			lc.Passes = len(passes)
			v.Data = make([]int8, v.Shape.Len())
			out = append(out, lc)
		} else {
			var ins [][]int8
			var shapes []quant.Shape
			for _, name := range op.Inputs {
				ins = append(ins, vals[name].Data)
				shapes = append(shapes, vals[name].Shape)
			}
			var err error
			v.Data, v.Shape, err = op.RunHost(ins, shapes)
			if err != nil {
				return nil, fmt.Errorf("%s (%s): %w", op.Name, op.Describe(), err)
			}
		}
		vals[op.Output] = v
	}
	return out, nil
}

// cyclesPerImage is the hardware layers' cycles per image (0 when the
// network does not run on the point).
func (p *sweepPoint) cyclesPerImage(batch int) float64 {
	if p.cycleErr != nil {
		return 0
	}
	n := 0
	for _, l := range p.layers {
		n += l.Cycles
	}
	return float64(n) / float64(batch)
}

// utilization is the network's: all hardware layers' ideal cycles over
// their cycles.
func (p *sweepPoint) utilization() float64 {
	var ideal float64
	n := 0
	for _, l := range p.layers {
		ideal += float64(l.MACs) / float64(p.cfg.Rows*p.cfg.Cols)
		n += l.Cycles
	}
	if n == 0 {
		return 0
	}
	return ideal / float64(n)
}

func (p *sweepPoint) fmax() float64 {
	if p.res == nil || p.res.Timing == nil {
		return 0
	}
	return p.res.Timing.FmaxMHz
}

// area is the point's LUTs (cells on the generic target).
func (p *sweepPoint) area(t *fpga.Target) int {
	if t.Family == fpga.Generic {
		return p.res.Resources.Cells
	}
	return p.res.Resources.LUTs
}

func (p *sweepPoint) summary(t *fpga.Target) string {
	s := fmt.Sprintf("%s %s", thousands(p.area(t)), areaUnit(t))
	if !p.res.Fits {
		s += " (does not fit the " + t.Device.Short + ")"
	}
	if f := p.fmax(); f > 0 {
		s += fmt.Sprintf(", %.1f MHz", f)
	}
	return s
}

func areaUnit(t *fpga.Target) string {
	if t.Family == fpga.Generic {
		return "cells"
	}
	return "LUTs"
}

// sweep is a finished sweep.
type sweep struct {
	target     *fpga.Target
	points     []*sweepPoint
	base       arch.Config
	baseLayers []layerCycles
	batch      int
	model      string
}

func (s *sweep) writeCSV(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return badInputf("-out: %v", err)
	}
	w := csv.NewWriter(f)
	area := strings.ToLower(areaUnit(s.target))
	w.Write([]string{"config", "rows", "cols", "dataflow", "bits", "mac", "target", area, "ffs", "dsps", "brams", "fits",
		"fmax_mhz", "cycles_per_image", "images_per_s", "utilization", "note"})
	for _, p := range s.points {
		r := p.res.Resources
		fmax, ips, cyc, util, note := "-", "-", "-", "-", ""
		if f := p.fmax(); f > 0 {
			fmax = fmt.Sprintf("%.2f", f)
		}
		if c := p.cyclesPerImage(s.batch); c > 0 {
			cyc = fmt.Sprintf("%.0f", c)
			util = fmt.Sprintf("%.4f", p.utilization())
			if f := p.fmax(); f > 0 {
				ips = fmt.Sprintf("%.1f", f*1e6/c)
			}
		}
		if p.cycleErr != nil {
			note = p.cycleErr.Error()
		} else if !p.res.Fits {
			note = "does not fit the " + s.target.Device.Short
		}
		w.Write([]string{p.cfg.Name, strconv.Itoa(p.cfg.Rows), strconv.Itoa(p.cfg.Cols), p.cfg.Dataflow.String(),
			strconv.Itoa(p.cfg.InputBits), p.cfg.MAC.String(), s.target.Name, strconv.Itoa(p.area(s.target)), strconv.Itoa(r.FFs),
			strconv.Itoa(r.DSPs), strconv.Itoa(r.BRAMs), strconv.FormatBool(p.res.Fits), fmax, cyc, ips, util, note})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// print writes the sweep as a markdown table.
func (s *sweep) print(w io.Writer) {
	fmt.Fprintf(w, "%s on %s: cycles per image of %s (batch %d) from the cycle model\n\n", s.base.Name, s.target.Name, s.model, s.batch)
	t := &table{head: []string{"config", areaUnit(s.target), "FFs", "BRAMs", "fits", "Fmax MHz", "cycles/image", "images/s", "utilization"}}
	for _, p := range s.points {
		r := p.res.Resources
		fmax, ips, cyc, util := "-", "-", "-", "-"
		if f := p.fmax(); f > 0 {
			fmax = fmt.Sprintf("%.1f", f)
		}
		if c := p.cyclesPerImage(s.batch); c > 0 {
			cyc, util = thousands(int(math.Round(c))), fmt.Sprintf("%.1f%%", 100*p.utilization())
			if f := p.fmax(); f > 0 {
				ips = fmt.Sprintf("%.0f", f*1e6/c)
			}
		}
		fits := "yes"
		if !p.res.Fits {
			fits = "no"
		}
		if s.target.Device == nil {
			fits = "-"
		}
		t.add(p.cfg.Name, thousands(p.area(s.target)), thousands(r.FFs), strconv.Itoa(r.BRAMs), fits, fmax, cyc, ips, util)
	}
	t.write(w)
	for _, p := range s.points {
		if p.cycleErr != nil {
			fmt.Fprintf(w, "%s: the model does not run on it: %v\n", p.cfg.Name, p.cycleErr)
		}
	}
}

// throughput returns each point's throughput and the axis label: images/s
// when every point has an Fmax, else images per 10^6 cycles (images/s per
// MHz of clock).
func (s *sweep) throughput() ([]float64, string) {
	all := true
	for _, p := range s.points {
		if p.cyclesPerImage(s.batch) > 0 && p.fmax() == 0 {
			all = false
		}
	}
	var v []float64
	for _, p := range s.points {
		c := p.cyclesPerImage(s.batch)
		switch {
		case c == 0:
			v = append(v, 0)
		case all:
			v = append(v, p.fmax()*1e6/c)
		default:
			v = append(v, 1e6/c)
		}
	}
	if all {
		return v, "images/s (at each point's Fmax)"
	}
	return v, "images per million cycles (= images/s per MHz)"
}

// pareto returns the indexes of the points no other point beats in both
// area (smaller) and throughput (larger), by increasing area.
func pareto(area, thr []float64) []int {
	idx := make([]int, 0, len(area))
	for i := range area {
		if thr[i] > 0 {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool {
		if area[idx[a]] != area[idx[b]] {
			return area[idx[a]] < area[idx[b]]
		}
		return thr[idx[a]] > thr[idx[b]]
	})
	var front []int
	best := 0.0
	for _, i := range idx {
		if thr[i] > best {
			front = append(front, i)
			best = thr[i]
		}
	}
	return front
}

var (
	wsColor = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	osColor = color.RGBA{R: 214, G: 39, B: 40, A: 255}
)

// throughputPlot draws throughput against area, the Pareto front as a line,
// every point labelled with its shape.
func (s *sweep) throughputPlot(path string) error {
	thr, ylabel := s.throughput()
	var area []float64
	for _, p := range s.points {
		area = append(area, float64(p.area(s.target)))
	}
	pl := plot.New()
	pl.Title.Text = fmt.Sprintf("%s: throughput against area on %s (cycle model, batch %d)", filepath.Base(s.model), s.target.Name, s.batch)
	pl.X.Label.Text = fmt.Sprintf("area (%s, Yosys)", areaUnit(s.target))
	pl.Y.Label.Text = ylabel
	pl.Add(plotter.NewGrid())
	for _, df := range []arch.Dataflow{arch.WS, arch.OS} {
		var xy plotter.XYs
		for i, p := range s.points {
			if p.cfg.Dataflow == df && thr[i] > 0 {
				xy = append(xy, plotter.XY{X: area[i], Y: thr[i]})
			}
		}
		labels := s.groupLabels(df, area, thr, df == arch.OS)
		if len(xy) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(xy)
		if err != nil {
			return err
		}
		sc.GlyphStyle.Radius = vg.Points(4)
		sc.GlyphStyle.Color = wsColor
		sc.GlyphStyle.Shape = draw.CircleGlyph{}
		if df == arch.OS {
			sc.GlyphStyle.Color = osColor
			sc.GlyphStyle.Shape = draw.TriangleGlyph{}
		}
		pl.Add(sc)
		pl.Legend.Add(strings.ToUpper(df.String()), sc)
		// WS labels below their points, OS labels to their right, so that
		// the two dataflows of one shape stay readable.
		lab, err := plotter.NewLabels(labels)
		if err != nil {
			return err
		}
		for i := range lab.TextStyle {
			lab.TextStyle[i].Font.Size = font.Length(8)
			lab.TextStyle[i].Color = sc.GlyphStyle.Color
			lab.TextStyle[i].XAlign, lab.TextStyle[i].YAlign = 0, -0.5 // right of the group
			lab.Offset.X = vg.Points(7)
			if df == arch.WS {
				lab.TextStyle[i].XAlign, lab.TextStyle[i].YAlign = draw.XCenter, -2.0 // below
				lab.Offset.X = 0
			}
		}
		pl.Add(lab)
	}
	front := pareto(area, thr)
	if len(front) > 0 {
		var xy plotter.XYs
		for _, i := range front {
			xy = append(xy, plotter.XY{X: area[i], Y: thr[i]})
		}
		line, points, err := plotter.NewLinePoints(xy)
		if err != nil {
			return err
		}
		line.LineStyle.Width = vg.Points(1.5)
		line.LineStyle.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		points.GlyphStyle.Shape = draw.RingGlyph{}
		points.GlyphStyle.Radius = vg.Points(7)
		pl.Add(line, points)
		pl.Legend.Add("Pareto front", line, points)
	}
	pl.Legend.Top = true
	pl.Legend.Left = true
	pl.X.Tick.Marker = thousandsTicks{}
	pl.X.Min, pl.Y.Min = 0, 0
	pl.X.Max *= 1.25
	pl.Y.Max *= 1.12
	return pl.Save(8*vg.Inch, 5*vg.Inch, path)
}

// thousandsTicks are gonum's default ticks labelled 30,000 rather than 30000.
type thousandsTicks struct{}

func (thousandsTicks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = thousands(int(math.Round(ticks[i].Value)))
		}
	}
	return ticks
}

// groupLabels labels the points of one dataflow: points of one shape
// have the same throughput and differ only in area (bits, MAC form), so
// they share one label ("4x4: b4, b8 fused") at their mean area, or at
// the largest with right set.
func (s *sweep) groupLabels(df arch.Dataflow, area, thr []float64, right bool) plotter.XYLabels {
	type group struct {
		x, y, max float64
		n         int
		parts     []string
	}
	var keys []string
	groups := map[string]*group{}
	for i, p := range s.points {
		if p.cfg.Dataflow != df || thr[i] == 0 {
			continue
		}
		key := fmt.Sprintf("%dx%d", p.cfg.Rows, p.cfg.Cols)
		g, ok := groups[key]
		if !ok {
			g = &group{}
			groups[key] = g
			keys = append(keys, key)
		}
		g.x += area[i]
		g.max = max(g.max, area[i])
		g.y = thr[i]
		g.n++
		part := fmt.Sprintf("b%d", p.cfg.InputBits)
		if p.cfg.MAC.IsFused() {
			part += " fused"
		}
		g.parts = append(g.parts, part)
	}
	var l plotter.XYLabels
	for _, k := range keys {
		g := groups[k]
		x := g.x / float64(g.n)
		if right {
			x = g.max
		}
		l.XYs = append(l.XYs, plotter.XY{X: x, Y: g.y})
		l.Labels = append(l.Labels, k+": "+strings.Join(g.parts, ", "))
	}
	return l
}

// utilizationPlot draws the base configuration's utilization per layer.
func (s *sweep) utilizationPlot(path string) error {
	pes := s.base.Rows * s.base.Cols
	var vals plotter.Values
	var names []string
	for _, l := range s.baseLayers {
		vals = append(vals, 100*l.Utilization(pes))
		about := strings.NewReplacer(" maxpool", "\nmax pool", " averagepool", "\navg pool").Replace(l.About)
		names = append(names, fmt.Sprintf("%s\n%s", l.Name, about))
	}
	pl := plot.New()
	pl.Title.Text = fmt.Sprintf("%s on %s (%dx%d %s): utilization per layer, batch %d", filepath.Base(s.model), s.base.Name, s.base.Rows, s.base.Cols, s.base.Dataflow, s.batch)
	pl.Y.Label.Text = "utilization (%): MACs / PEs / cycles"
	pl.Add(plotter.NewGrid())
	bars, err := plotter.NewBarChart(vals, vg.Points(36))
	if err != nil {
		return err
	}
	bars.Color = wsColor
	if s.base.Dataflow.IsOS() {
		bars.Color = osColor
	}
	pl.Add(bars)
	var lv plotter.XYLabels
	for i, v := range vals {
		lv.XYs = append(lv.XYs, plotter.XY{X: float64(i), Y: v})
		lv.Labels = append(lv.Labels, fmt.Sprintf("%.1f%%", v))
	}
	lab, err := plotter.NewLabels(lv)
	if err != nil {
		return err
	}
	for i := range lab.TextStyle {
		lab.TextStyle[i].XAlign = -0.5
		lab.TextStyle[i].YAlign = 0.2
	}
	pl.Add(lab)
	pl.NominalX(names...)
	pl.X.Tick.Label.Font.Size = font.Length(9)
	pl.Y.Min, pl.Y.Max = 0, 110
	pl.X.Min, pl.X.Max = -0.6, float64(len(vals))-0.4
	return pl.Save(8*vg.Inch, 4.5*vg.Inch, path)
}
