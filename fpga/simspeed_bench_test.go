package fpga_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/fpga"
	"github.com/tpugen/tpugen/gen"
)

// BenchmarkStimulusFree reports the stimulus-free simulation speed of the
// generated matrix unit (the default configuration at 8x8 and 16x16, with
// the split and the fused multiply-accumulate, and the split one without
// the post-array pipeline: the array, its accumulators and control, what
// the hand-written array does plus double-buffered weights and the stall
// enable) against the hand-written
// array scripts/baseline/ws_array.v of the same size, in Verilator and in
// Icarus. Each design sits in the pin-light wrapper of the FPGA flow
// (every input from an LFSR-fed register, the outputs XOR-reduced to one
// pin) and is simulated with only a clock; both designs are built with the
// same flags. Only the simulation is timed: Verilator's main times its own
// clock loop, and an Icarus run's time is that of vvp less that of a
// zero-cycle vvp run of the same image. Designs run interleaved, and the
// fastest of three runs counts. Metrics:
//
//	split-cycles/s, fused-cycles/s, mxu-cycles/s, hand-cycles/s   simulated cycles per second
//	split/hand, fused/hand, mxu/hand                              ratios of the above
func BenchmarkStimulusFree(b *testing.B) {
	for _, tc := range []struct {
		sim    string
		n      int
		cycles int
	}{
		{"verilator", 8, 4_000_000}, {"verilator", 16, 1_000_000},
		{"icarus", 8, 10_000}, {"icarus", 16, 2_500},
	} {
		b.Run(fmt.Sprintf("%s/%dx%d", tc.sim, tc.n, tc.n), func(b *testing.B) {
			sims := map[string]speedSim{"verilator": verilatorSpeed{}, "icarus": icarusSpeed{}}
			s := sims[tc.sim]
			requireBench(b, s.tools()...)
			designs := []wrapped{
				generatedWrapped(b, tc.n, arch.SplitMAC, true),
				generatedWrapped(b, tc.n, arch.FusedMAC, true),
				generatedWrapped(b, tc.n, arch.SplitMAC, false),
				handWrapped(b, tc.n),
			}
			var runs []func() (float64, error)
			for _, d := range designs {
				run, err := s.build(b.TempDir(), d)
				if err != nil {
					b.Fatalf("%s: %v", d.name, err)
				}
				runs = append(runs, func() (float64, error) { return run(tc.cycles) })
			}
			rates := bestOf(b, 3, runs)
			b.ReportMetric(rates[0], "split-cycles/s")
			b.ReportMetric(rates[1], "fused-cycles/s")
			b.ReportMetric(rates[2], "mxu-cycles/s")
			b.ReportMetric(rates[3], "hand-cycles/s")
			b.ReportMetric(rates[0]/rates[3], "split/hand")
			b.ReportMetric(rates[1]/rates[3], "fused/hand")
			b.ReportMetric(rates[2]/rates[3], "mxu/hand")
		})
	}
}

// BenchmarkStimulusFreeThreads reports the stimulus-free Verilator speed of
// the generated default configuration at 16x16 and 32x32 built with
// --threads 1 and --threads 2 (threads2/threads1 above 1 means the second
// thread helps).
func BenchmarkStimulusFreeThreads(b *testing.B) {
	for _, tc := range []struct{ n, cycles int }{{16, 1_000_000}, {32, 200_000}} {
		b.Run(fmt.Sprintf("%dx%d", tc.n, tc.n), func(b *testing.B) {
			requireBench(b, "verilator")
			d := generatedWrapped(b, tc.n, arch.SplitMAC, true)
			var runs []func() (float64, error)
			for _, threads := range []int{1, 2} {
				run, err := verilatorSpeed{threads: threads}.build(b.TempDir(), d)
				if err != nil {
					b.Fatal(err)
				}
				runs = append(runs, func() (float64, error) { return run(tc.cycles) })
			}
			rates := bestOf(b, 3, runs)
			b.ReportMetric(rates[0], "threads1-cycles/s")
			b.ReportMetric(rates[1], "threads2-cycles/s")
			b.ReportMetric(rates[1]/rates[0], "threads2/threads1")
		})
	}
}

// bestOf runs each of runs reps times, interleaved, and returns the
// highest rate of each: the machine is shared, and a slow run measures the
// neighbours.
func bestOf(b *testing.B, reps int, runs []func() (float64, error)) []float64 {
	b.Helper()
	best := make([]float64, len(runs))
	for i := 0; i < b.N; i++ {
		for range reps {
			for k, run := range runs {
				runtime.GC()
				r, err := run()
				if err != nil {
					b.Fatal(err)
				}
				best[k] = max(best[k], r)
			}
		}
	}
	return best
}

func requireBench(b *testing.B, bins ...string) {
	b.Helper()
	for _, bin := range bins {
		if _, err := exec.LookPath(bin); err != nil {
			b.Skipf("%s not found in PATH: run scripts/setup.sh", bin)
		}
	}
}

// wrapped is a design inside the pin-light wrapper (top fpga.WrapperTop).
type wrapped struct {
	name  string
	files []string
}

// generatedWrapped generates the default configuration at n x n with the
// given multiply-accumulate form, with or without the post-array pipeline
// (requantizer, activation and pooling units), and wraps its top.
func generatedWrapped(b *testing.B, n int, mac arch.MACForm, pipeline bool) wrapped {
	b.Helper()
	cfg, err := gen.LoadConfig(filepath.Join(repoRoot(b), "configs", "default.json"))
	if err != nil {
		b.Fatal(err)
	}
	cfg.Name = fmt.Sprintf("%s%d", mac, n)
	cfg.Rows, cfg.Cols, cfg.MAC = n, n, mac
	if !pipeline {
		cfg.Name += "_mxu"
		cfg.Requant, cfg.Activation, cfg.Pool = false, arch.NoActivation, false
	}
	out, err := gen.Generate(cfg)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	if err := out.WriteDir(dir); err != nil {
		b.Fatal(err)
	}
	man, err := arch.LoadManifest(dir)
	if err != nil {
		b.Fatal(err)
	}
	var ports []fpga.Port
	for _, p := range man.Ports {
		ports = append(ports, fpga.Port{Name: p.Name, Output: p.Dir == "out", Width: p.Width})
	}
	w := wrapped{name: cfg.Name}
	for _, f := range man.Files {
		w.files = append(w.files, filepath.Join(dir, f.Name))
	}
	w.files = append(w.files, writeWrapper(b, dir, man.Top, man.Clock, nil, ports))
	return w
}

// handWrapped wraps scripts/baseline/ws_array.v at n x n.
func handWrapped(b *testing.B, n int) wrapped {
	b.Helper()
	ports := []fpga.Port{{Name: "clk", Width: 1}, {Name: "load", Width: 1}, {Name: "w_in", Width: 8 * n},
		{Name: "a_in", Width: 8 * n}, {Name: "sum_out", Output: true, Width: 32 * n}}
	dir := b.TempDir()
	return wrapped{name: fmt.Sprintf("hand%d", n), files: []string{
		filepath.Join(repoRoot(b), "scripts", "baseline", "ws_array.v"),
		writeWrapper(b, dir, "ws_array", "clk", map[string]string{"N": strconv.Itoa(n)}, ports),
	}}
}

func writeWrapper(b *testing.B, dir, top, clock string, params map[string]string, ports []fpga.Port) string {
	b.Helper()
	v, err := fpga.Wrapper(top, clock, params, ports)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "wrap.v")
	if err := os.WriteFile(path, v, 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

func repoRoot(b testing.TB) string {
	b.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..")
}

// speedSim builds a wrapped design into something that runs it for a
// number of clock cycles and returns simulated cycles per second.
type speedSim interface {
	tools() []string
	build(dir string, d wrapped) (func(cycles int) (float64, error), error)
}

// verilatorSpeed builds with -O2 C++ (as verify/sim's sessions do) and a
// main that toggles the clock and times only its loop.
type verilatorSpeed struct{ threads int }

const verilatorSpeedMain = `#include <chrono>
#include <cstdio>
#include <cstdlib>
#include "Vfpga_wrap.h"
#include "verilated.h"

int main(int argc, char** argv) {
    VerilatedContext ctx;
    ctx.commandArgs(argc, argv);
    long cycles = std::atol(argv[1]);
    Vfpga_wrap top(&ctx);
    top.din = 0;
    top.clk = 0;
    top.eval();
    auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < cycles; i++) {
        top.clk = 1;
        top.eval();
        top.clk = 0;
        top.eval();
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%d %.9f\n", (int)top.dout, s);
    top.final();
    return 0;
}
`

func (verilatorSpeed) tools() []string { return []string{"verilator"} }

func (v verilatorSpeed) build(dir string, d wrapped) (func(int) (float64, error), error) {
	main := filepath.Join(dir, "main.cpp")
	if err := os.WriteFile(main, []byte(verilatorSpeedMain), 0o644); err != nil {
		return nil, err
	}
	args := []string{"--cc", "--exe", "--build", "--top-module", fpga.WrapperTop,
		"-Wno-fatal", "-Wno-lint", "-Wno-style",
		"--x-assign", "fast", "--x-initial", "fast",
		"-MAKEFLAGS", "OPT_FAST=-O2 OPT_SLOW=-O1 OPT_GLOBAL=-O2",
		"--Mdir", "obj", "-o", "sim"}
	if v.threads > 1 {
		args = append(args, "--threads", strconv.Itoa(v.threads))
	}
	args = append(append(args, d.files...), main)
	if _, err := command(dir, "verilator", args...); err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, "obj", "sim")
	return func(cycles int) (float64, error) {
		out, err := command(dir, bin, strconv.Itoa(cycles))
		if err != nil {
			return 0, err
		}
		f := strings.Fields(string(out))
		if len(f) != 2 {
			return 0, fmt.Errorf("%s: unexpected output %q", d.name, out)
		}
		s, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			return 0, err
		}
		return float64(cycles) / s, nil
	}, nil
}

// icarusSpeed compiles the wrapper with a testbench that toggles the
// clock for +cycles=N cycles.
type icarusSpeed struct{}

const icarusSpeedTB = "module speed_tb;\n" +
	"    reg clk = 1'b0;\n" +
	"    wire dout;\n" +
	"    integer cycles, i;\n" +
	"    fpga_wrap dut (.clk(clk), .din(1'b0), .dout(dout));\n" +
	"    initial begin\n" +
	"        if (!$value$plusargs(\"cycles=%d\", cycles)) cycles = 0;\n" +
	"        for (i = 0; i < cycles; i = i + 1) begin\n" +
	"            #1 clk = 1'b1;\n" +
	"            #1 clk = 1'b0;\n" +
	"        end\n" +
	"        $display(\"%b\", dout);\n" +
	"        $finish;\n" +
	"    end\n" +
	"endmodule\n"

func (icarusSpeed) tools() []string { return []string{"iverilog", "vvp"} }

func (icarusSpeed) build(dir string, d wrapped) (func(int) (float64, error), error) {
	tb := filepath.Join(dir, "tb.v")
	if err := os.WriteFile(tb, []byte(icarusSpeedTB), 0o644); err != nil {
		return nil, err
	}
	image := filepath.Join(dir, "sim.vvp")
	args := append([]string{"-g2012", "-s", "speed_tb", "-o", image}, d.files...)
	if _, err := command(dir, "iverilog", append(args, tb)...); err != nil {
		return nil, err
	}
	timed := func(cycles int) (time.Duration, error) {
		start := time.Now()
		_, err := command(dir, "vvp", "-n", image, fmt.Sprintf("+cycles=%d", cycles))
		return time.Since(start), err
	}
	return func(cycles int) (float64, error) {
		load, err := timed(0)
		if err != nil {
			return 0, err
		}
		total, err := timed(cycles)
		if err != nil {
			return 0, err
		}
		return float64(cycles) / max(total-load, time.Millisecond).Seconds(), nil
	}, nil
}

func command(dir, bin string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(context.Background(), bin, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %w\n%s", filepath.Base(bin), err, tail(stderr.String()))
	}
	return out, nil
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}
