package blocks_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/blocks"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/gen"
	"github.com/tpugen/tpugen/internal/rtltest"
	"github.com/tpugen/tpugen/verify"
)

var mxuSeed = flag.Uint64("mxu-seed", 1, "seed of the matrix-unit tests with MAC stages")

// generate writes cfg's RTL into a temporary directory and loads its
// manifest.
func generate(t *testing.T, cfg gen.Config) (*arch.Manifest, string) {
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

func ptr(v bool) *bool { return &v }

// stagedConfigs sweep the MAC stages over both dataflows, the operand
// types whose products split unevenly (mixed signs, int4, int16), wrapping
// accumulators, the 1x1 extreme and the whole pipeline.
var stagedConfigs = []gen.Config{
	{Name: "ws_4x4_p1", Rows: 4, Cols: 4, AccDepth: 32, MACStages: 1},
	{Name: "ws_3x5_u8s8_p2", Rows: 3, Cols: 5, InputSigned: ptr(false), AccDepth: 16, MACStages: 2},
	{Name: "ws_4x3_s8u4_acc12_p2", Rows: 4, Cols: 3, WeightBits: 4, WeightSigned: ptr(false), AccBits: 12, AccDepth: 8, MACStages: 2},
	{Name: "ws_2x2_u16_p1", Rows: 2, Cols: 2, InputBits: 16, WeightBits: 16, InputSigned: ptr(false), WeightSigned: ptr(false), AccDepth: 8, MACStages: 1},
	{Name: "ws_1x1_p2", Rows: 1, Cols: 1, AccDepth: 2, MACStages: 2},
	{Name: "os_4x3_p1", Rows: 4, Cols: 3, Dataflow: arch.OS, AccDepth: 16, MACStages: 1},
	{Name: "os_2x3_s4_p2", Rows: 2, Cols: 3, Dataflow: arch.OS, InputBits: 4, WeightBits: 4, AccDepth: 16, MACStages: 2},
	{Name: "os_3x2_u4_acc10_p1", Rows: 3, Cols: 2, Dataflow: arch.OS, InputBits: 4, WeightBits: 4, InputSigned: ptr(false), WeightSigned: ptr(false), AccBits: 10, AccDepth: 8, MACStages: 1},
	{Name: "os_1x1_p2", Rows: 1, Cols: 1, Dataflow: arch.OS, AccDepth: 2, MACStages: 2},
	{Name: "ws_4x4_pipe_p1", Rows: 4, Cols: 4, AccDepth: 32, MACStages: 1, Requant: true, Activation: arch.AllActivations, Pool: true, PoolWidth: 8, PoolHeight: 8},
	{Name: "os_3x4_pipe_p2", Rows: 3, Cols: 4, Dataflow: arch.OS, AccDepth: 32, MACStages: 2, Requant: true, Rounding: arch.SingleRounding, Activation: arch.TableActivation, ParamSets: 2},
}

// TestMatrixUnitMACStages runs the GEMM regression (directed cases, random
// ones, every third with stalls and backpressure; and layers through the
// pipeline) on the unit with MAC stages, in both simulators: results must
// be bit-exact and the cycle model, which reads the latency from the
// manifest, exact.
func TestMatrixUnitMACStages(t *testing.T) {
	sims := rtltest.Simulators(t)
	for _, cfg := range stagedConfigs {
		t.Run(cfg.Name, func(t *testing.T) {
			man, dir := generate(t, cfg)
			var log bytes.Buffer
			opt := verify.RegressOptions{Sims: sims, Cases: 13, Seed: *mxuSeed, Only: -1, Log: &log,
				Repro: fmt.Sprintf("go test ./blocks -run 'TestMatrixUnitMACStages/%s$' -mxu-seed", cfg.Name)}
			if cfg.Requant {
				opt.Layers = 4
			}
			rep, err := verify.Regress(context.Background(), man, dir, opt)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Failed > 0 {
				t.Fatalf("%d of %d cases failed (seed %d):\n%s", rep.Failed, rep.Cases, *mxuSeed, log.String())
			}
		})
	}
}

// TestMatrixUnitMACStagesLatency pins what each stage costs: WS sums leave
// the array one cycle later per stage, and the pipelined accumulator's
// registered output adds one; OS adds a register before the accumulator
// as well (its read address must lead by two cycles).
func TestMatrixUnitMACStagesLatency(t *testing.T) {
	for _, df := range []arch.Dataflow{arch.WS, arch.OS} {
		base := blocks.MatrixConfig{Rows: 4, Cols: 3, Dataflow: df, InputBits: 8, InputSigned: true,
			WeightBits: 8, WeightSigned: true, AccBits: 32, AccDepth: 16}
		lat := func(stages int) int {
			c := base
			c.MACStages = stages
			mu, err := blocks.NewMatrixUnit(c)
			if err != nil {
				t.Fatal(err)
			}
			return mu.Latency
		}
		extra := 1 // the accumulator's output register
		if df.IsOS() {
			extra = 2 // and the readout's second register
		}
		for s := 1; s <= blocks.MaxMACStages; s++ {
			if got, want := lat(s)-lat(0), s+extra; got != want {
				t.Errorf("%s, %d MAC stages: latency grows by %d, want %d", df, s, got, want)
			}
		}
	}
	bad := blocks.MatrixConfig{Rows: 2, Cols: 2, InputBits: 8, WeightBits: 8, AccBits: 32, AccDepth: 4, MACStages: 3}
	if err := bad.Validate(); err == nil || err.Error() != "mac_stages 3 must be in [0, 2]" {
		t.Errorf("MACStages 3: %v, want the range error", err)
	}
	bad.MACStages, bad.MAC = 1, arch.FusedMAC
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "exclude each other") {
		t.Errorf("fused with MAC stages: %v, want a refusal", err)
	}
}

// TestMatrixUnitSkidUnderBackpressure holds c_out back most of the time:
// with MAC stages the unit advances on a registered enable, so a result
// may come in the cycle after the output stalls, and the second output
// entry must take it without losing, repeating or reordering anything. The
// inputs never stall here, so the unit is throttled by the output alone.
func TestMatrixUnitSkidUnderBackpressure(t *testing.T) {
	sims := rtltest.Simulators(t)
	for _, cfg := range []gen.Config{
		{Name: "ws_3x4_skid", Rows: 3, Cols: 4, AccDepth: 16, MACStages: 1},
		{Name: "os_3x3_skid", Rows: 3, Cols: 3, Dataflow: arch.OS, AccDepth: 16, MACStages: 2},
	} {
		t.Run(cfg.Name, func(t *testing.T) {
			man, dir := generate(t, cfg)
			r := rand.New(rand.NewPCG(*mxuSeed, 17))
			a := randMatrix(r, 23, 7, man.Config.InputBits)
			b := randMatrix(r, 7, 9, man.Config.WeightBits)
			want := verify.GoldenGEMM(man.Config, a, b)
			for _, frac := range []float64{0.5, 0.9} {
				for _, s := range sims {
					stall := stallPattern(*mxuSeed+uint64(100*frac), frac, 4000)
					run, err := verify.RunGEMM(context.Background(), s, man, dir, a, b, verify.GEMMOptions{SinkStall: stall})
					if err != nil {
						t.Fatalf("%s, sink stalled %.0f%%: %v", s.Name(), 100*frac, err)
					}
					if mm := verify.CompareMatrices(want, run.C); mm.Count > 0 {
						t.Errorf("%s, sink stalled %.0f%%: %s", s.Name(), 100*frac, mm.String())
					}
				}
			}
		})
	}
}

// TestMatrixUnitSkidUnderBackpressureLayers does the same through the
// post-array pipeline: y_out held back most of the time (the output
// register's result then waits for the requantizer's ready, not c_out's),
// with gaps on the inputs as well. The regression's layer cases never
// stall.
func TestMatrixUnitSkidUnderBackpressureLayers(t *testing.T) {
	sims := rtltest.Simulators(t)
	cfg := gen.Config{Name: "ws_3x4_pipe_skid", Rows: 3, Cols: 4, AccDepth: 32, MACStages: 1,
		Requant: true, Activation: arch.AllActivations, Pool: true, PoolWidth: 8, PoolHeight: 8}
	man, dir := generate(t, cfg)
	for i := 0; i < 4; i++ {
		c := verify.MakeLayerCase(man.Config, *mxuSeed, i)
		want, _, err := verify.LayerReference(man.Config, c.Layer)
		if err != nil {
			t.Fatal(err)
		}
		base := *mxuSeed + uint64(1000*i)
		opt := verify.GEMMOptions{SinkStall: stallPattern(base, 0.8, 4000),
			AStall: stallPattern(base+1, 0.2, 4000), WStall: stallPattern(base+2, 0.2, 4000)}
		for _, s := range sims {
			run, err := verify.RunLayer(context.Background(), s, man, dir, c.Layer, opt)
			if err != nil {
				t.Fatalf("%s, %s: %v", s.Name(), c.Name, err)
			}
			if d := cmp.Diff(want, run.Output); d != "" {
				t.Errorf("%s, %s: output differs from the reference (-want +got):\n%s", s.Name(), c.Name, d)
			}
		}
	}
}

// randMatrix returns a rows x cols matrix of signed bits-wide values.
func randMatrix(r *rand.Rand, rows, cols, bits int) compile.Matrix {
	lo, hi := arch.OperandRange(bits, true)
	m := compile.NewMatrix(rows, cols)
	for i := range m {
		for j := range m[i] {
			m[i][j] = lo + r.Int64N(hi-lo+1)
		}
	}
	return m
}
