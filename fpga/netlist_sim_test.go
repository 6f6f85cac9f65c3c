package fpga_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/fpga"
	"github.com/tpugen/tpugen/gen"
	"github.com/tpugen/tpugen/verify"
	"github.com/tpugen/tpugen/verify/sim"
)

// TestICE40DSPNetlist maps a 4x4 weight-stationary unit (the default
// configuration's pipeline, the fused MAC) onto an iCE40 with DSP blocks, the
// array and its control synthesized and the accumulator memory and the
// pipeline stages kept as RTL, and checks two things:
//
//   - every PE's multiply-add sits whole in one SB_MAC16: one DSP per PE
//     and no adder left in carry chains;
//   - the mapped netlist, simulated in Icarus with Yosys' cell models,
//     passes the regression bit for bit. Yosys 0.23 once packed a PE's
//     partial-sum register into the DSP below as its input register while
//     it was also the PE's own output register, and left that input
//     undriven: the resource counts looked better, the array computed
//     nothing (the PE's out_sum is kept for that reason).
func TestICE40DSPNetlist(t *testing.T) {
	if testing.Short() {
		t.Skip("synthesis and gate-level simulation take about a minute")
	}
	for _, b := range []string{"yosys", "iverilog", "vvp"} {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv("TPUGEN_REQUIRE_SIMS") != "" {
				t.Fatalf("%s not found in PATH and TPUGEN_REQUIRE_SIMS is set: run scripts/setup.sh", b)
			}
			t.Skipf("%s not found in PATH: run scripts/setup.sh", b)
		}
	}
	models := ice40Models(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	cfg, err := gen.LoadConfig(filepath.Join(repoRoot(t), "configs", "default.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Name, cfg.Rows, cfg.Cols, cfg.MAC = "dsp4", 4, 4, arch.FusedMAC
	out, err := gen.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rtl := filepath.Join(dir, "rtl")
	if err := out.WriteDir(rtl); err != nil {
		t.Fatal(err)
	}
	man, err := arch.LoadManifest(rtl)
	if err != nil {
		t.Fatal(err)
	}
	var files, boxes []string
	var kept []arch.File // simulated as RTL beside the netlist
	for _, f := range man.Files {
		files = append(files, filepath.Join(rtl, f.Name))
		if f.Module != man.Top && !strings.HasPrefix(f.Module, "pe_") {
			boxes = append(boxes, f.Module)
			kept = append(kept, f)
		}
	}
	target, err := fpga.LookupTarget("ice40-up5k")
	if err != nil {
		t.Fatal(err)
	}
	syn, err := (&fpga.Tools{}).Synthesize(ctx, dir, fpga.Design{Name: "dsp4", Top: man.Top, Files: files, Clock: "clk"},
		fpga.Synth{Target: target, DSP: true, Blackbox: boxes, Verilog: true})
	if err != nil {
		t.Fatal(err)
	}
	r := syn.Resources
	pes := cfg.Rows * cfg.Cols
	if r.DSPs != pes || r.Carries > 2 {
		t.Errorf("%d SB_MAC16 and %d SB_CARRY for %d PEs, want one DSP a PE and the adders inside them", r.DSPs, r.Carries, pes)
	}
	t.Logf("array and control: %d SB_MAC16, %d SB_LUT4 (%.2f a PE), %d flip-flops", r.DSPs, r.LUTs, float64(r.LUTs)/float64(pes), r.FFs)

	// The netlist replaces the array's RTL; the cell models come first
	// after the harness, with the define that leaves inputs without
	// defaults (Icarus rejects them on ports).
	gl := filepath.Join(dir, "gl")
	if err := os.MkdirAll(gl, 0o755); err != nil {
		t.Fatal(err)
	}
	glMan := *man
	glMan.Files = nil
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(gl, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		glMan.Files = append(glMan.Files, arch.File{Name: name})
	}
	write("ice40_cells_sim.v", append([]byte("`define NO_ICE40_DEFAULT_ASSIGNMENTS\n"), models...))
	netlist, err := os.ReadFile(syn.Verilog)
	if err != nil {
		t.Fatal(err)
	}
	write("netlist.v", netlist)
	for _, f := range kept {
		data, err := os.ReadFile(filepath.Join(rtl, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		write(f.Name, data)
	}
	var log bytes.Buffer
	rep, err := verify.Regress(ctx, &glMan, gl, verify.RegressOptions{
		Sims: []sim.Simulator{sim.Icarus{}}, Cases: 8, Layers: 2, Seed: 3, Only: -1, Log: &log,
	})
	if err != nil {
		t.Fatalf("gate-level regression: %v\n%s", err, log.String())
	}
	for _, cr := range rep.Results {
		if cr.Failed() {
			t.Errorf("gate-level case %d (%s): %d mismatches, %v; %s", cr.Index, cr.Case, cr.Mismatches, cr.Err, cr.FirstReport)
		}
	}
	if len(rep.Results) != 10 {
		t.Errorf("%d gate-level cases ran, want 10", len(rep.Results))
	}
}

// ice40Models returns Yosys' iCE40 cell simulation models, from the data
// directory beside the yosys binary.
func ice40Models(t *testing.T) []byte {
	t.Helper()
	bin, err := exec.LookPath("yosys")
	if err != nil {
		t.Fatal(err)
	}
	if real, err := filepath.EvalSymlinks(bin); err == nil {
		bin = real
	}
	path := filepath.Join(filepath.Dir(bin), "..", "share", "yosys", "ice40", "cells_sim.v")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("Yosys' iCE40 cell models not found beside yosys: %v", err)
	}
	return data
}
