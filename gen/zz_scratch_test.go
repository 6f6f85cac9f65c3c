package gen_test

import (
	"context"
	"math/big"
	"math/rand/v2"
	"testing"
	"os"
	"strconv"

	"github.com/tpugen/tpugen/hdl"
	"github.com/tpugen/tpugen/internal/rtltest"
	"github.com/tpugen/tpugen/verify"
)

func TestZZHunt(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("HUNT"))
	simName := os.Getenv("HUNTSIM")
	if simName == "" { simName = "icarus" }
	sim, _ := verify.SimulatorByName(simName)
	for s := uint64(100); s < uint64(100+n); s++ {
		for _, cfg := range exprConfigs {
			em := buildExprModule(cfg, s)
			d, err := hdl.Elaborate(em.m)
			if err != nil { t.Fatalf("seed %d: %v", s, err) }
			e := rtltest.Emit(t, d)
			if err := rtltest.LintVerilator(e.Top, e.Paths, "UNSIGNED", "CMPCONST"); err != nil {
				t.Errorf("seed %d %s: %v", s, cfg.name, err)
			}
			r := rand.New(rand.NewPCG(s, 99))
			stim := &verify.Stimulus{Cycles: 40, Trace: true}
			vec := make([]map[*hdl.Signal]*big.Int, 40)
			for c := range vec {
				vec[c] = map[*hdl.Signal]*big.Int{}
				for _, in := range em.inputs {
					v := rtltest.RandValue(r, in.Shape()); vec[c][in] = v
					stim.Changes = append(stim.Changes, verify.Change{Cycle: c, Port: in.Name(), Value: v})
				}
			}
			res, err := sim.Run(context.Background(), e.VerifyTop(), stim, verify.Options{})
			if err != nil { t.Errorf("seed %d %s: %v", s, cfg.name, err); continue }
			bad := 0
			for c, outs := range res.Outputs {
				env := func(x *hdl.Signal) *big.Int { return vec[c][x] }
				for i, x := range em.exprs {
					if want := hdl.Eval(x, env); outs["out_"+strconv.Itoa(i)].Cmp(want) != 0 {
						bad++
						if bad < 3 { t.Errorf("seed %d %s c%d out_%d got %#x want %#x\n %s", s, cfg.name, c, i, outs["out_"+strconv.Itoa(i)], want, rtltest.Describe(x)) }
					}
				}
			}
		}
	}
}
