package sim

import (
	"context"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

func fifoTop() *Top {
	return &Top{
		Name:  "fifo4",
		Files: []string{"testdata/fifo4.v"},
		Ports: []Port{in("clk", 1), in("rst", 1),
			in("in_valid", 1), out("in_ready", 1), in("in_data", 16),
			out("out_valid", 1), in("out_ready", 1), out("out_data", 16)},
		Clock:   "clk",
		Reset:   "rst",
		Sources: []Stream{{Name: "in", Valid: "in_valid", Ready: "in_ready", Data: "in_data"}},
		Sinks:   []Stream{{Name: "out", Valid: "out_valid", Ready: "out_ready", Data: "out_data"}},
	}
}

// TestFIFO pushes 2000 payloads through a 4-entry FIFO with random stalls
// on both sides: nothing may be lost, duplicated or reordered, stalls must be
// honoured, and both simulators must agree cycle for cycle. It also checks
// that a design that never delivers its beats hits the cycle limit.
func TestFIFO(t *testing.T) {
	t.Parallel()
	const n = 2000
	r := rand.New(rand.NewPCG(3, 4))
	payloads := make([]*big.Int, n)
	for i := range payloads {
		payloads[i] = big.NewInt(int64(r.IntN(1 << 16)))
	}
	srcStall := stallPattern(5, 0.3, 20*n)
	sinkStall := stallPattern(6, 0.4, 20*n)
	stim := &Stimulus{
		Sources:     [][]*big.Int{payloads},
		SourceStall: []func(int) bool{srcStall},
		SinkStall:   []func(int) bool{sinkStall},
		Expect:      []int{n},
	}
	cache := testCache
	var results []*Result
	for _, sim := range allSims() {
		t.Run(sim.Name(), func(t *testing.T) {
			needSim(t, sim)
			res, err := sim.Run(context.Background(), fifoTop(), stim, opts(t, cache))
			if err != nil {
				t.Fatal(err)
			}
			checkFIFO(t, res, payloads, srcStall, sinkStall)
			results = append(results, res)
		})
	}
	if len(results) == 2 {
		if d := sameRun(results[0], results[1]); d != "" {
			t.Errorf("icarus and verilator differ (-icarus +verilator):\n%s", d)
		}
	}

	for _, sim := range allSims() {
		t.Run("cycle limit/"+sim.Name(), func(t *testing.T) {
			needSim(t, sim)
			_, err := sim.Run(context.Background(), fifoTop(), &Stimulus{
				Sources: [][]*big.Int{payloads[:3]}, Expect: []int{10}, MaxCycles: 200,
			}, opts(t, cache))
			want := `sim: fifo4 (` + sim.Name() + `): cycle limit 200 reached (sink "out" got 3 of 10 beats; source "in" has 0 payloads left) — design hung?`
			if err == nil || err.Error() != want {
				t.Errorf("got error\n%v\nwant\n%s", err, want)
			}
		})
	}
}

func checkFIFO(t *testing.T, res *Result, payloads []*big.Int, srcStall, sinkStall func(int) bool) {
	t.Helper()
	beats, acc := res.Sinks[0], res.Sources[0]
	if len(beats) != len(payloads) || len(acc) != len(payloads) {
		t.Fatalf("got %d beats and %d accepted payloads, want %d", len(beats), len(acc), len(payloads))
	}
	for i, b := range beats {
		if b.Data.Cmp(payloads[i]) != 0 {
			t.Fatalf("beat %d at cycle %d: got %#x, want %#x", i, b.Cycle, b.Data, payloads[i])
		}
		if sinkStall(b.Cycle) {
			t.Fatalf("beat %d fired at cycle %d while the sink was stalled", i, b.Cycle)
		}
		if srcStall(acc[i]) {
			t.Fatalf("payload %d accepted at cycle %d while the source was stalled", i, acc[i])
		}
		if b.Cycle <= acc[i] {
			t.Fatalf("payload %d left at cycle %d, before it entered at %d", i, b.Cycle, acc[i])
		}
		if i > 0 && (b.Cycle <= beats[i-1].Cycle || acc[i] <= acc[i-1]) {
			t.Fatalf("two transfers in one cycle at beat %d", i)
		}
	}
	if last := beats[len(beats)-1].Cycle; res.Cycles != last+1 {
		t.Errorf("Cycles = %d, want the last beat's cycle + 1 = %d", res.Cycles, last+1)
	}
	t.Logf("%d transfers in %d cycles", len(beats), res.Cycles)
}

func wideTop() *Top {
	return &Top{
		Name:  "wide100",
		Files: []string{"testdata/wide100.v"},
		Ports: []Port{in("clk", 1), in("d", 100), out("q", 100), out("q_hi", 33),
			in("in_valid", 1), out("in_ready", 1), in("in_data", 100),
			out("out_valid", 1), in("out_ready", 1), out("out_data", 100),
			in("huge_in", 4096), out("huge_out", 4096)},
		Clock:   "clk",
		Sources: []Stream{{Name: "in", Valid: "in_valid", Ready: "in_ready", Data: "in_data"}},
		Sinks:   []Stream{{Name: "out", Valid: "out_valid", Ready: "out_ready", Data: "out_data"}},
	}
}

// TestWidePorts checks 100-bit plain inputs, outputs and stream payloads,
// including values whose carry crosses 32-bit words, and a 4096-bit port, in
// both simulators.
func TestWidePorts(t *testing.T) {
	t.Parallel()
	const cycles = 40
	r := rand.New(rand.NewPCG(7, 8))
	m100 := mask(100)
	random := func() *big.Int {
		v := new(big.Int)
		for range 4 {
			v.Lsh(v, 32).Or(v, big.NewInt(int64(r.Uint32())))
		}
		return v.And(v, m100)
	}
	payloads := []*big.Int{new(big.Int).Set(m100), mask(32), mask(64), mask(96), big.NewInt(0)}
	for len(payloads) < cycles/2 {
		payloads = append(payloads, random())
	}
	d := make([]*big.Int, cycles)
	var changes []Change
	for c := range d {
		d[c] = random()
		changes = append(changes, Change{Cycle: c, Port: "d", Value: d[c]})
	}
	m4096 := mask(4096)
	huge := new(big.Int).Lsh(big.NewInt(0x5a), 4088) // only the top byte set
	changes = append(changes, Change{Cycle: 3, Port: "huge_in", Value: huge})
	stim := &Stimulus{
		Changes:   changes,
		Sources:   [][]*big.Int{payloads},
		SinkStall: []func(int) bool{func(c int) bool { return c < 10 }},
		Expect:    []int{len(payloads)},
		Trace:     true,
	}
	cache := testCache
	var results []*Result
	for _, sim := range allSims() {
		t.Run(sim.Name(), func(t *testing.T) {
			needSim(t, sim)
			res, err := sim.Run(context.Background(), wideTop(), stim, opts(t, cache))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Sinks[0]) != len(payloads) {
				t.Fatalf("got %d beats, want %d", len(res.Sinks[0]), len(payloads))
			}
			for i, b := range res.Sinks[0] {
				want := new(big.Int).Add(payloads[i], big.NewInt(1))
				want.And(want, m100)
				if b.Data.Cmp(want) != 0 {
					t.Errorf("beat %d: got %#x, want %#x", i, b.Data, want)
				}
			}
			for c, o := range res.Outputs {
				want := m4096
				if c >= 3 {
					want = new(big.Int).Xor(huge, m4096)
				}
				if o["huge_out"].Cmp(want) != 0 {
					t.Errorf("cycle %d: huge_out = %#x, want %#x", c, o["huge_out"], want)
					break
				}
			}
			for c := 1; c < len(res.Outputs); c++ {
				q, qhi := res.Outputs[c]["q"], res.Outputs[c]["q_hi"]
				if q.Cmp(d[c-1]) != 0 || qhi.Cmp(new(big.Int).Rsh(d[c-1], 67)) != 0 {
					t.Errorf("cycle %d: q=%#x q_hi=%#x, want q=%#x (d of the previous cycle)", c, q, qhi, d[c-1])
				}
			}
			results = append(results, res)
		})
	}
	if len(results) == 2 {
		if diff := sameRun(results[0], results[1]); diff != "" {
			t.Errorf("icarus and verilator differ (-icarus +verilator):\n%s", diff)
		}
	}
}

// TestVCD checks that both simulators write a waveform when asked.
func TestVCD(t *testing.T) {
	cache := testCache
	for _, sim := range allSims() {
		t.Run(sim.Name(), func(t *testing.T) {
			needSim(t, sim)
			t.Parallel()
			opt := opts(t, cache)
			opt.VCD = t.TempDir() + "/wave.vcd"
			stim := &Stimulus{Cycles: 10, Changes: []Change{{Cycle: 0, Port: "en", Value: big.NewInt(1)}}}
			if _, err := sim.Run(context.Background(), counterTop(), stim, opt); err != nil {
				t.Fatal(err)
			}
			vcd := readFile(t, opt.VCD)
			if !strings.Contains(vcd, "$enddefinitions") || !strings.Contains(vcd, " count ") {
				t.Errorf("%s does not look like a VCD with the count signal:\n%.400s", opt.VCD, vcd)
			}
		})
	}
}
