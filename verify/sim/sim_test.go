package sim

import (
	"context"
	"errors"
	"math/big"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
)

func counterTop() *Top {
	return &Top{
		Name:  "counter8",
		Files: []string{"testdata/counter8.v"},
		Ports: []Port{in("clk", 1), in("rst", 1), in("en", 1), in("load", 1), in("load_val", 8),
			out("count", 8), out("at_max", 1)},
		Clock: "clk",
		Reset: "rst",
	}
}

// counterModel is the golden model of counter8: the outputs sampled in each
// cycle, given the inputs applied in each cycle.
func counterModel(en, load []bool, loadVal []int64) (count []int64, atMax []bool) {
	var c int64
	for i := range en {
		count = append(count, c)
		atMax = append(atMax, c == 255)
		switch {
		case load[i]:
			c = loadVal[i]
		case en[i]:
			c = (c + 1) & 0xff
		}
	}
	return count, atMax
}

func boolBit(b bool) *big.Int { return map[bool]*big.Int{false: big.NewInt(0), true: big.NewInt(1)}[b] }

// TestCounter drives plain inputs for a fixed number of cycles and compares
// the trace with the Go model in both simulators.
func TestCounter(t *testing.T) {
	t.Parallel()
	const cycles = 600
	r := rand.New(rand.NewPCG(1, 2))
	en, load, loadVal := make([]bool, cycles), make([]bool, cycles), make([]int64, cycles)
	var changes []Change
	for c := range cycles {
		en[c], load[c], loadVal[c] = true, false, 0
		if c > 0 {
			en[c], loadVal[c] = en[c-1], loadVal[c-1]
		}
		if r.IntN(8) == 0 {
			en[c] = !en[c]
		}
		load[c] = r.IntN(40) == 0
		if load[c] {
			loadVal[c] = int64(240 + r.IntN(16)) // near the wrap, to reach at_max
		}
		// Changes in reverse order: the harness must sort them by cycle.
		changes = append([]Change{
			{Cycle: c, Port: "en", Value: boolBit(en[c])},
			{Cycle: c, Port: "load", Value: boolBit(load[c])},
			{Cycle: c, Port: "load_val", Value: FromInt(loadVal[c], 8)},
		}, changes...)
	}
	wantCount, wantMax := counterModel(en, load, loadVal)

	cache := testCache
	var results []*Result
	for _, sim := range allSims() {
		t.Run(sim.Name(), func(t *testing.T) {
			needSim(t, sim)
			res, err := sim.Run(context.Background(), counterTop(),
				&Stimulus{Changes: changes, Cycles: cycles, Trace: true}, opts(t, cache))
			if err != nil {
				t.Fatal(err)
			}
			if res.Cycles != cycles || len(res.Outputs) != cycles {
				t.Fatalf("got %d cycles and %d trace rows, want %d", res.Cycles, len(res.Outputs), cycles)
			}
			bad := 0
			for c, o := range res.Outputs {
				got, gotMax := o["count"].Int64(), o["at_max"].Int64() == 1
				if (got != wantCount[c] || gotMax != wantMax[c]) && bad < 5 {
					bad++
					t.Errorf("cycle %d: count=%d at_max=%v, want %d %v", c, got, gotMax, wantCount[c], wantMax[c])
				}
			}
			results = append(results, res)
		})
	}
	if len(results) == 2 {
		if d := sameRun(results[0], results[1]); d != "" {
			t.Errorf("icarus and verilator differ (-icarus +verilator):\n%s", d)
		}
	}
}

// TestIcarusReportsX checks that x from an uninitialized register is an
// error in Icarus, both on a traced output and on a sink payload.
func TestIcarusReportsX(t *testing.T) {
	sim := Icarus{}
	needSim(t, sim)
	top := xregTop()
	_, err := sim.Run(context.Background(), top, &Stimulus{Cycles: 4, Trace: true}, Options{})
	if err == nil || !strings.Contains(err.Error(), `output "q" at cycle 0`) || !strings.Contains(err.Error(), "x/z") {
		t.Errorf("traced x: got error %v, want one naming output q at cycle 0", err)
	}
	_, err = sim.Run(context.Background(), top, &Stimulus{Expect: []int{3}}, Options{})
	if err == nil || !strings.Contains(err.Error(), `port "out_data"`) || !strings.Contains(err.Error(), "x/z") {
		t.Errorf("sink x: got error %v, want one naming port out_data", err)
	}

	top = &Top{
		Name:  "xvalid",
		Files: []string{"testdata/xvalid.v"},
		Ports: []Port{in("clk", 1), out("out_valid", 1), in("out_ready", 1), out("out_data", 4)},
		Clock: "clk",
		Sinks: []Stream{{Name: "out", Valid: "out_valid", Ready: "out_ready", Data: "out_data"}},
	}
	_, err = sim.Run(context.Background(), top, &Stimulus{Expect: []int{1}}, Options{})
	want := `sim: xvalid (icarus): handshake on port "out_valid" is x/z at cycle 0`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("handshake x: got error %v, want %q", err, want)
	}
}

func xregTop() *Top {
	return &Top{
		Name:  "xreg",
		Files: []string{"testdata/xreg.v"},
		Ports: []Port{in("clk", 1), out("q", 4), out("out_valid", 1), in("out_ready", 1), out("out_data", 4)},
		Clock: "clk",
		Sinks: []Stream{{Name: "out", Valid: "out_valid", Ready: "out_ready", Data: "out_data"}},
	}
}

func TestMissingSimulator(t *testing.T) {
	for _, sim := range []Simulator{
		Icarus{Bin: "iverilog-does-not-exist"},
		Icarus{VVP: "vvp-does-not-exist"},
		Verilator{Bin: "verilator-does-not-exist"},
	} {
		_, err := sim.Run(context.Background(), counterTop(), &Stimulus{Cycles: 1}, Options{})
		if err == nil || !strings.Contains(err.Error(), "does-not-exist not found in PATH") ||
			!strings.Contains(err.Error(), "scripts/setup.sh") {
			t.Errorf("%s: got error %v, want one naming the binary and scripts/setup.sh", sim.Name(), err)
		}
	}
}

func TestSimulatorByName(t *testing.T) {
	for _, name := range []string{"icarus", "verilator"} {
		sim, err := SimulatorByName(name)
		if err != nil || sim.Name() != name {
			t.Errorf("SimulatorByName(%q) = %v, %v", name, sim, err)
		}
	}
	if _, err := SimulatorByName("modelsim"); err == nil || !strings.Contains(err.Error(), `"modelsim"`) {
		t.Errorf("SimulatorByName(modelsim): got error %v", err)
	}
}

// TestCancel checks that cancelling the context stops a long simulation and
// leaves no run files behind.
func TestCancel(t *testing.T) {
	sim := Icarus{}
	needSim(t, sim)
	work := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	// One payload but two beats expected: the run would hang until the limit.
	_, err := sim.Run(ctx, fifoTop(), &Stimulus{
		Sources: [][]*big.Int{{big.NewInt(1)}}, Expect: []int{2}, MaxCycles: 100_000_000,
	}, Options{WorkDir: work})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got error %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("cancelled run took %v", d)
	}
	if left, _ := os.ReadDir(work); len(left) != 0 {
		t.Errorf("run files left behind: %v", left)
	}
}

// TestCompileError checks that a tool failure comes back with the tool's
// own message.
func TestCompileError(t *testing.T) {
	top := &Top{Name: "broken", Files: []string{"testdata/broken.v"},
		Ports: []Port{in("clk", 1), out("q", 1)}, Clock: "clk"}
	for _, sim := range allSims() {
		t.Run(sim.Name(), func(t *testing.T) {
			needSim(t, sim)
			_, err := sim.Run(context.Background(), top, &Stimulus{Cycles: 1}, opts(t, t.TempDir()))
			if err == nil || !strings.Contains(err.Error(), "broken.v:4") {
				t.Errorf("got error %v, want one quoting the tool's message about broken.v:4", err)
			}
		})
	}
}
