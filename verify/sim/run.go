package sim

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// prepared is the checked input of a run, shared by both simulators.
type prepared struct {
	layout *layout
	files  []string // absolute, since tools run inside the run directory
	vcd    string   // absolute or empty
}

func prepare(top *Top, stim *Stimulus, opt Options) (*prepared, error) {
	l, err := newLayout(top)
	if err != nil {
		return nil, err
	}
	if err := l.checkStimulus(stim); err != nil {
		return nil, err
	}
	return prepareFiles(l, opt)
}

// prepareFiles resolves the design files and the VCD path of a checked
// layout.
func prepareFiles(l *layout, opt Options) (*prepared, error) {
	top := l.top
	p := &prepared{layout: l}
	var err error
	for _, f := range top.Files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, fmt.Errorf("sim: %s: %w", top.Name, err)
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("sim: %s: %w", top.Name, err)
		}
		p.files = append(p.files, abs)
	}
	if opt.VCD != "" {
		if p.vcd, err = filepath.Abs(opt.VCD); err != nil {
			return nil, fmt.Errorf("sim: %s: %w", top.Name, err)
		}
	}
	return p, nil
}

// runDir creates a fresh directory for one run's files (inside
// Options.WorkDir if set, so concurrent runs never share one) and returns a
// cleanup that removes it unless Options.KeepFiles.
func runDir(opt Options, top, sim string) (string, func(), error) {
	dir, err := os.MkdirTemp(opt.WorkDir, fmt.Sprintf("tpugen-%s-%s-", sim, top))
	if err != nil {
		return "", nil, fmt.Errorf("sim: %s: run directory: %w", top, err)
	}
	cleanup := func() {
		if opt.KeepFiles {
			if opt.Log != nil {
				fmt.Fprintf(opt.Log, "sim: kept run files in %s\n", dir)
			}
			return
		}
		os.RemoveAll(dir)
	}
	return dir, cleanup, nil
}

// finish reads the result of a harness run, adding the simulator output to
// errors, where it usually explains a harness that stopped early.
func finish(dir string, p *prepared, stim *Stimulus, sim string, out []byte) (*Result, error) {
	res, err := readResult(dir, p.layout, stim, sim)
	if err != nil && len(out) > 0 {
		return nil, fmt.Errorf("%w\n%s", err, tail(out, tailLines))
	}
	return res, err
}

// simulate writes the stimulus into dir, runs the simulator binary with its
// arguments followed by the stimulus plusargs, times the process alone and
// reads the results back.
func simulate(ctx context.Context, opt Options, dir string, p *prepared, stim *Stimulus, sim, bin string, args ...string) (*Result, error) {
	plusargs, err := writeStimulus(dir, p.layout, stim, p.vcd)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	out, err := run(ctx, opt.Log, dir, bin, append(args, plusargs...)...)
	if err != nil {
		return nil, p.layout.errorf(sim, "simulation: %w", err)
	}
	simTime := time.Since(start)
	res, err := finish(dir, p, stim, sim, out)
	if err != nil {
		return nil, err
	}
	res.SimTime = simTime
	return res, nil
}
