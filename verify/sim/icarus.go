package sim

import (
	"context"
	"os"
	"path/filepath"
)

// Icarus runs designs in Icarus Verilog (iverilog and vvp). It is 4-state,
// so x or z on a sampled output, a sink payload or a handshake is an error.
// The design is compiled on every run, which takes well under a second.
type Icarus struct {
	Bin string // iverilog; "" looks up "iverilog" in PATH
	VVP string // vvp; "" looks up "vvp" in PATH
}

// Name returns "icarus".
func (Icarus) Name() string { return "icarus" }

// Run simulates top with stim.
func (s Icarus) Run(ctx context.Context, top *Top, stim *Stimulus, opt Options) (*Result, error) {
	const sim = "icarus"
	iverilog, err := lookPath(orDefault(s.Bin, "iverilog"))
	if err != nil {
		return nil, err
	}
	vvp, err := lookPath(orDefault(s.VVP, "vvp"))
	if err != nil {
		return nil, err
	}
	p, err := prepare(top, stim, opt)
	if err != nil {
		return nil, err
	}
	l := p.layout
	dir, cleanup, err := runDir(opt, top.Name, sim)
	if err != nil {
		return nil, err
	}
	defer cleanup()

	harness := filepath.Join(dir, "harness.v")
	if err := os.WriteFile(harness, []byte(icarusHarness(l)), 0o644); err != nil {
		return nil, l.errorf(sim, "%w", err)
	}
	image := filepath.Join(dir, "sim.vvp")
	// The harness comes first so that its `timescale also covers design files
	// without one.
	args := append([]string{"-g2005", "-s", harnessModule, "-o", image, harness}, p.files...)
	if _, err := run(ctx, opt.Log, dir, iverilog, args...); err != nil {
		return nil, l.errorf(sim, "compile: %w", err)
	}
	return simulate(ctx, opt, dir, p, stim, sim, vvp, "-n", image)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
