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

var adderTreeConfigs = []blocks.AdderTreeConfig{
	{Inputs: 1, Width: 12, Signed: true},
	{Inputs: 5, Width: 8, Signed: true},
	{Inputs: 8, Width: 16, Signed: false},
	{Inputs: 3, Width: 1, Signed: false},
}

// adderTreesTop places one tree per config side by side. The trees'
// registers have no reset, so the first outputs are x in Icarus; each sum
// leaves the top through a mux that shows 0 until a reset valid pipeline says
// the tree has been fed for Latency() cycles.
func adderTreesTop(t *testing.T) *hdl.Module {
	top := hdl.NewModule("adder_trees_tb")
	maxLat := 0
	for _, cfg := range adderTreeConfigs {
		maxLat = max(maxLat, cfg.Latency())
	}
	valid := []*hdl.Expr{top.Lit(1, 1)}
	for i := 1; i <= maxLat; i++ {
		v := top.Reg(fmt.Sprintf("valid_%d", i), hdl.U(1), hdl.ResetTo(0))
		top.Set(v, valid[i-1])
		valid = append(valid, v)
	}
	for k, cfg := range adderTreeConfigs {
		tree, err := blocks.NewAdderTree(cfg)
		must(t, err)
		inst := top.Instance(fmt.Sprintf("u%d", k), tree.Module)
		for i := range cfg.Inputs {
			name := fmt.Sprintf("in_%d", i)
			inst.In(port(t, tree.Module, name), top.Input(fmt.Sprintf("t%d_%s", k, name), port(t, tree.Module, name).Shape()))
		}
		sum := inst.Out(port(t, tree.Module, "out_sum"))
		out := top.Output(fmt.Sprintf("t%d_out_sum", k), sum.Shape())
		top.Set(out, hdl.Mux(valid[cfg.Latency()], sum, top.Const(0, sum.Shape())))
	}
	return top
}

// TestAdderTree feeds random operands (biased to the extremes) every cycle
// to trees of 1, 3, 5 and 8 inputs, signed and unsigned, and compares each
// sum with the Go sum of the operands presented Latency() cycles earlier.
func TestAdderTree(t *testing.T) {
	t.Parallel()
	const cycles = 300
	e := rtltest.Build(t, adderTreesTop(t))
	rtltest.CheckTools(t, e)

	r := rand.New(rand.NewPCG(21, 22))
	stim := &sim.Stimulus{Cycles: cycles, Trace: true}
	// operands[k][c][i] is operand i of tree k in cycle c, as a value.
	operands := make([][][]*big.Int, len(adderTreeConfigs))
	for k, cfg := range adderTreeConfigs {
		shape := hdl.Shape{Width: cfg.Width, Signed: cfg.Signed}
		for c := range cycles {
			var ops []*big.Int
			for i := range cfg.Inputs {
				p := rtltest.RandValue(r, shape)
				ops = append(ops, value(p, shape))
				stim.Changes = append(stim.Changes, sim.Change{Cycle: c, Port: fmt.Sprintf("t%d_in_%d", k, i), Value: p})
			}
			operands[k] = append(operands[k], ops)
		}
	}
	runBoth(t, e.VerifyTop(), stim, func(t *testing.T, res *sim.Result) {
		for k, cfg := range adderTreeConfigs {
			name := fmt.Sprintf("t%d_out_sum", k)
			bad := 0
			for c, outs := range res.Outputs {
				want := new(big.Int) // the mux shows 0 until the first sum is out
				if c >= cfg.Latency() {
					for _, v := range operands[k][c-cfg.Latency()] {
						want.Add(want, v)
					}
				}
				if got := outs[name]; got.Cmp(pattern(want, cfg.OutWidth())) != 0 {
					if bad++; bad <= 5 {
						t.Errorf("%+v, cycle %d: sum %s, want %s (latency %d)", cfg, c,
							value(got, hdl.Shape{Width: cfg.OutWidth(), Signed: cfg.Signed}), want, cfg.Latency())
					}
				}
			}
		}
	})
}

// value interprets a bit pattern as a value of shape s.
func value(p *big.Int, s hdl.Shape) *big.Int {
	v := new(big.Int).Set(p)
	if s.Signed && p.Bit(s.Width-1) == 1 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(s.Width)))
	}
	return v
}

// TestAdderTreeShape checks the documented output width and latency, which
// the simulation test relies on.
func TestAdderTreeShape(t *testing.T) {
	tests := []struct {
		cfg      blocks.AdderTreeConfig
		out, lat int
	}{
		{blocks.AdderTreeConfig{Inputs: 1, Width: 12, Signed: true}, 12, 1},
		{blocks.AdderTreeConfig{Inputs: 2, Width: 8}, 9, 1},
		{blocks.AdderTreeConfig{Inputs: 5, Width: 8, Signed: true}, 11, 3},
		{blocks.AdderTreeConfig{Inputs: 8, Width: 16}, 19, 3},
		{blocks.AdderTreeConfig{Inputs: 9, Width: 4}, 8, 4},
	}
	for _, tc := range tests {
		tree, err := blocks.NewAdderTree(tc.cfg)
		must(t, err)
		if got := tree.Sum.Shape(); got != (hdl.Shape{Width: tc.out, Signed: tc.cfg.Signed}) {
			t.Errorf("%+v: sum shape %s, want width %d", tc.cfg, got, tc.out)
		}
		if tc.cfg.OutWidth() != tc.out || tc.cfg.Latency() != tc.lat {
			t.Errorf("%+v: OutWidth %d Latency %d, want %d and %d", tc.cfg, tc.cfg.OutWidth(), tc.cfg.Latency(), tc.out, tc.lat)
		}
		if _, err := hdl.Elaborate(tree.Module); err != nil {
			t.Errorf("%+v: %v", tc.cfg, err)
		}
	}
	for _, bad := range []blocks.AdderTreeConfig{{Inputs: 0, Width: 8}, {Inputs: 2, Width: 0}, {Inputs: 2, Width: 65}} {
		if _, err := blocks.NewAdderTree(bad); err == nil {
			t.Errorf("%+v: want an error", bad)
		}
	}
}
