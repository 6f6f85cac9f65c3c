package verify_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/verify/sim"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tpugen/tpugen/gen"
	"github.com/tpugen/tpugen/verify"
)

var (
	regressSeed = flag.Uint64("regress-seed", 1, "seed of the matrix-unit regression tests")
	long        = flag.Bool("long", false, "also run the long matrix-unit sweeps (32x32 in Verilator)")
)

// genRTL generates cfg into a temporary directory and loads its manifest.
func genRTL(t *testing.T, cfg gen.Config) (*arch.Manifest, string) {
	t.Helper()
	out, err := gen.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), cfg.Name)
	if err := out.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	man, err := arch.LoadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	return man, dir
}

func randMatrix(r *rand.Rand, rows, cols, bits int, signed bool) compile.Matrix {
	lo, hi := arch.OperandRange(bits, signed)
	m := compile.NewMatrix(rows, cols)
	for i := range m {
		for j := range m[i] {
			m[i][j] = lo + r.Int64N(hi-lo+1)
		}
	}
	return m
}

func sims(t *testing.T, names ...string) []sim.Simulator {
	t.Helper()
	var out []sim.Simulator
	for _, n := range names {
		s, err := sim.SimulatorByName(n)
		if err != nil {
			t.Fatal(err)
		}
		requireTool(t, map[string]string{"icarus": "iverilog", "verilator": "verilator"}[n])
		out = append(out, s)
	}
	return out
}

func b(v bool) *bool { return &v }

// matrixConfigs is the regression sweep: both dataflows, array shapes from
// 1x1 to 16x16, int4/int8/int16 signed and unsigned (and mixed), small
// accumulators that must wrap exactly like the golden model, and both
// forms of the PE's multiply-accumulate.
var matrixConfigs = []gen.Config{
	{Name: "ws_1x1", Rows: 1, Cols: 1, Dataflow: arch.WS, AccDepth: 64},
	{Name: "os_1x1", Rows: 1, Cols: 1, Dataflow: arch.OS, AccDepth: 64},
	{Name: "ws_2x3_u8s8", Rows: 2, Cols: 3, Dataflow: arch.WS, InputSigned: b(false), AccDepth: 16},
	{Name: "os_2x3_s4", Rows: 2, Cols: 3, Dataflow: arch.OS, InputBits: 4, WeightBits: 4, AccDepth: 16},
	{Name: "ws_4x4_u16", Rows: 4, Cols: 4, Dataflow: arch.WS, InputBits: 16, WeightBits: 16, InputSigned: b(false), WeightSigned: b(false), AccDepth: 32},
	{Name: "os_4x4_s16", Rows: 4, Cols: 4, Dataflow: arch.OS, InputBits: 16, WeightBits: 16, AccDepth: 32},
	{Name: "ws_4x4_s8u4_acc12", Rows: 4, Cols: 4, Dataflow: arch.WS, WeightBits: 4, WeightSigned: b(false), AccBits: 12, AccDepth: 8},
	{Name: "os_3x2_u4_acc10", Rows: 3, Cols: 2, Dataflow: arch.OS, InputBits: 4, WeightBits: 4, InputSigned: b(false), WeightSigned: b(false), AccBits: 10, AccDepth: 8},
	{Name: "ws_8x8", Rows: 8, Cols: 8, Dataflow: arch.WS, AccDepth: 64},
	{Name: "os_8x8_s4", Rows: 8, Cols: 8, Dataflow: arch.OS, InputBits: 4, WeightBits: 4, AccDepth: 64},
	{Name: "ws_16x16", Rows: 16, Cols: 16, Dataflow: arch.WS, AccDepth: 128},
	// The fused multiply-accumulate form of the PEs (mac: fused).
	{Name: "ws_4x4_u8s8_fused", Rows: 4, Cols: 4, Dataflow: arch.WS, InputSigned: b(false), AccDepth: 16, MAC: arch.FusedMAC},
	{Name: "os_3x3_fused", Rows: 3, Cols: 3, Dataflow: arch.OS, AccDepth: 16, MAC: arch.FusedMAC},
	{Name: "ws_2x2_u4_fused", Rows: 2, Cols: 2, Dataflow: arch.WS, InputBits: 4, WeightBits: 4, InputSigned: b(false), WeightSigned: b(false), AccDepth: 16, MAC: arch.FusedMAC},
}

// TestMatrixUnitRegression runs directed and random GEMMs on every
// configuration in both simulators and checks the result and the cycle
// model against the golden model.
func TestMatrixUnitRegression(t *testing.T) {
	for _, cfg := range matrixConfigs {
		t.Run(cfg.Name, func(t *testing.T) {
			man, dir := genRTL(t, cfg)
			cases := 13
			if cfg.Rows >= 16 {
				cases = 11 // the big array keeps to the directed cases and one random
			}
			var log bytes.Buffer
			rep, err := verify.Regress(context.Background(), man, dir, verify.RegressOptions{
				Sims: sims(t, "icarus", "verilator"), Cases: cases, Seed: *regressSeed, Only: -1,
				Repro: fmt.Sprintf("go test ./verify -run 'TestMatrixUnitRegression/%s$' -regress-seed", cfg.Name), Log: &log,
			})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Failed > 0 {
				t.Fatalf("%d of %d cases failed (seed %d):\n%s", rep.Failed, rep.Cases, *regressSeed, log.String())
			}
			t.Logf("%d cases, %d cycles, utilization %.1f%%", rep.Cases, rep.Cycles, 100*rep.Utilization())
		})
	}
}

// TestMatrixUnit32x32 is the large-array run, Verilator only (-long).
func TestMatrixUnit32x32(t *testing.T) {
	if !*long {
		t.Skip("run with -long (make regress runs it)")
	}
	man, dir := genRTL(t, gen.Config{Name: "ws_32x32", Rows: 32, Cols: 32, AccDepth: 512})
	r := rand.New(rand.NewPCG(*regressSeed, 32))
	a, bm := randMatrix(r, 300, 290, 8, true), randMatrix(r, 290, 100, 8, true)
	run, err := verify.RunGEMM(context.Background(), sims(t, "verilator")[0], man, dir, a, bm, verify.GEMMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n, first := mismatches(verify.GoldenGEMM(man.Config, a, bm), run.C); n > 0 {
		t.Fatalf("%d mismatches: %s", n, first)
	}
	if run.Cycles != run.Predicted {
		t.Errorf("cycles %d, model predicted %d", run.Cycles, run.Predicted)
	}
}

func mismatches(want, got compile.Matrix) (int, string) {
	mm := verify.CompareMatrices(want, got)
	return mm.Count, mm.String()
}

// TestUtilization checks the throughput claim: on GEMMs with M, K, N at
// least 8x the array, WS hides weight loading entirely (>= 95%), and the
// cycle model predicts the RTL exactly. OS is reported.
func TestUtilization(t *testing.T) {
	for _, tc := range []struct {
		cfg     gen.Config
		m, k, n int
		min     float64
	}{
		{gen.Config{Name: "ws_4x4", Rows: 4, Cols: 4, AccDepth: 64}, 32, 32, 32, 0.95},
		{gen.Config{Name: "ws_8x8", Rows: 8, Cols: 8, AccDepth: 64}, 64, 64, 64, 0.95},
		{gen.Config{Name: "os_4x4", Rows: 4, Cols: 4, Dataflow: arch.OS, AccDepth: 64}, 32, 32, 32, 0},
	} {
		t.Run(tc.cfg.Name, func(t *testing.T) {
			man, dir := genRTL(t, tc.cfg)
			r := rand.New(rand.NewPCG(*regressSeed, 7))
			a, bm := randMatrix(r, tc.m, tc.k, 8, true), randMatrix(r, tc.k, tc.n, 8, true)
			run, err := verify.RunGEMM(context.Background(), sims(t, "verilator")[0], man, dir, a, bm, verify.GEMMOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if n, first := mismatches(verify.GoldenGEMM(man.Config, a, bm), run.C); n > 0 {
				t.Fatalf("%d mismatches: %s", n, first)
			}
			if run.Cycles != run.Predicted {
				t.Errorf("cycles %d, model predicted %d", run.Cycles, run.Predicted)
			}
			t.Logf("%dx%dx%d: cycles=%d ideal=%.0f utilization=%.2f%%", tc.m, tc.k, tc.n, run.Cycles, run.Ideal, 100*run.Utilization)
			if run.Utilization < tc.min {
				t.Errorf("utilization %.2f%% below %.0f%%", 100*run.Utilization, 100*tc.min)
			}
		})
	}
}

// TestBrokenPEIsCaught mutates the generated PE (the partial sum subtracts
// instead of adds, or the OS accumulator forgets to accumulate) and checks
// that the regression reports mismatches in both simulators.
func TestBrokenPEIsCaught(t *testing.T) {
	for _, tc := range []struct {
		cfg      gen.Config
		file     string
		from, to string
	}{
		{gen.Config{Name: "mut_ws", Rows: 2, Cols: 2, AccDepth: 16}, "pe_ws_as8_ws8_s17.v", "(in_sum + ", "(in_sum - "},
		{gen.Config{Name: "mut_os", Rows: 2, Cols: 2, Dataflow: arch.OS, AccDepth: 16}, "pe_os_as8_ws8_s32.v", "(acc + ", "(acc ^ "},
	} {
		t.Run(tc.cfg.Name, func(t *testing.T) {
			man, dir := genRTL(t, tc.cfg)
			path := filepath.Join(dir, tc.file)
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(src), tc.from) {
				t.Fatalf("%s has no %q to mutate", tc.file, tc.from)
			}
			if err := os.WriteFile(path, []byte(strings.Replace(string(src), tc.from, tc.to, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, s := range sims(t, "icarus", "verilator") {
				vcds := t.TempDir()
				rep, err := verify.Regress(context.Background(), man, dir, verify.RegressOptions{
					Sims: []sim.Simulator{s}, Cases: 6, Seed: *regressSeed, Only: -1, VCDDir: vcds,
				})
				if err != nil {
					t.Fatal(err)
				}
				if rep.Mismatches == 0 {
					t.Errorf("%s: the mutated PE passed the regression", s.Name())
				}
				// Every failing case leaves a waveform for GTKWave.
				if files, _ := filepath.Glob(filepath.Join(vcds, "case*_"+s.Name()+".vcd")); len(files) != rep.Failed {
					t.Errorf("%s: %d waveforms for %d failing cases", s.Name(), len(files), rep.Failed)
				}
			}
		})
	}
}

// requireTool skips when bin is missing, unless TPUGEN_REQUIRE_SIMS is set.
func requireTool(t *testing.T, bin string) {
	t.Helper()
	if _, err := exec.LookPath(bin); err != nil {
		if os.Getenv("TPUGEN_REQUIRE_SIMS") != "" {
			t.Fatalf("%s not found in PATH and TPUGEN_REQUIRE_SIMS is set: run scripts/setup.sh", bin)
		}
		t.Skipf("%s not found in PATH: run scripts/setup.sh", bin)
	}
}
