package sim

import (
	"math/big"
	"math/rand/v2"
	"os"
	"os/exec"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// needSim skips a test when the simulator is not installed, unless
// TPUGEN_REQUIRE_SIMS is set (as in CI), where a missing simulator fails.
func needSim(t *testing.T, s Simulator) {
	t.Helper()
	bins := map[string][]string{"icarus": {"iverilog", "vvp"}, "verilator": {"verilator"}}[s.Name()]
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv("TPUGEN_REQUIRE_SIMS") != "" {
				t.Fatalf("%s not found in PATH and TPUGEN_REQUIRE_SIMS is set: run scripts/setup.sh", b)
			}
			t.Skipf("%s not found in PATH: run scripts/setup.sh (set TPUGEN_REQUIRE_SIMS=1 to fail instead)", b)
		}
	}
}

func allSims() []Simulator { return []Simulator{Icarus{}, Verilator{}} }

func in(name string, width int) Port  { return Port{Name: name, Width: width, Dir: In} }
func out(name string, width int) Port { return Port{Name: name, Width: width, Dir: Out} }

// opts returns run options with a build cache private to the test.
func opts(t *testing.T, cache string) Options {
	return Options{CacheDir: cache, Log: t.Output()}
}

// stallPattern returns a stall function that is true in about frac of the
// cycles, from a seeded generator so that the run is reproducible.
func stallPattern(seed uint64, frac float64, n int) func(int) bool {
	r := rand.New(rand.NewPCG(seed, 1))
	bits := make([]bool, n)
	for i := range bits {
		bits[i] = r.Float64() < frac
	}
	return func(c int) bool { return c < n && bits[c] }
}

var bigCmp = cmp.Comparer(func(a, b *big.Int) bool { return a.Cmp(b) == 0 })

// sameRun reports differences between two simulators' results, ignoring
// which simulator and cache produced them.
func sameRun(a, b *Result) string {
	x, y := a.Outcome(), b.Outcome()
	return cmp.Diff(&x, &y, bigCmp)
}
