package fpga

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"time"
)

// Flow synthesizes a design for a target and, on iCE40, places and routes
// it inside the pin-light wrapper (see Wrapper) with several seeds.
type Flow struct {
	Tools  *Tools
	Dir    string // work directory for scripts, logs and netlists
	Target *Target
	DSP    bool
	// Seeds is how many nextpnr seeds (1..Seeds) to run; Fmax is their
	// median. 0 skips place and route.
	Seeds int
	// FreqMHz is the clock the timing-driven placer aims at (--freq).
	FreqMHz float64
	// Jobs bounds the seeds placed at once (0: the number of CPUs).
	Jobs int
	// Progress receives a line when a step starts or ends (may be nil).
	Progress func(msg string)
}

// Result is a design's area on the target and, when placed, its timing.
type Result struct {
	Design    string    `json:"design"`
	Resources Resources `json:"resources"`
	// Uses are the resources against the target's device (none for
	// generic).
	Uses   []Use   `json:"utilization,omitempty"`
	Fits   bool    `json:"fits"`
	Timing *Timing `json:"timing,omitempty"`
}

// Overflows are the resources the design needs beyond the device.
func (r *Result) Overflows() []Use {
	var out []Use
	for _, u := range r.Uses {
		if !u.Fits() {
			out = append(out, u)
		}
	}
	return out
}

// Timing is the design placed and routed with several seeds.
type Timing struct {
	// FmaxMHz is the median of the seeds' Fmax.
	FmaxMHz   float64    `json:"fmax_mhz"`
	TargetMHz float64    `json:"target_mhz"`
	Seeds     []SeedFmax `json:"seeds"`
	// Critical and Placed are from the seed whose Fmax is the median (the
	// lower middle one for an even number of seeds).
	Critical *Path    `json:"critical_path,omitempty"`
	Placed   []BelUse `json:"placed"`
	// Wrapper says how the design was wrapped for timing.
	Wrapper string `json:"wrapper"`
}

// SeedFmax is one seed's result.
type SeedFmax struct {
	Seed    int     `json:"seed"`
	FmaxMHz float64 `json:"fmax_mhz"`
}

// WrapperAbout describes the wrapper for reports.
const WrapperAbout = "every input from an LFSR-fed register, outputs XOR-reduced through registers to one pin"

func (f *Flow) progress(format string, a ...any) {
	if f.Progress != nil {
		f.Progress(fmt.Sprintf(format, a...))
	}
}

// Run measures d: its resources alone (no wrapper) on the target, and when
// the target is placed and routed, the design fits and Seeds > 0, its
// Fmax inside the wrapper.
func (f *Flow) Run(ctx context.Context, d Design) (*Result, error) {
	res := &Result{Design: d.Name, Fits: true}
	start := time.Now()
	f.progress("%s: synthesizing %s for %s (Yosys)", d.Name, d.Top, f.Target.Name)
	s, err := f.Tools.Synthesize(ctx, f.Dir, d, Synth{Target: f.Target, DSP: f.DSP})
	if err != nil {
		return nil, err
	}
	res.Resources = s.Resources
	f.progress("%s: synthesized in %.0fs", d.Name, time.Since(start).Seconds())
	if dev := f.Target.Device; dev != nil {
		res.Uses = res.Resources.Uses(dev)
		res.Fits = len(res.Overflows()) == 0
	}
	if !f.Target.PlaceAndRoute() || f.Seeds == 0 || !res.Fits {
		return res, nil
	}
	w, err := f.wrap(ctx, d)
	if err != nil {
		return nil, err
	}
	start = time.Now()
	f.progress("%s: synthesizing it in the pin-light wrapper", d.Name)
	wrapped, err := f.Tools.Synthesize(ctx, f.Dir, w, Synth{Target: f.Target, DSP: f.DSP, Netlist: true})
	if err != nil {
		return nil, err
	}
	f.progress("%s: wrapper synthesized in %.0fs", d.Name, time.Since(start).Seconds())
	t, err := f.place(ctx, d.Name, wrapped.Netlist)
	if err != nil {
		var nf *DoesNotFitError
		if errors.As(err, &nf) {
			res.Fits = false
			return res, err
		}
		return nil, err
	}
	res.Timing = t
	return res, nil
}

// wrap writes the pin-light wrapper of d and returns the wrapped design.
func (f *Flow) wrap(ctx context.Context, d Design) (Design, error) {
	ports, err := f.Tools.Ports(ctx, f.Dir, d)
	if err != nil {
		return Design{}, err
	}
	clock := d.Clock
	if clock == "" {
		clock = "clk"
	}
	v, err := Wrapper(d.Top, clock, d.Params, ports)
	if err != nil {
		return Design{}, err
	}
	path := filepath.Join(f.Dir, d.Name+"-wrap.v")
	if err := os.WriteFile(path, v, 0o644); err != nil {
		return Design{}, err
	}
	return Design{Name: d.Name + "-wrapped", Top: WrapperTop, Files: append(append([]string{}, d.Files...), path), Clock: "clk"}, nil
}

// place runs the seeds in parallel and takes the median.
func (f *Flow) place(ctx context.Context, name, netlist string) (*Timing, error) {
	names, err := LoadNames(netlist, WrapperTop, "dut.")
	if err != nil {
		names = nil // ends are then named after nextpnr's cells
	}
	runs := make([]*PnR, f.Seeds)
	var mu sync.Mutex
	done := 0
	var fns []func(context.Context) error
	for i := range runs {
		seed := i + 1
		fns = append(fns, func(ctx context.Context) error {
			start := time.Now()
			p, err := f.Tools.Place(ctx, f.Dir, netlist, f.Target, seed, f.FreqMHz, names)
			if err != nil {
				return err
			}
			runs[seed-1] = p
			mu.Lock()
			done++
			f.progress("%s: place and route seed %d: %.2f MHz (%.0fs; %d of %d seeds done)", name, seed, p.FmaxMHz, time.Since(start).Seconds(), done, f.Seeds)
			mu.Unlock()
			return nil
		})
	}
	f.progress("%s: placing and routing on %s with %d seed(s) (nextpnr-ice40)", name, f.Target.Device.Name, f.Seeds)
	if err := Parallel(ctx, f.Jobs, fns...); err != nil {
		return nil, err
	}
	sorted := append([]*PnR{}, runs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].FmaxMHz < sorted[j].FmaxMHz })
	mid := sorted[(len(sorted)-1)/2]
	t := &Timing{FmaxMHz: Median(fmaxes(runs)), TargetMHz: f.FreqMHz, Critical: mid.Critical, Placed: mid.Utilization, Wrapper: WrapperAbout}
	for _, r := range runs {
		t.Seeds = append(t.Seeds, SeedFmax{Seed: r.Seed, FmaxMHz: r.FmaxMHz})
	}
	return t, nil
}

func fmaxes(runs []*PnR) []float64 {
	var v []float64
	for _, r := range runs {
		v = append(v, r.FmaxMHz)
	}
	return v
}

// Median returns the median of v (the mean of the middle two for an even
// count; 0 for none).
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64{}, v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Parallel runs fns with at most jobs at once (jobs <= 0: the number of
// CPUs) and returns the first error; an error cancels the context of the
// others.
func Parallel(ctx context.Context, jobs int, fns ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	sem := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for _, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			if err := fn(ctx); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return first
}
