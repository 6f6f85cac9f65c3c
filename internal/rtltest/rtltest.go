// Package rtltest holds helpers shared by tpugen's tests: elaborate and emit a
// design into a temporary directory, check the Verilog with the real tools
// (Verilator lint, Icarus, Yosys), and describe an hdl module to the
// simulator drivers of package verify/sim.
//
// Tools that are missing skip the test with a message, unless
// TPUGEN_REQUIRE_SIMS is set (as in CI and `make test`), where they fail it.
//
// rtltest is for tests only: nothing outside _test.go files imports it.
package rtltest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tpugen/tpugen/gen"
	"github.com/tpugen/tpugen/hdl"
	"github.com/tpugen/tpugen/verify/sim"
)

// toolTimeout bounds one lint, compile or synthesis run.
const toolTimeout = 2 * time.Minute

// RequireTools skips t when one of the named executables is not in PATH, or
// fails it when TPUGEN_REQUIRE_SIMS is set.
func RequireTools(t testing.TB, bins ...string) {
	t.Helper()
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv("TPUGEN_REQUIRE_SIMS") != "" {
				t.Fatalf("%s not found in PATH and TPUGEN_REQUIRE_SIMS is set: run scripts/setup.sh", b)
			}
			t.Skipf("%s not found in PATH: run scripts/setup.sh (set TPUGEN_REQUIRE_SIMS=1 to fail instead)", b)
		}
	}
}

// Elaborate elaborates top and fails t on any error or warning: the test
// designs are meant to be clean.
func Elaborate(t testing.TB, top *hdl.Module) *hdl.Design {
	t.Helper()
	d, err := hdl.Elaborate(top)
	if err != nil {
		t.Fatalf("elaborate %s:\n%v", top.Name(), err)
	}
	if len(d.Warnings) > 0 {
		t.Fatalf("elaborate %s: warnings:\n%v", top.Name(), d.Warnings)
	}
	return d
}

// Emitted is a design written to a directory.
type Emitted struct {
	Design *hdl.Design
	Files  []gen.VerilogFile
	Paths  []string // one per file, submodules first
	Top    string   // the emitted name of the top module
}

// Emit emits d as Verilog into a fresh temporary directory of t.
func Emit(t testing.TB, d *hdl.Design) *Emitted {
	t.Helper()
	files, err := gen.EmitVerilog(d, gen.EmitOptions{})
	if err != nil {
		t.Fatalf("emit %s: %v", d.Top.Name(), err)
	}
	if len(files) == 0 {
		t.Fatalf("emit %s: no files", d.Top.Name())
	}
	dir := t.TempDir()
	e := &Emitted{Design: d, Files: files, Top: files[len(files)-1].Module}
	for _, f := range files {
		p := filepath.Join(dir, f.Name)
		if err := os.WriteFile(p, f.Text, 0o644); err != nil {
			t.Fatal(err)
		}
		e.Paths = append(e.Paths, p)
	}
	return e
}

// Build elaborates and emits top.
func Build(t testing.TB, top *hdl.Module) *Emitted {
	t.Helper()
	return Emit(t, Elaborate(t, top))
}

// runTool runs a tool and returns its combined output.
func runTool(dir, bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s: timed out after %v", bin, toolTimeout)
	}
	return out.String(), err
}

// LintVerilator runs `verilator --lint-only -Wall` on the files. Any output,
// not just an error status, is a failure: the emitter promises zero warnings.
// allow names warnings to switch off (-Wno-<code>), for designs whose source
// itself is odd, such as random expressions comparing constants.
func LintVerilator(top string, paths []string, allow ...string) error {
	args := []string{"--lint-only", "-Wall", "--top-module", top}
	for _, code := range allow {
		args = append(args, "-Wno-"+code)
	}
	args = append(args, paths...)
	out, err := runTool("", "verilator", args...)
	if err != nil || strings.TrimSpace(out) != "" {
		return fmt.Errorf("verilator --lint-only -Wall %s: %v\n%s", top, err, out)
	}
	return nil
}

// CompileIcarus compiles the files with `iverilog -g2005`; warnings count as
// failures too.
func CompileIcarus(top string, paths []string) error {
	dir, err := os.MkdirTemp("", "rtltest-iverilog-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	args := append([]string{"-g2005", "-Wall", "-s", top, "-o", filepath.Join(dir, "a.vvp")}, paths...)
	out, err := runTool("", "iverilog", args...)
	if err != nil || strings.TrimSpace(out) != "" {
		return fmt.Errorf("iverilog -g2005 %s: %v\n%s", top, err, out)
	}
	return nil
}

// latchCell matches the latch cell types Yosys can leave in a netlist.
var latchCell = regexp.MustCompile(`\$_?(a?dlatch|DLATCH)\w*`)

// SynthYosys runs `synth -top top; check -assert` in Yosys and fails when the
// netlist holds a latch. It returns the `stat` report.
func SynthYosys(top string, paths []string) (string, error) {
	var script strings.Builder
	for _, p := range paths {
		fmt.Fprintf(&script, "read_verilog %s; ", p)
	}
	fmt.Fprintf(&script, "synth -top %s; check -assert; select -assert-none t:$dlatch t:$adlatch t:$dlatchsr t:$_DLATCH_* t:$_DLATCHSR_*; tee -o /dev/stdout stat", top)
	out, err := runTool("", "yosys", "-q", "-p", script.String())
	if err != nil {
		return out, fmt.Errorf("yosys %s: %v\n%s", top, err, tail(out, 40))
	}
	if m := latchCell.FindString(out); m != "" {
		return out, fmt.Errorf("yosys %s: netlist has a latch cell %s:\n%s", top, m, out)
	}
	return out, nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// CheckTools runs the three tool checks on e (lint, Icarus compile, Yosys
// synthesis without latches) and reports every failure on t.
func CheckTools(t testing.TB, e *Emitted) {
	t.Helper()
	RequireTools(t, "verilator", "iverilog", "yosys")
	var errs []error
	errs = append(errs, LintVerilator(e.Top, e.Paths))
	errs = append(errs, CompileIcarus(e.Top, e.Paths))
	_, err := SynthYosys(e.Top, e.Paths)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		t.Error(err)
	}
}

// VerifyTop describes the emitted design to package verify: every port of the
// top module, clock "clk", and reset "rst" when the module has one. Callers
// add Sources and Sinks (see StreamNamed). Port names must not be Verilog
// keywords, which the emitter renames.
func (e *Emitted) VerifyTop() *sim.Top {
	m := e.Design.Top
	top := &sim.Top{Name: e.Top, Files: e.Paths, Clock: "clk"}
	if m.ResetSignal() != nil {
		top.Reset = m.ResetSignal().Name()
	}
	if m.Clock() != nil {
		top.Clock = m.Clock().Name()
	}
	for _, p := range m.Ports() {
		dir := sim.In
		if p.Kind() == hdl.Output {
			dir = sim.Out
		}
		top.Ports = append(top.Ports, sim.Port{Name: p.Name(), Width: p.Shape().Width, Signed: p.Shape().Signed, Dir: dir})
	}
	return top
}

// StreamNamed returns the verify stream of the ports an hdl InStream or
// OutStream called name declares.
func StreamNamed(name string) sim.Stream {
	return sim.Stream{Name: name, Valid: name + "_valid", Ready: name + "_ready", Data: name + "_data"}
}

// Simulators returns both simulators, skipping t (or failing it under
// TPUGEN_REQUIRE_SIMS) when one is missing.
func Simulators(t testing.TB) []sim.Simulator {
	t.Helper()
	RequireTools(t, "iverilog", "vvp", "verilator")
	return []sim.Simulator{sim.Icarus{}, sim.Verilator{}}
}

// Options returns run options that log to t. The Verilator build cache is
// the verify default ($TPUGEN_CACHE, else the user cache directory), shared
// by every package and run, so reruns skip the builds.
func Options(t testing.TB) sim.Options {
	return sim.Options{Log: t.Output()}
}

// Run simulates top with stim in sim, logging to t.
func Run(t testing.TB, sim sim.Simulator, top *sim.Top, stim *sim.Stimulus) (*sim.Result, error) {
	t.Helper()
	return sim.Run(context.Background(), top, stim, Options(t))
}

// ExposePorts binds every port of inst's module other than its clock and
// reset to a new port of top named prefix+port: inputs of top feed the
// instance's inputs, and the instance's outputs drive outputs of top.
func ExposePorts(top *hdl.Module, inst *hdl.Instance, prefix string) {
	sub := inst.Module()
	for _, p := range sub.Ports() {
		if p == sub.Clock() || p == sub.ResetSignal() {
			continue
		}
		name := prefix + p.Name()
		if p.Kind() == hdl.Input {
			inst.In(p.Expr(), top.Input(name, p.Shape()))
		} else {
			top.Set(top.Output(name, p.Shape()), inst.Out(p.Expr()))
		}
	}
}
