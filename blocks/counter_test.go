package blocks_test

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/tpugen/tpugen/blocks"
	"github.com/tpugen/tpugen/hdl"
	"github.com/tpugen/tpugen/internal/rtltest"
	"github.com/tpugen/tpugen/verify/sim"
)

// TestCounter runs counters of widths 1, 4 and 64 side by side (one build)
// with random enables and compares every cycle with a Go model.
func TestCounter(t *testing.T) {
	t.Parallel()
	const cycles = 400
	widths := []int{1, 4, 64}
	top := hdl.NewModule("counters_tb")
	for _, w := range widths {
		c, err := blocks.NewCounter(blocks.CounterConfig{Width: w})
		must(t, err)
		rtltest.ExposePorts(top, top.Instance(fmt.Sprintf("u_w%d", w), c.Module), fmt.Sprintf("c%d_", w))
	}
	e := rtltest.Build(t, top)
	rtltest.CheckTools(t, e)

	r := rand.New(rand.NewPCG(11, 12))
	stim := &sim.Stimulus{Cycles: cycles, Trace: true}
	en := map[int][]bool{}
	for _, w := range widths {
		on := true
		for c := range cycles {
			// Runs of enable and disable, with a flip now and then.
			if r.IntN(5) == 0 {
				on = !on
				stim.Changes = append(stim.Changes, sim.Change{Cycle: c, Port: fmt.Sprintf("c%d_in_en", w), Value: boolBit(on)})
			}
			if c == 0 {
				stim.Changes = append(stim.Changes, sim.Change{Cycle: 0, Port: fmt.Sprintf("c%d_in_en", w), Value: boolBit(on)})
			}
			en[w] = append(en[w], on)
		}
	}
	runBoth(t, e.VerifyTop(), stim, func(t *testing.T, res *sim.Result) {
		for _, w := range widths {
			want := counterModel(en[w], w)
			name := fmt.Sprintf("c%d_out_count", w)
			for c, outs := range res.Outputs {
				if outs[name].Cmp(want[c]) != 0 {
					t.Fatalf("width %d, cycle %d: count %#x, want %#x", w, c, outs[name], want[c])
				}
			}
		}
	})
}

// counterModel returns the count sampled in each cycle: the number of
// earlier cycles with the enable set, modulo 2^width (reset clears it).
func counterModel(en []bool, width int) []*big.Int {
	n := big.NewInt(0)
	out := make([]*big.Int, len(en))
	for c, on := range en {
		out[c] = pattern(n, width)
		if on {
			n = new(big.Int).Add(n, big.NewInt(1))
		}
	}
	return out
}

func boolBit(b bool) *big.Int {
	if b {
		return big.NewInt(1)
	}
	return big.NewInt(0)
}

func TestCounterConfig(t *testing.T) {
	for _, w := range []int{0, 65} {
		if _, err := blocks.NewCounter(blocks.CounterConfig{Width: w}); err == nil {
			t.Errorf("width %d: want an error", w)
		}
	}
}
