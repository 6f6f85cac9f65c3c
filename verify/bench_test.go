package verify_test

import (
	"context"
	"fmt"
	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/verify/sim"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/tpugen/tpugen/gen"
	"github.com/tpugen/tpugen/verify"
)

// gemmShape is a benchmark GEMM: C[M×N] = A[M×K] × B[K×N].
type gemmShape struct {
	name    string
	m, k, n int
}

// The suite: the layers of a small MNIST CNN (Keras example: two 3x3 convs
// lowered by im2col, two FC layers at batch 64) run on the RTL; AlexNet's
// FC layers (batch 1 and 128) go through the cycle model, which the RTL
// tests check exactly, because their streams are too long to simulate in
// a benchmark.
var (
	rtlSuite = []gemmShape{
		{"mnist_conv1", 26 * 26, 9, 32},
		{"mnist_conv2", 24 * 24, 288, 64},
		{"mnist_fc1_b64", 64, 9216, 128},
		{"mnist_fc2_b64", 64, 128, 10},
		{"square_64", 64, 64, 64},
	}
	modelSuite = []gemmShape{
		{"alexnet_fc6_b1", 1, 9216, 4096},
		{"alexnet_fc7_b1", 1, 4096, 4096},
		{"alexnet_fc8_b1", 1, 4096, 1000},
		{"alexnet_fc6_b128", 128, 9216, 4096},
		{"alexnet_fc7_b128", 128, 4096, 4096},
		{"alexnet_fc8_b128", 128, 4096, 1000},
	}
)

func benchRTL(b *testing.B, cfg gen.Config) (*arch.Manifest, string) {
	b.Helper()
	out, err := gen.Generate(cfg)
	if err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(b.TempDir(), cfg.Name)
	if err := out.WriteDir(dir); err != nil {
		b.Fatal(err)
	}
	man, err := arch.LoadManifest(dir)
	if err != nil {
		b.Fatal(err)
	}
	return man, dir
}

// BenchmarkGEMMSuite reports utilization (ideal cycles / measured cycles)
// of the default 8x8 WS and an 8x8 OS array on real layer shapes, and the
// cycle model's error.
func BenchmarkGEMMSuite(b *testing.B) {
	for _, df := range []arch.Dataflow{arch.WS, arch.OS} {
		cfg := gen.Config{Name: "bench_" + df.String(), Rows: 8, Cols: 8, Dataflow: df, AccDepth: 1024}
		man, dir := benchRTL(b, cfg)
		vl, err := sim.SimulatorByName("verilator")
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range rtlSuite {
			b.Run(df.String()+"/"+s.name, func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, uint64(s.m)))
				a, w := randMatrix(r, s.m, s.k, 8, true), randMatrix(r, s.k, s.n, 8, true)
				var run *verify.GEMMRun
				for i := 0; i < b.N; i++ {
					run, err = verify.RunGEMM(context.Background(), vl, man, dir, a, w, verify.GEMMOptions{})
					if err != nil {
						b.Fatal(err)
					}
				}
				if n, first := mismatches(verify.GoldenGEMM(man.Config, a, w), run.C); n > 0 {
					b.Fatalf("%d mismatches: %s", n, first)
				}
				b.ReportMetric(100*run.Utilization, "util%")
				b.ReportMetric(float64(run.Cycles), "cycles")
				b.ReportMetric(float64(run.Predicted-run.Cycles), "model-error-cycles")
			})
		}
		for _, s := range modelSuite {
			b.Run(df.String()+"/model/"+s.name, func(b *testing.B) {
				var cycles int
				for i := 0; i < b.N; i++ {
					cycles = verify.PredictGEMMCycles(man, s.m, s.k, s.n)
				}
				ideal := float64(s.m) * float64(s.k) * float64(s.n) / 64
				b.ReportMetric(100*ideal/float64(cycles), "util%")
				b.ReportMetric(float64(cycles), "cycles")
			})
		}
	}
}

// BenchmarkSimSpeed reports simulated cycles per second of the generated
// matrix unit running a GEMM, against the hand-written baseline array of
// the same size driven through the same harness in the same run (ratio =
// tpugen / baseline), for Verilator at 8x8 and 16x16 and Icarus at 8x8.
func BenchmarkSimSpeed(b *testing.B) {
	for _, tc := range []struct {
		sim     string
		n, size int // array side, GEMM side
	}{{"verilator", 8, 256}, {"verilator", 16, 256}, {"icarus", 8, 48}} {
		b.Run(fmt.Sprintf("%s/%dx%d", tc.sim, tc.n, tc.n), func(b *testing.B) {
			s, err := sim.SimulatorByName(tc.sim)
			if err != nil {
				b.Fatal(err)
			}
			man, dir := benchRTL(b, gen.Config{Name: "speed", Rows: tc.n, Cols: tc.n, AccDepth: 1024})
			r := rand.New(rand.NewPCG(2, 3))
			a, w := randMatrix(r, tc.size, tc.size, 8, true), randMatrix(r, tc.size, tc.size, 8, true)
			opt := verify.GEMMOptions{Sim: sim.Options{}}
			// Warm up the build cache so only simulation is timed.
			if _, err := verify.RunGEMM(context.Background(), s, man, dir, a[:1], w, opt); err != nil {
				b.Fatal(err)
			}
			base := baselineTop(b, tc.n)
			baseStim := baselineStimulus(tc.n, 4*tc.size*tc.size*tc.size/(tc.n*tc.n))
			if _, err := s.Run(context.Background(), base, &sim.Stimulus{Cycles: 10, Changes: baseStim.Changes[:1]}, sim.Options{}); err != nil {
				b.Fatal(err)
			}
			var genRate, baseRate float64
			for i := 0; i < b.N; i++ {
				run, err := verify.RunGEMM(context.Background(), s, man, dir, a, w, opt)
				if err != nil {
					b.Fatal(err)
				}
				genRate = float64(run.Cycles) / run.Result.SimTime.Seconds()
				res, err := s.Run(context.Background(), base, baseStim, sim.Options{})
				if err != nil {
					b.Fatal(err)
				}
				baseRate = float64(baseStim.Cycles) / res.SimTime.Seconds()
			}
			b.ReportMetric(genRate, "cycles/s")
			b.ReportMetric(baseRate, "baseline-cycles/s")
			b.ReportMetric(genRate/baseRate, "ratio")
		})
	}
}

// baselineTop describes scripts/baseline/ws_array.v at size n (through a
// tiny wrapper that sets the parameter).
func baselineTop(b *testing.B, n int) *sim.Top {
	b.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..")
	wrapper := filepath.Join(b.TempDir(), "ws_array_top.v")
	src := fmt.Sprintf(`module ws_array_top (input wire clk, input wire load, input wire [%d:0] w_in, input wire [%d:0] a_in, output wire [%d:0] sum_out);
    ws_array #(.N(%d)) u (.clk(clk), .load(load), .w_in(w_in), .a_in(a_in), .sum_out(sum_out));
endmodule
`, n*8-1, n*8-1, n*32-1, n)
	if err := writeFile(wrapper, src); err != nil {
		b.Fatal(err)
	}
	return &sim.Top{Name: "ws_array_top", Clock: "clk",
		Files: []string{filepath.Join(root, "scripts/baseline/ws_array.v"), wrapper},
		Ports: []sim.Port{{Name: "clk", Width: 1}, {Name: "load", Width: 1}, {Name: "w_in", Width: n * 8},
			{Name: "a_in", Width: n * 8}, {Name: "sum_out", Width: n * 32, Dir: sim.Out}}}
}

// baselineStimulus loads weights for n cycles, then feeds a new random
// activation vector every cycle.
func baselineStimulus(n, cycles int) *sim.Stimulus {
	r := rand.New(rand.NewPCG(4, 5))
	s := &sim.Stimulus{Cycles: cycles}
	word := func(bits int) *big.Int {
		v := new(big.Int)
		for i := 0; i < bits; i += 32 {
			v.Lsh(v, 32).Or(v, big.NewInt(int64(r.Uint32())))
		}
		return v.And(v, new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(bits)), big.NewInt(1)))
	}
	s.Changes = append(s.Changes, sim.Change{Cycle: 0, Port: "load", Value: big.NewInt(1)})
	for c := 0; c < cycles; c++ {
		if c < n {
			s.Changes = append(s.Changes, sim.Change{Cycle: c, Port: "w_in", Value: word(n * 8)})
		}
		s.Changes = append(s.Changes, sim.Change{Cycle: c, Port: "a_in", Value: word(n * 8)})
	}
	s.Changes = append(s.Changes, sim.Change{Cycle: n, Port: "load", Value: big.NewInt(0)})
	return s
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }
