package verify_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/blocks"
	"github.com/tpugen/tpugen/core"
	"github.com/tpugen/tpugen/gen"
	"github.com/tpugen/tpugen/verify"
)

var (
	coreSeed  = flag.Uint64("core-seed", 0, "run only this seed of TestCoreRandom (its one-line repro)")
	coreCount = flag.Int("core-count", 4, "random programs per simulator in TestCoreRandom")
)

// coreConfig is a small core for short simulations.
func coreConfig(name string, ub, wb int) gen.Config {
	c := pipelineConfig(name, arch.WS, arch.DoubleRounding)
	c.Core = &arch.CoreConfig{UBBytes: ub, WeightBytes: wb}
	return c
}

func newCoreRTL(t *testing.T, cfg gen.Config) *verify.CoreRTL {
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
	c, err := verify.NewCoreRTL(man, dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func runCore(t *testing.T, c *verify.CoreRTL, simName string, words []core.Word, in []byte, opt verify.CoreRunOptions) (want, got *verify.CoreOutcome) {
	t.Helper()
	want, err := c.Expected(words, in)
	if err != nil {
		t.Fatal(err)
	}
	got, err = c.Run(context.Background(), simName, words, in, opt)
	if err != nil {
		t.Fatal(err)
	}
	return want, got
}

func asm(t *testing.T, src string) []core.Word {
	t.Helper()
	w, err := core.Assemble(src)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestCoreDirected runs verify.CoreDirected (one program per error code of
// core.Machine, for every instruction that can raise it, and a clean one)
// in both simulators.
func TestCoreDirected(t *testing.T) {
	c := newCoreRTL(t, coreConfig("core_t", 256, 128))
	cases, err := verify.CoreDirected(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, simName := range []string{"icarus", "verilator"} {
		for _, tc := range cases {
			t.Run(simName+"/"+strings.TrimPrefix(tc.Name, "directed "), func(t *testing.T) {
				want, got := runCore(t, c, simName, tc.Words, tc.In, verify.CoreRunOptions{Seed: tc.Seed, StallPercent: tc.Stall})
				if !tc.Any && want.Code != tc.Code {
					t.Fatalf("the model stops with %v, the case is meant for %v", want.Code, tc.Code)
				}
				if err := verify.CompareCore(want, got); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// TestCoreRandom compares random programs (seeded; a failure names the
// one-line repro) on the RTL with core.Machine, with random gaps on every
// stream and register channel.
func TestCoreRandom(t *testing.T) {
	c := newCoreRTL(t, coreConfig("core_t", 256, 128))
	seeds := []uint64{}
	if *coreSeed != 0 {
		seeds = append(seeds, *coreSeed)
	} else {
		for i := 0; i < *coreCount; i++ {
			seeds = append(seeds, uint64(1000+i))
		}
	}
	for _, simName := range []string{"icarus", "verilator"} {
		for _, seed := range seeds {
			t.Run(fmt.Sprintf("%s/%d", simName, seed), func(t *testing.T) {
				r := rand.New(rand.NewPCG(seed, 10))
				words, in := verify.RandomCoreProgram(r, c.Config, 4+r.IntN(20), seed%2 == 1)
				want, got := runCore(t, c, simName, words, in, verify.CoreRunOptions{Seed: uint32(seed), StallPercent: r.IntN(60)})
				if err := verify.CompareCore(want, got); err != nil {
					t.Fatalf("%v\nrepro: go test ./verify -run 'TestCoreRandom/%s/' -core-seed %d", err, simName, seed)
				}
			})
		}
	}
}

// TestCoreProtocolChecker shows the testbench's AXI checker catching a
// source that drops valid before ready, in both simulators.
func TestCoreProtocolChecker(t *testing.T) {
	c := newCoreRTL(t, coreConfig("core_t", 256, 128))
	in := make([]byte, 64)
	words := asm(t, "read_host ub=0 len=64\nwrite_host ub=0 len=64\nhalt")
	for _, simName := range []string{"icarus", "verilator"} {
		t.Run(simName, func(t *testing.T) {
			_, got := runCore(t, c, simName, words, in, verify.CoreRunOptions{Seed: 3, StallPercent: 20, BreakValid: true})
			if len(got.Violations) == 0 {
				t.Fatal("the checker missed valid dropped before ready on d_in")
			}
		})
	}
}

// TestCoreCompute runs random layers (load_params, matmul, activate with
// every activation and pooling) on the RTL core and compares the results
// with core.Machine bit for bit.
func TestCoreCompute(t *testing.T) {
	runRandomPrograms(t, "TestCoreCompute", 2000, 11, verify.RandomComputeProgram)
}

// TestCoreMutantsCaught generates deliberately broken cores and checks
// that the random layers of TestCoreCompute and TestCoreConvolve catch
// each one.
func TestCoreMutantsCaught(t *testing.T) {
	for _, mut := range []struct {
		name string
		m    blocks.CoreMutant
	}{{"tile_lanes", blocks.CoreMutantTileLanes}, {"skip_weight_stall", blocks.CoreMutantSkipWeightStall}, {"window_edge", blocks.CoreMutantWindowEdge},
		{"fuse_early", blocks.CoreMutantFuseEarly}} {
		t.Run(mut.name, func(t *testing.T) {
			cfg := coreConfig("core_c", 1024, 512)
			cfg.CoreMutant = mut.m
			c := newCoreRTL(t, cfg)
			for seed := uint64(2000); seed < 2010; seed++ {
				r := rand.New(rand.NewPCG(seed, 11))
				words, in := verify.RandomComputeProgram(r, c.Config)
				if mut.m == blocks.CoreMutantWindowEdge || mut.m == blocks.CoreMutantFuseEarly {
					words, in = verify.RandomConvProgram(r, c.Config)
				}
				want, err := c.Expected(words, in)
				if err != nil {
					t.Fatal(err)
				}
				got, err := c.Run(context.Background(), "icarus", words, in, verify.CoreRunOptions{Seed: uint32(seed), MaxCycles: 20_000})
				if err == nil {
					err = verify.CompareCore(want, got) // a run that fails (a hang stopped by the limit) has no outcome
				}
				if err != nil {
					t.Logf("seed %d catches it: %v", seed, err)
					return
				}
			}
			t.Fatal("no random layer tells the mutant from the correct core")
		})
	}
}

var coreSoak = flag.Int("core-soak", 0, "TestCoreSoak: at least this many AXI transactions through the shipped core in Verilator (e.g. 1000000)")

// TestCoreSoak pushes -core-soak transactions through the shipped core's
// AXI ports with random valid/ready gaps on every stream (Verilator):
// layers and long host transfers, nothing lost, duplicated or reordered,
// every result bit-exact with core.Machine.
func TestCoreSoak(t *testing.T) {
	if *coreSoak <= 0 {
		t.Skip("run with -core-soak N")
	}
	man, err := arch.LoadManifest("../rtl-out/core")
	if err != nil {
		t.Fatal(err)
	}
	c, err := verify.NewCoreRTL(man, "../rtl-out/core")
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 7))
	var words []core.Word
	var in []byte
	beats := func(n int) int { return (n + blocks.CoreBeatBytes - 1) / blocks.CoreBeatBytes }
	transactions, dataBytes := 0, 0
	for i := 0; transactions < *coreSoak; i++ {
		w, d := verify.RandomComputeProgram(r, c.Config)
		words, in = append(words, w[:len(w)-1]...), append(in, d...)
		l := 1 + r.IntN(4096)
		a := 1024 + r.IntN(60000-l)
		for _, inst := range []core.Inst{core.MustNew(core.OpReadHost, map[string]int64{"ub": int64(a), "len": int64(l)}),
			core.MustNew(core.OpWriteHost, map[string]int64{"ub": int64(a), "len": int64(l)})} {
			enc, err := inst.Encode()
			if err != nil {
				t.Fatal(err)
			}
			words = append(words, enc)
		}
		for j := 0; j < l; j++ {
			in = append(in, byte(r.IntN(256)))
		}
		dataBytes += len(d) + l
		// Instructions, data beats (read_host bytes and this layer's), result beats.
		transactions += len(w) + 1 + beats(len(d)) + 2*beats(l)
	}
	enc, _ := core.MustNew(core.OpHalt, nil).Encode()
	words = append(words, enc)
	want, err := c.Expected(words, in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Run(context.Background(), "verilator", words, in, verify.CoreRunOptions{Seed: 99, StallPercent: 30, MaxCycles: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	if err := verify.CompareCore(want, got); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d instructions, %d host bytes in, %d out, about %d stream transactions; %d core cycles, %d testbench cycles",
		len(words), len(in), len(got.Out), transactions, got.Counters.Cycles, got.TBCycles)
}

// TestCoreConvolve runs random convolutions (the window generator: stride,
// dilation, zero-point padding, several images) on the RTL core against
// core.Machine.
func TestCoreConvolve(t *testing.T) {
	runRandomPrograms(t, "TestCoreConvolve", 3000, 12, verify.RandomConvProgram)
}

// TestCoreCycleModel compares core.Cycles with the RTL's cycle counter on
// random layers and convolutions (streams never stalling).
func TestCoreCycleModel(t *testing.T) {
	c := newCoreRTL(t, coreConfig("core_c", 1024, 512))
	for seed := uint64(1); seed <= 8; seed++ {
		r := rand.New(rand.NewPCG(seed, 13))
		words, in := verify.RandomComputeProgram(r, c.Config)
		if seed%2 == 0 {
			words, in = verify.RandomConvProgram(r, c.Config)
		}
		_, got := runCore(t, c, "verilator", words, in, verify.CoreRunOptions{})
		want, err := core.Cycles(c.Config, c.Man.Core.DrainCycles, words, in)
		if err != nil {
			t.Fatal(err)
		}
		e := float64(want)/float64(got.Counters.Cycles) - 1
		t.Logf("seed %d: model %d, RTL %d cycles (%+.2f%%)", seed, want, got.Counters.Cycles, 100*e)
		if e < -0.02 || e > 0.02 {
			t.Errorf("seed %d: the cycle model is off by %+.1f%% (model %d, RTL %d)", seed, 100*e, want, got.Counters.Cycles)
		}
	}
}

// runRandomPrograms runs the random programs gen makes (seeds from base,
// or -core-seed; the PCG stream keeps each test's programs its own) on the
// RTL core in both simulators against core.Machine, with a one-line repro
// for a failure.
func runRandomPrograms(t *testing.T, test string, base, stream uint64, gen func(*rand.Rand, core.Config) ([]core.Word, []byte)) {
	c := newCoreRTL(t, coreConfig("core_c", 1024, 512))
	seeds := []uint64{}
	if *coreSeed != 0 {
		seeds = append(seeds, *coreSeed)
	} else {
		for i := 0; i < *coreCount; i++ {
			seeds = append(seeds, base+uint64(i))
		}
	}
	for _, simName := range []string{"icarus", "verilator"} {
		for _, seed := range seeds {
			t.Run(fmt.Sprintf("%s/%d", simName, seed), func(t *testing.T) {
				r := rand.New(rand.NewPCG(seed, stream))
				words, in := gen(r, c.Config)
				want, got := runCore(t, c, simName, words, in, verify.CoreRunOptions{Seed: uint32(seed), StallPercent: r.IntN(40)})
				if want.Code != core.ErrNone {
					t.Fatalf("the model faults: %v (pc %d)", want.Code, want.PC)
				}
				if err := verify.CompareCore(want, got); err != nil {
					t.Fatalf("%v\nrepro: go test ./verify -run '%s/%s/' -core-seed %d", err, test, simName, seed)
				}
			})
		}
	}
}
