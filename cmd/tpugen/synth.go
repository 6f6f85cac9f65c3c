package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/fpga"
)

func runSynth(e *env, args []string) error {
	fs := e.flagSet("[-config FILE | -rtl DIR] [-target T] [-dsp] [-seeds N] [-freq MHZ] [-json FILE] [-baseline FILE] [-estimate] [-keep DIR]",
		"Synthesizes the configuration's matrix unit with Yosys for a target and reports what it\n"+
			"uses: LUTs, flip-flops, carries, block RAMs and DSPs, each with its share of the device,\n"+
			"and the accumulator memory's cost on its own. On iCE40 targets nextpnr-ice40 then places\n"+
			"and routes it inside a pin-light wrapper ("+fpga.WrapperAbout+"),\n"+
			"so timing is register to register, with N seeds: Fmax is their median, and the critical\n"+
			"path's start and end are named. xilinx and ecp5 are Yosys estimates for a reference part\n"+
			"(no place and route); generic is Yosys' gate-level synth. A design larger than the\n"+
			"device is reported with what to shrink and exits 2 (-estimate reports it and exits 0).\n"+
			"With -baseline, the hand-written array in FILE (module named after the file, parameter\n"+
			"N = rows) is wrapped, placed and timed the same way in the same run, and per-PE figures\n"+
			"of both arrays are printed side by side (generic cells, synth_ice40 -dsp LUTs,\n"+
			"flip-flops and SB_MAC16; tpugen's accumulator and pipeline stages blackboxed). Progress\n"+
			"goes to standard error. Targets:\n"+targetList(),
		"  tpugen synth -config configs/small.json -target ice40-hx8k\n"+
			"  tpugen synth -config scripts/fpga/mxu4x4.json -baseline scripts/baseline/ws_array.v -json qor.json\n"+
			"  tpugen synth -target ice40-up5k -dsp -estimate\n"+
			"  tpugen synth -rtl rtl-out/large -target xilinx -dsp")
	src := e.rtlFlags(fs)
	targetName := fs.String("target", "ice40-hx8k", "`TARGET`: "+strings.Join(fpga.TargetNames(), ", "))
	dsp := fs.Bool("dsp", false, "map multipliers onto DSP blocks (iCE40 SB_MAC16: ice40-up5k only; without it every target builds LUT multipliers)")
	seeds := fs.Int("seeds", 3, "nextpnr seeds `N` (1..N); Fmax is their median")
	freq := fs.Float64("freq", 100, "clock `MHZ` nextpnr's timing-driven placer aims at")
	jsonOut := fs.String("json", "", "also write the report as JSON to `FILE`")
	baseline := fs.String("baseline", "", "compare with the hand-written array in `FILE` (e.g. scripts/baseline/ws_array.v)")
	estimate := fs.Bool("estimate", false, "area only: no place and route; a design larger than the device is reported, not refused")
	keep := fs.String("keep", "", "keep scripts, logs, netlists and wrappers in `DIR`")
	verbose := fs.Bool("v", false, "also log every Yosys and nextpnr command")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	e.setVerbose(*verbose)
	target, err := fpga.LookupTarget(*targetName)
	if err != nil {
		return badInputf("-target: %v", err)
	}
	if err := checkDSP(target, *dsp); err != nil {
		return err
	}
	if *seeds < 1 || *seeds > 100 {
		return badInputf("-seeds %d: want 1 to 100", *seeds)
	}
	if !(*freq > 0 && *freq < 2000) {
		return badInputf("-freq %v: want a clock in MHz above 0", *freq)
	}
	if *baseline != "" {
		if _, err := os.Stat(*baseline); err != nil {
			return badInputf("-baseline: %v", err)
		}
	}
	if *jsonOut != "" {
		if err := checkOutDir(*jsonOut); err != nil {
			return badInputf("-json: %v", err)
		}
	}
	tools := &fpga.Tools{Log: e.toolLog()}
	pnr := target.PlaceAndRoute() && !*estimate
	if err := tools.Check(target, pnr); err != nil {
		return badInput(err)
	}
	man, dir, cleanup, err := src.open()
	if err != nil {
		return err
	}
	defer cleanup()
	work, done, err := workDir(*keep)
	if err != nil {
		return badInputf("-keep: %v", err)
	}
	defer done()

	s := &synthRun{e: e, tools: tools, man: man, rtl: dir, work: work, target: target, dsp: *dsp, pnr: pnr,
		seeds: *seeds, freq: *freq, baseline: *baseline}
	rep, err := s.run()
	if err != nil {
		return interrupted(e.ctx, err)
	}
	rep.print(e.stdout)
	if *keep != "" {
		fmt.Fprintf(e.stdout, "\nscripts, logs, netlists and wrappers are in %s\n", *keep)
	}
	if *jsonOut != "" {
		if err := writeJSON(*jsonOut, rep); err != nil {
			return err
		}
	}
	if !rep.Fits && !*estimate {
		return badInputf("%s", rep.Overflow)
	}
	return nil
}

// toolLog is where Yosys and nextpnr command lines go: the log at debug
// level (-v).
func (e *env) toolLog() io.Writer {
	return &logWriter{log: e.log, level: func(string) logrus.Level { return logrus.DebugLevel }}
}

// targetList is the -h list of targets.
func targetList() string {
	var b strings.Builder
	for _, t := range fpga.Targets() {
		fmt.Fprintf(&b, "  %-11s %s\n", t.Name, t.About)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// checkDSP refuses -dsp where it means nothing.
func checkDSP(t *fpga.Target, dsp bool) error {
	if !dsp {
		return nil
	}
	if t.Device == nil {
		return badInputf("-dsp: the %s target has no DSP blocks (multipliers are gates)", t.Name)
	}
	if t.Device.DSPs == 0 {
		return badInputf("-dsp: the %s has no DSP blocks (%s); use -target ice40-up5k or drop -dsp", t.Device.Name, t.Device.DSP)
	}
	return nil
}

// checkOutDir checks that the directory of an output file exists, before
// a long run.
func checkOutDir(path string) error {
	d := filepath.Dir(path)
	if st, err := os.Stat(d); err != nil || !st.IsDir() {
		return fmt.Errorf("directory %s does not exist", d)
	}
	return nil
}

// workDir returns the directory tool files go to: keep (created) or a
// temporary one removed by done.
func workDir(keep string) (string, func(), error) {
	if keep != "" {
		if err := os.MkdirAll(keep, 0o755); err != nil {
			return "", nil, err
		}
		abs, err := filepath.Abs(keep)
		return abs, func() {}, err
	}
	tmp, err := os.MkdirTemp("", "tpugen-synth-")
	if err != nil {
		return "", nil, err
	}
	return tmp, func() { os.RemoveAll(tmp) }, nil
}

// writeJSON writes v as indented JSON to path atomically.
func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// synthRun is one tpugen synth.
type synthRun struct {
	e        *env
	tools    *fpga.Tools
	man      *arch.Manifest
	rtl      string // the RTL directory
	work     string
	target   *fpga.Target
	dsp, pnr bool
	seeds    int
	freq     float64
	baseline string
}

// synthReport is what tpugen synth prints and writes with -json.
type synthReport struct {
	Config   arch.Config `json:"config"`
	Target   string      `json:"target"`
	Device   string      `json:"device,omitempty"`
	Package  string      `json:"package,omitempty"`
	Estimate bool        `json:"estimate"` // Yosys only: no place and route
	DSP      bool        `json:"dsp"`
	Tools    []string    `json:"tools"`
	// Design is the matrix unit alone (resources) and wrapped (timing).
	Design *fpga.Result `json:"design"`
	Fits   bool         `json:"fits"`
	// Overflow says what does not fit and what to shrink.
	Overflow    string      `json:"overflow,omitempty"`
	Accumulator *moduleCost `json:"accumulator,omitempty"`
	Baseline    *baseline   `json:"baseline,omitempty"`
	Seconds     float64     `json:"seconds"`

	target *fpga.Target
	device *fpga.Device
}

// moduleCost is one module synthesized alone on the target.
type moduleCost struct {
	Module    string         `json:"module"`
	About     string         `json:"about"`
	Resources fpga.Resources `json:"resources"`
	Uses      []fpga.Use     `json:"utilization,omitempty"`
}

// perPE are DESIGN.md's array figures: the array with its skew, deskew and
// control, everything else blackboxed, divided by rows x cols.
type perPE struct {
	PEs          int     `json:"pes"`
	GenericCells float64 `json:"generic_cells"`
	ICE40LUTs    float64 `json:"ice40_dsp_luts"`
	ICE40FFs     float64 `json:"ice40_dsp_ffs"`
	ICE40MACs    float64 `json:"ice40_dsp_mac16"`
	ICE40Carries float64 `json:"ice40_dsp_carries"`
}

// baseline is the hand-written array measured in the same run.
type baseline struct {
	File   string `json:"file"`
	Module string `json:"module"`
	N      int    `json:"n"`
	// Design is the array on the target (resources; timing when placed).
	Design *fpga.Result `json:"design"`
	PerPE  perPE        `json:"per_pe"`
	// TPUGenPerPE is the generated array's, measured the same way.
	TPUGenPerPE perPE `json:"tpugen_per_pe"`
	// Blackboxed are the generated design's modules left out of its
	// per-PE figures.
	Blackboxed []string `json:"blackboxed"`
}

func (s *synthRun) progress(msg string) { s.e.log.Info(msg) }

func (s *synthRun) flow() *fpga.Flow {
	seeds := s.seeds
	if !s.pnr {
		seeds = 0
	}
	return &fpga.Flow{Tools: s.tools, Dir: s.work, Target: s.target, DSP: s.dsp, Seeds: seeds, FreqMHz: s.freq, Progress: s.progress}
}

// rtlDesign is the generated RTL in dir as an fpga design.
func rtlDesign(man *arch.Manifest, dir string) fpga.Design {
	d := fpga.Design{Name: man.Config.Name, Top: man.Top, Clock: man.Clock}
	for _, f := range man.Files {
		d.Files = append(d.Files, filepath.Join(dir, f.Name))
	}
	return d
}

func (s *synthRun) run() (*synthReport, error) {
	start := time.Now()
	ctx := s.e.ctx
	rep := &synthReport{Config: s.man.Config, Target: s.target.Name, DSP: s.dsp, Estimate: !s.pnr,
		Tools: s.tools.Versions(ctx, s.pnr), target: s.target, device: s.target.Device}
	if d := s.target.Device; d != nil {
		rep.Device, rep.Package = d.Name, d.Package
	}
	d := rtlDesign(s.man, s.rtl)
	res, err := s.flow().Run(ctx, d)
	var nf *fpga.DoesNotFitError
	switch {
	case errors.As(err, &nf):
		rep.Design, rep.Fits = res, false
		rep.Overflow = fmt.Sprintf("%s does not fit the %s: nextpnr: %s; %s", s.man.Config.Name, s.target.Device.Name, nf.Message,
			advice(s.man.Config, s.target, s.dsp, "LUTs"))
	case err != nil:
		return nil, err
	default:
		rep.Design, rep.Fits = res, res.Fits
		if !res.Fits {
			rep.Overflow = overflowMessage(s.man.Config, s.target, s.dsp, res.Overflows())
		}
	}

	// The accumulator alone, and with -baseline the per-PE figures of both
	// arrays and the baseline's own flow.
	var jobs []func(ctx context.Context) error
	acc := accumulatorFile(s.man)
	if acc != nil {
		c := s.man.Config
		rep.Accumulator = &moduleCost{Module: acc.Module,
			About: fmt.Sprintf("%d lanes x %d rows x %d bits", c.Cols, c.AccDepth, c.AccBits)}
		jobs = append(jobs, func(ctx context.Context) error {
			r, err := s.tools.Synthesize(ctx, s.work, fpga.Design{Name: "accumulator", Top: acc.Module,
				Files: []string{filepath.Join(s.rtl, acc.Name)}}, fpga.Synth{Target: s.target, DSP: s.dsp})
			if err != nil {
				return err
			}
			rep.Accumulator.Resources = r.Resources
			if dev := s.target.Device; dev != nil {
				rep.Accumulator.Uses = r.Resources.Uses(dev)
			}
			return nil
		})
	}
	if s.baseline != "" {
		b, more := s.baselineJobs(d)
		rep.Baseline = b
		jobs = append(jobs, more...)
	}
	if len(jobs) > 0 {
		what := "the accumulator alone"
		if s.baseline != "" {
			what += ", both arrays per PE"
		}
		s.progress(fmt.Sprintf("%d more syntheses (%s)", len(jobs), what))
		if err := fpga.Parallel(ctx, 0, jobs...); err != nil {
			return nil, err
		}
	}
	if rep.Baseline != nil && s.pnr {
		// The baseline placed and routed the same way, after the rest so
		// the seeds have the machine.
		base := s.baselineDesign()
		f := s.flow()
		r, err := f.Run(ctx, base)
		if err != nil {
			return nil, fmt.Errorf("baseline %s: %w", s.baseline, err)
		}
		rep.Baseline.Design = r
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// accumulatorFile is the generated accumulator memory's file, if any.
func accumulatorFile(man *arch.Manifest) *arch.File {
	for i, f := range man.Files {
		if strings.HasPrefix(f.Module, "accumulator_") {
			return &man.Files[i]
		}
	}
	return nil
}

func (s *synthRun) baselineDesign() fpga.Design {
	n := s.man.Config.Rows
	mod := strings.TrimSuffix(filepath.Base(s.baseline), filepath.Ext(s.baseline))
	return fpga.Design{Name: "baseline", Top: mod, Files: []string{s.baseline}, Params: map[string]string{"N": strconv.Itoa(n)}, Clock: "clk"}
}

// baselineJobs returns the per-PE syntheses of both arrays.
func (s *synthRun) baselineJobs(gen fpga.Design) (*baseline, []func(context.Context) error) {
	c := s.man.Config
	base := s.baselineDesign()
	b := &baseline{File: s.baseline, Module: base.Top, N: c.Rows}
	for _, f := range s.man.Files {
		if !strings.HasPrefix(f.Module, "pe_") && f.Module != s.man.Top {
			b.Blackboxed = append(b.Blackboxed, f.Module)
		}
	}
	generic, _ := fpga.LookupTarget("generic")
	ice40 := &fpga.Target{Name: "ice40", Family: fpga.ICE40}
	type job struct {
		d      fpga.Design
		pes    int
		boxes  []string
		target *fpga.Target
		dst    *perPE
	}
	var list []job
	gen.Name += "-array"
	base.Name += "-array"
	for _, t := range []*fpga.Target{generic, ice40} {
		list = append(list, job{gen, c.Rows * c.Cols, b.Blackboxed, t, &b.TPUGenPerPE}, job{base, c.Rows * c.Rows, nil, t, &b.PerPE})
	}
	var jobs []func(context.Context) error
	for _, j := range list {
		jobs = append(jobs, func(ctx context.Context) error {
			r, err := s.tools.Synthesize(ctx, s.work, j.d, fpga.Synth{Target: j.target, DSP: j.target.Family == fpga.ICE40, Blackbox: j.boxes})
			if err != nil {
				return fmt.Errorf("%s per PE: %w", j.d.Top, err)
			}
			n := float64(j.pes)
			j.dst.PEs = j.pes
			res := r.Resources
			if j.target.Family == fpga.Generic {
				j.dst.GenericCells = float64(res.Cells) / n
			} else {
				j.dst.ICE40LUTs, j.dst.ICE40FFs = float64(res.LUTs)/n, float64(res.FFs)/n
				j.dst.ICE40MACs, j.dst.ICE40Carries = float64(res.DSPs)/n, float64(res.Carries)/n
			}
			return nil
		})
	}
	return b, jobs
}

// overflowMessage says by how much the design exceeds the device and what
// to shrink.
func overflowMessage(c arch.Config, t *fpga.Target, dsp bool, over []fpga.Use) string {
	var parts []string
	for _, u := range over {
		have := fmt.Sprintf("the %s has %s", t.Device.Short, thousands(u.Available))
		if u.Available == 0 {
			have = fmt.Sprintf("the %s has none", t.Device.Short)
		}
		share := "-"
		if u.Available > 0 {
			share = fmt.Sprintf("%.0f%%", 100*u.Share)
		}
		parts = append(parts, fmt.Sprintf("needs %s %s, %s: %s", thousands(u.Used), u.Resource, have, share))
	}
	return fmt.Sprintf("%s does not fit the %s: %s; %s", c.Name, t.Device.Name, strings.Join(parts, "; "), advice(c, t, dsp, over[0].Resource))
}

// advice says what to change in the configuration (or the flags) to make
// it smaller in resource.
func advice(c arch.Config, t *fpga.Target, dsp bool, resource string) string {
	var a []string
	switch resource {
	case "block RAMs":
		a = append(a, fmt.Sprintf("lower acc_depth (now %d) or cols: the accumulator memory holds cols x acc_depth x acc_bits", c.AccDepth))
	case "DSPs":
		a = append(a, "shrink rows/cols (one multiplier per PE) or drop -dsp (LUT multipliers)")
	default:
		a = append(a, "shrink rows/cols")
		if c.Requant {
			a = append(a, "drop pipeline stages (requant, activation, pool)")
		}
		if t.Device != nil && t.Device.DSPs > 0 && !dsp {
			a = append(a, fmt.Sprintf("use -dsp (%d %s)", t.Device.DSPs, t.Device.DSP))
		}
		if dsp && !c.MAC.IsFused() && t.Family == fpga.ICE40 {
			a = append(a, `use the fused MAC ("mac": "fused": the adder goes into SB_MAC16)`)
		}
		if c.InputBits > 4 || c.WeightBits > 4 {
			a = append(a, "narrow input_bits/weight_bits")
		}
	}
	return strings.Join(a, ", or ")
}

// thousands writes n with comma separators.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// print writes the report as text (markdown tables).
func (r *synthReport) print(w io.Writer) {
	c := r.Config
	mults := "LUT multipliers"
	if r.DSP {
		mults = "DSP multipliers (-dsp)"
	}
	where := r.Target
	if r.device != nil {
		where = r.device.Name
		if r.Package != "" {
			where += " (" + r.Package + ")"
		}
	}
	if r.device == nil {
		fmt.Fprintf(w, "%s on %s\n", describeConfig(c), where)
	} else {
		fmt.Fprintf(w, "%s on %s, %s\n", describeConfig(c), where, mults)
	}
	fmt.Fprintf(w, "%s; %.0f s\n\n", strings.Join(r.Tools, ", "), r.Seconds)
	d := r.Design
	if r.device == nil {
		t := &table{head: []string{"resource", "used"}}
		t.add("cells", thousands(d.Resources.Cells))
		t.add("flip-flops", thousands(d.Resources.FFs))
		t.add("memories (kept as macros)", fmt.Sprintf("%d: %s bits", d.Resources.Memories, thousands(d.Resources.MemoryBits)))
		t.write(w)
	} else {
		usesTable(r.device, d.Uses).write(w)
	}
	if r.target.Estimate {
		fmt.Fprintf(w, "(a Yosys estimate for the %s: no place and route)\n", r.device.Short)
	}
	if tm := d.Timing; tm != nil {
		fmt.Fprintf(w, "\nFmax %.2f MHz: median of %d seeds (%s MHz), the placer aiming at %.0f MHz\n",
			tm.FmaxMHz, len(tm.Seeds), seedList(tm.Seeds), tm.TargetMHz)
		fmt.Fprintf(w, "placed: %s (%s)\n", placedList(tm.Placed), tm.Wrapper)
		if p := tm.Critical; p != nil {
			fmt.Fprintf(w, "critical path: %s -> %s, %.2f ns: %d logic levels (LUTs and carries), %.2f ns logic + %.2f ns routing\n",
				p.From, p.To, p.DelayNs, p.Levels, p.LogicNs, p.RoutingNs)
		}
	}
	if !r.Fits {
		fmt.Fprintf(w, "\nDOES NOT FIT: %s\n", r.Overflow)
	}
	if a := r.Accumulator; a != nil {
		fmt.Fprintf(w, "\naccumulator memory alone (%s: %s) on %s:\n", a.Module, a.About, where)
		if r.device == nil {
			fmt.Fprintf(w, "%s cells, %s flip-flops, %d memories: %s bits\n", thousands(a.Resources.Cells), thousands(a.Resources.FFs),
				a.Resources.Memories, thousands(a.Resources.MemoryBits))
		} else {
			usesTable(r.device, a.Uses).write(w)
		}
	}
	if b := r.Baseline; b != nil {
		fmt.Fprintf(w, "\nagainst the hand-written array %s (%s, N=%d), measured in the same run:\n", b.File, b.Module, b.N)
		t := &table{head: []string{"measure", "tpugen", "hand-written", "ratio"}}
		if b.Design != nil && b.Design.Timing != nil && d.Timing != nil {
			t.add(fmt.Sprintf("Fmax MHz, %s, median of %d seeds", r.device.Short, len(d.Timing.Seeds)),
				fmt.Sprintf("%.2f", d.Timing.FmaxMHz), fmt.Sprintf("%.2f", b.Design.Timing.FmaxMHz), ratio(d.Timing.FmaxMHz, b.Design.Timing.FmaxMHz))
		}
		if b.Design != nil && r.device != nil {
			t.add(fmt.Sprintf("LUTs on the %s (whole design)", r.device.Short), thousands(d.Resources.LUTs), thousands(b.Design.Resources.LUTs),
				ratio(float64(d.Resources.LUTs), float64(b.Design.Resources.LUTs)))
		}
		g, h := b.TPUGenPerPE, b.PerPE
		pe := func(name string, x, y float64) {
			t.add(name, fmt.Sprintf("%.1f", x), fmt.Sprintf("%.1f", y), ratio(x, y))
		}
		pe("generic synth -flatten cells / PE", g.GenericCells, h.GenericCells)
		pe("synth_ice40 -dsp SB_LUT4 / PE", g.ICE40LUTs, h.ICE40LUTs)
		pe("synth_ice40 -dsp flip-flops / PE", g.ICE40FFs, h.ICE40FFs)
		pe("synth_ice40 -dsp SB_MAC16 / PE", g.ICE40MACs, h.ICE40MACs)
		pe("synth_ice40 -dsp SB_CARRY / PE", g.ICE40Carries, h.ICE40Carries)
		t.write(w)
		if len(b.Blackboxed) > 0 {
			fmt.Fprintf(w, "per PE: the array with its skew, deskew and control; blackboxed: %s\n", strings.Join(b.Blackboxed, ", "))
		}
		if b.Design != nil && b.Design.Timing != nil && b.Design.Timing.Critical != nil {
			p := b.Design.Timing.Critical
			fmt.Fprintf(w, "hand-written critical path: %s -> %s, %.2f ns: %d logic levels, %.2f ns logic + %.2f ns routing\n",
				p.From, p.To, p.DelayNs, p.Levels, p.LogicNs, p.RoutingNs)
		}
	}
}

func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func seedList(s []fpga.SeedFmax) string {
	var parts []string
	for _, x := range s {
		parts = append(parts, fmt.Sprintf("%.2f", x.FmaxMHz))
	}
	return strings.Join(parts, ", ")
}

// belNames are nextpnr-ice40's site types in words.
var belNames = map[string]string{"ICESTORM_LC": "logic cells", "ICESTORM_RAM": "block RAMs", "ICESTORM_DSP": "DSPs", "SB_IO": "I/O pins", "SB_GB": "global buffers"}

func placedList(u []fpga.BelUse) string {
	var parts []string
	for _, x := range u {
		name, ok := belNames[x.Bel]
		if !ok || x.Used == 0 && x.Bel != "ICESTORM_LC" {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s of %s %s", thousands(x.Used), thousands(x.Available), name))
	}
	return strings.Join(parts, ", ")
}

func usesTable(dev *fpga.Device, uses []fpga.Use) *table {
	t := &table{head: []string{"resource", "used", dev.Short, "share"}}
	for _, u := range uses {
		share := "-"
		if u.Available > 0 {
			share = fmt.Sprintf("%.1f%%", 100*u.Share)
		}
		name := u.Resource
		switch u.Resource {
		case "block RAMs":
			name += " (" + dev.BRAM + ")"
		case "DSPs":
			name += " (" + dev.DSP + ")"
		}
		t.add(name, thousands(u.Used), thousands(u.Available), share)
	}
	return t
}

// table is a markdown table with aligned columns (numbers right-aligned).
type table struct {
	head []string
	rows [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(w io.Writer) {
	width := make([]int, len(t.head))
	for _, r := range append([][]string{t.head}, t.rows...) {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	line := func(cells []string, numeric bool) {
		var b strings.Builder
		for i, c := range cells {
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			if numeric && i > 0 {
				fmt.Fprintf(&b, "| %s%s ", pad, c)
			} else {
				fmt.Fprintf(&b, "| %s%s ", c, pad)
			}
		}
		fmt.Fprintln(w, b.String()+"|")
	}
	line(t.head, false)
	var sep strings.Builder
	for i, n := range width {
		if i == 0 {
			fmt.Fprintf(&sep, "|%s", strings.Repeat("-", n+2))
		} else {
			fmt.Fprintf(&sep, "|%s:", strings.Repeat("-", n+1))
		}
	}
	fmt.Fprintln(w, sep.String()+"|")
	for _, r := range t.rows {
		line(r, true)
	}
}
