package blocks_test

import (
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tpugen/tpugen/hdl"
	"github.com/tpugen/tpugen/internal/rtltest"
	"github.com/tpugen/tpugen/verify/sim"
)

// Helpers shared by the tests of the example blocks (counter, adder tree,
// FIFO): each block runs in both simulators against a Go model.

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// splitmix is a stateless hash of (seed, i), so that stall patterns are
// defined for every cycle without storing them.
func splitmix(seed uint64, i int) uint64 {
	z := seed + uint64(i)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// stallPattern returns a stall function that is true in about frac of the
// cycles before horizon and never after it. The horizon must not exceed the
// one package verify evaluates stalls up to (see sim.Stimulus), so that
// the Go model and the harness see the same pattern.
func stallPattern(seed uint64, frac float64, horizon int) func(int) bool {
	limit := uint64(frac * (1 << 53))
	return func(c int) bool { return c < horizon && splitmix(seed, c)>>11 < limit }
}

// randPayloads returns n random payloads of width bits; when the width
// allows, they are distinct, so that a lost or repeated payload is named.
func randPayloads(r *rand.Rand, n, width int) []*big.Int {
	seen := map[string]bool{}
	distinct := width >= 20 || n <= 1<<width/2
	out := make([]*big.Int, 0, n)
	for len(out) < n {
		v := rtltest.RandValue(r, hdl.U(width))
		if distinct {
			if seen[v.String()] {
				v = randBits(r, width)
				if seen[v.String()] {
					continue
				}
			}
			seen[v.String()] = true
		}
		out = append(out, v)
	}
	return out
}

func randBits(r *rand.Rand, width int) *big.Int {
	v := new(big.Int)
	for i := 0; i < width; i += 32 {
		v.Lsh(v, 32).Or(v, big.NewInt(int64(r.Uint32())))
	}
	return v.And(v, new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(width)), big.NewInt(1)))
}

// runBoth runs the same stimulus in both simulators, calls check on each
// result, and requires the two results to be identical cycle for cycle.
func runBoth(t *testing.T, top *sim.Top, stim *sim.Stimulus, check func(t *testing.T, res *sim.Result)) {
	t.Helper()
	sims := rtltest.Simulators(t)
	results := make([]*sim.Result, len(sims))
	for i, sim := range sims {
		t.Run(sim.Name(), func(t *testing.T) {
			res, err := rtltest.Run(t, sim, top, stim)
			if err != nil {
				t.Fatal(err)
			}
			check(t, res)
			results[i] = res
		})
	}
	if results[0] != nil && results[1] != nil {
		a, b := results[0].Outcome(), results[1].Outcome()
		if d := cmp.Diff(&a, &b, cmp.Comparer(func(x, y *big.Int) bool { return x.Cmp(y) == 0 })); d != "" {
			t.Errorf("%s and %s differ (-%[1]s +%[2]s):\n%s", sims[0].Name(), sims[1].Name(), d)
		}
	}
}

// port returns the port of m called name as an expression.
func port(t *testing.T, m *hdl.Module, name string) *hdl.Expr {
	t.Helper()
	for _, p := range m.Ports() {
		if p.Name() == name {
			return p.Expr()
		}
	}
	t.Fatalf("module %s has no port %q", m.Name(), name)
	return nil
}

// pattern returns v as a width-bit two's-complement pattern.
func pattern(v *big.Int, width int) *big.Int {
	m := new(big.Int).Lsh(big.NewInt(1), uint(width))
	return new(big.Int).Mod(v, m)
}
