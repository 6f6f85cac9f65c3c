package sim

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testCache is a build cache shared by the session tests, so that each
// design is built once per test binary (the cache is safe for concurrent
// builders).
var testCache string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tpugen-sim-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testCache = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func join2Top() *Top {
	return &Top{
		Name:  "join2",
		Files: []string{"testdata/join2.v"},
		Ports: []Port{in("clk", 1), in("rst", 1), in("mode", 1),
			in("x_valid", 1), out("x_ready", 1), in("x_data", 16),
			in("y_valid", 1), out("y_ready", 1), in("y_data", 8),
			out("s_valid", 1), in("s_ready", 1), out("s_data", 17),
			out("t_valid", 1), in("t_ready", 1), out("t_data", 24)},
		Clock: "clk",
		Reset: "rst",
		Sources: []Stream{{Name: "x", Valid: "x_valid", Ready: "x_ready", Data: "x_data"},
			{Name: "y", Valid: "y_valid", Ready: "y_ready", Data: "y_data"}},
		Sinks: []Stream{{Name: "s", Valid: "s_valid", Ready: "s_ready", Data: "s_data"},
			{Name: "t", Valid: "t_valid", Ready: "t_ready", Data: "t_data"}},
	}
}

func randomPayloads(r *rand.Rand, n, width int) []*big.Int {
	out := make([]*big.Int, n)
	for i := range out {
		v := new(big.Int)
		for b := 0; b < width; b += 32 {
			v.Lsh(v, 32).Or(v, big.NewInt(int64(r.Uint32())))
		}
		out[i] = v.And(v, mask(width))
	}
	return out
}

// sessionDesign is a design and the cases run on it.
type sessionDesign struct {
	top   func() *Top
	cases []sessionCase
}

// sessionCase is a stimulus that a session must run exactly as
// Verilator.Run does, or fail with the same error.
type sessionCase struct {
	name string
	stim *Stimulus
}

// sessionCases returns the stimuli compared per design: streams with random
// stalls, linger, fixed-length runs, the cycle limit, plain-input changes
// and wide values.
func sessionCases(t *testing.T) []sessionDesign {
	t.Helper()
	r := rand.New(rand.NewPCG(11, 12))

	var counter []Change
	for c := 0; c < 300; c += 1 + r.IntN(5) {
		counter = append([]Change{ // reversed: the session must sort them
			{Cycle: c, Port: "en", Value: big.NewInt(int64(r.IntN(2)))},
			{Cycle: c, Port: "load", Value: big.NewInt(int64(r.IntN(2)))},
			{Cycle: c, Port: "load_val", Value: big.NewInt(int64(r.IntN(256)))},
		}, counter...)
	}

	fifoIn := randomPayloads(r, 2000, 16)
	fifoStalled := &Stimulus{
		Sources:     [][]*big.Int{fifoIn},
		SourceStall: []func(int) bool{stallPattern(5, 0.3, 40000)},
		SinkStall:   []func(int) bool{stallPattern(6, 0.4, 40000)},
		Expect:      []int{2000},
	}

	x, y := randomPayloads(r, 300, 16), randomPayloads(r, 310, 8)
	joinStim := func(expect []int, linger int) *Stimulus {
		return &Stimulus{
			Changes: []Change{{Cycle: 40, Port: "mode", Value: big.NewInt(1)},
				{Cycle: 90, Port: "mode", Value: big.NewInt(0)}},
			Sources:     [][]*big.Int{x, y},
			SourceStall: []func(int) bool{stallPattern(21, 0.2, 5000), stallPattern(22, 0.3, 5000)},
			SinkStall:   []func(int) bool{stallPattern(23, 0.25, 5000), stallPattern(24, 0.35, 5000)},
			Expect:      expect,
			Linger:      linger,
		}
	}

	var wide []Change
	for c, v := range randomPayloads(r, 40, 100) {
		wide = append(wide, Change{Cycle: c, Port: "d", Value: v})
	}
	wide = append(wide, Change{Cycle: 3, Port: "huge_in", Value: randomPayloads(r, 1, 4096)[0]},
		Change{Cycle: 17, Port: "huge_in", Value: mask(4096)})
	widePayloads := append([]*big.Int{mask(100), mask(32), mask(64), mask(96), big.NewInt(0)}, randomPayloads(r, 60, 100)...)

	return []sessionDesign{
		{counterTop, []sessionCase{
			{"changes", &Stimulus{Changes: counter, Cycles: 300}},
			{"one cycle", &Stimulus{Cycles: 1}},
			{"changes beyond the end", &Stimulus{Changes: counter, Cycles: 50}},
		}},
		{fifoTop, []sessionCase{
			{"random stalls", fifoStalled},
			{"empty", &Stimulus{}},
			{"linger", &Stimulus{
				Sources: [][]*big.Int{fifoIn[:30]}, Expect: []int{10}, Linger: 25,
				SinkStall: []func(int) bool{stallPattern(7, 0.5, 200)},
			}},
			{"fixed cycles", &Stimulus{
				Sources: [][]*big.Int{fifoIn[:100]}, Cycles: 60,
				SourceStall: []func(int) bool{stallPattern(8, 0.2, 1000)},
				SinkStall:   []func(int) bool{stallPattern(9, 0.6, 1000)},
			}},
			{"cycle limit", &Stimulus{Sources: [][]*big.Int{fifoIn[:3]}, Expect: []int{10}, MaxCycles: 200}},
			{"cycle limit with a full fifo", &Stimulus{
				Sources: [][]*big.Int{fifoIn[:50]}, Expect: []int{50}, MaxCycles: 77,
				SinkStall: []func(int) bool{func(c int) bool { return c%3 != 0 }},
			}},
			{"stalls past the horizon", &Stimulus{
				Sources: [][]*big.Int{fifoIn[:5]}, Expect: []int{5}, MaxCycles: 5000,
				SinkStall: []func(int) bool{func(c int) bool { return c < 4200 }},
			}},
		}},
		{join2Top, []sessionCase{
			{"both sinks", joinStim([]int{300, 300}, 0)},
			{"linger", joinStim([]int{120, 100}, 60)},
			{"one sink", joinStim([]int{0, 250}, 0)},
			{"fixed cycles", &Stimulus{Sources: [][]*big.Int{x, y[:20]}, Cycles: 100, Changes: []Change{{Cycle: 0, Port: "mode", Value: big.NewInt(1)}}}},
			{"cycle limit", func() *Stimulus { s := joinStim([]int{301, 0}, 0); s.MaxCycles = 3000; return s }()},
		}},
		{wideTop, []sessionCase{
			{"wide", &Stimulus{
				Changes:     wide,
				Sources:     [][]*big.Int{widePayloads},
				SourceStall: []func(int) bool{stallPattern(31, 0.3, 1000)},
				SinkStall:   []func(int) bool{func(c int) bool { return c < 10 || c%7 == 3 }},
				Expect:      []int{len(widePayloads)},
			}},
		}},
		{xregTop, []sessionCase{
			// No reset: every run must start from a fresh model.
			{"fresh state 1", &Stimulus{Expect: []int{5}}},
			{"fresh state 2", &Stimulus{Expect: []int{5}, SinkStall: []func(int) bool{func(c int) bool { return c%2 == 0 }}}},
			{"fresh state 3", &Stimulus{Expect: []int{3}, Linger: 4}},
		}},
	}
}

// TestSessionMatchesRun runs every case through Verilator.Run and through
// one session per design (all cases in a row, then all again) and compares
// the results, or the errors.
func TestSessionMatchesRun(t *testing.T) {
	vl := Verilator{}
	needSim(t, vl)
	t.Parallel()
	cache := testCache
	for _, d := range sessionCases(t) {
		top, cases := d.top, d.cases
		t.Run(top().Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, err := vl.Open(ctx, top(), opts(t, cache))
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := s.Close(); err != nil {
					t.Error(err)
				}
			}()
			want := make([]*Result, len(cases))
			wantErr := make([]error, len(cases))
			for i, c := range cases {
				want[i], wantErr[i] = vl.Run(ctx, top(), c.stim, opts(t, cache))
			}
			for round := range 2 {
				for i, c := range cases {
					got, err := s.Run(ctx, c.stim)
					switch {
					case wantErr[i] != nil || err != nil:
						if wantErr[i] == nil || err == nil || err.Error() != wantErr[i].Error() {
							t.Errorf("%s (round %d): session error\n%v\nRun error\n%v", c.name, round, err, wantErr[i])
						}
					default:
						if d := sameRun(want[i], got); d != "" {
							t.Errorf("%s (round %d): session and Run differ (-run +session):\n%s", c.name, round, d)
						}
						if got.Sim != "verilator" || got.SimTime <= 0 {
							t.Errorf("%s: Sim %q, SimTime %v", c.name, got.Sim, got.SimTime)
						}
					}
				}
			}
		})
	}
}

// TestSessionFIFOModel checks the FIFO's session results against the
// properties TestFIFO checks, so the comparison above does not only rest on
// the file-based harness.
func TestSessionFIFOModel(t *testing.T) {
	vl := Verilator{}
	needSim(t, vl)
	t.Parallel()
	s, err := vl.Open(context.Background(), fifoTop(), opts(t, testCache))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 2000
	payloads := randomPayloads(rand.New(rand.NewPCG(3, 4)), n, 16)
	srcStall, sinkStall := stallPattern(5, 0.3, 20*n), stallPattern(6, 0.4, 20*n)
	res, err := s.Run(context.Background(), &Stimulus{
		Sources:     [][]*big.Int{payloads},
		SourceStall: []func(int) bool{srcStall},
		SinkStall:   []func(int) bool{sinkStall},
		Expect:      []int{n},
	})
	if err != nil {
		t.Fatal(err)
	}
	checkFIFO(t, res, payloads, srcStall, sinkStall)

	// A payload too wide is refused with Run's message; the session goes on.
	bad := &Stimulus{Sources: [][]*big.Int{{big.NewInt(1), big.NewInt(1 << 16)}}, Expect: []int{2}}
	_, err = s.Run(context.Background(), bad)
	want := `sim: fifo4: bad stimulus: source "in" payload 1: value 0x10000 does not fit 16 bits`
	if err == nil || err.Error() != want {
		t.Errorf("too wide a payload: got error %v, want %q", err, want)
	}
	bad.Sources[0][1] = big.NewInt(2)
	if res, err := s.Run(context.Background(), bad); err != nil || len(res.Sinks[0]) != 2 {
		t.Errorf("run after a refused one: %+v, %v", res, err)
	}
}

// TestSessionManyRuns keeps one session busy for thousands of small runs
// from several goroutines, some of them failing (cycle limit, bad
// stimulus), and checks each against the FIFO's contract; a sample is
// compared with Verilator.Run.
func TestSessionManyRuns(t *testing.T) {
	vl := Verilator{}
	needSim(t, vl)
	t.Parallel()
	ctx := context.Background()
	s, err := vl.Open(ctx, fifoTop(), opts(t, testCache))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const runs, workers = 3000, 3
	type outcome struct {
		stim *Stimulus
		res  *Result
		err  error
	}
	outcomes := make([]outcome, runs)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 99))
			for i := w; i < runs; i += workers {
				n := r.IntN(12)
				stim := &Stimulus{
					Sources:     [][]*big.Int{randomPayloads(r, n, 16)},
					SourceStall: []func(int) bool{stallPattern(uint64(i), 0.3, 100)},
					SinkStall:   []func(int) bool{stallPattern(uint64(i)+runs, 0.3, 100)},
					Expect:      []int{n},
				}
				switch i % 100 {
				case 17:
					stim.Expect[0] = n + 1
					stim.MaxCycles = 60
				case 41:
					stim.Expect[0] = -1
				}
				res, err := s.Run(ctx, stim)
				outcomes[i] = outcome{stim, res, err}
			}
		}()
	}
	wg.Wait()
	for i, o := range outcomes {
		switch {
		case i%100 == 17:
			if o.err == nil || !strings.Contains(o.err.Error(), "cycle limit 60 reached") {
				t.Errorf("run %d: got error %v, want the cycle limit", i, o.err)
			}
		case i%100 == 41:
			if o.err == nil || !strings.Contains(o.err.Error(), "negative expected beats") {
				t.Errorf("run %d: got error %v, want a bad stimulus", i, o.err)
			}
		case o.err != nil:
			t.Fatalf("run %d: %v", i, o.err)
		case len(o.stim.Sources[0]) == 0:
			if o.res.Cycles != 1 || o.res.Sinks[0] != nil || o.res.Sources[0] != nil {
				t.Errorf("run %d: empty run gave %+v", i, o.res)
			}
		default:
			checkFIFO(t, o.res, o.stim.Sources[0], o.stim.SourceStall[0], o.stim.SinkStall[0])
		}
		if i%250 == 0 && o.err == nil {
			want, err := vl.Run(ctx, fifoTop(), o.stim, opts(t, testCache))
			if err != nil {
				t.Fatal(err)
			}
			if d := sameRun(want, o.res); d != "" {
				t.Errorf("run %d: session and Run differ (-run +session):\n%s", i, d)
			}
		}
	}
}

// TestSessionCrash checks that a harness that dies in a run ($fatal) is
// reported with its message, that the session then refuses runs, and that
// a new session works.
func TestSessionCrash(t *testing.T) {
	vl := Verilator{}
	needSim(t, vl)
	t.Parallel()
	top := &Top{Name: "crash", Files: []string{"testdata/crash.v"},
		Ports: []Port{in("clk", 1), in("boom", 1), out("q", 4)}, Clock: "clk"}
	cache := t.TempDir()
	ctx := context.Background()
	s, err := vl.Open(ctx, top, opts(t, cache))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(ctx, &Stimulus{Cycles: 20}); err != nil {
		t.Fatal(err)
	}
	// q also counts the two reset edges: it is 9 at the edge ending cycle 7.
	_, err = s.Run(ctx, &Stimulus{Cycles: 20, Changes: []Change{{Cycle: 7, Port: "boom", Value: big.NewInt(1)}}})
	if err == nil || !strings.Contains(err.Error(), "harness exited") || !strings.Contains(err.Error(), "boom at q=9") {
		t.Errorf("got error %v, want one saying the harness exited, with the design's message", err)
	}
	_, err2 := s.Run(ctx, &Stimulus{Cycles: 20})
	if err2 == nil || !strings.Contains(err2.Error(), "harness exited") {
		t.Errorf("run after the crash: got error %v, want the crash again", err2)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close after a crash: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Run(ctx, &Stimulus{Cycles: 20}); err == nil || !strings.Contains(err.Error(), "session closed") {
		t.Errorf("run after Close: got error %v", err)
	}

	s, err = vl.Open(ctx, top, opts(t, cache))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Run(ctx, &Stimulus{Cycles: 20})
	if err != nil || got.Cycles != 20 || !got.BuildCached {
		t.Fatalf("new session: %+v, %v", got, err)
	}
	want, err := vl.Run(ctx, top, &Stimulus{Cycles: 20}, opts(t, cache))
	if err != nil {
		t.Fatal(err)
	}
	if d := sameRun(want, got); d != "" {
		t.Errorf("session and Run differ (-run +session):\n%s", d)
	}
	// The session's build is cached apart from Run's.
	entries, _ := filepath.Glob(filepath.Join(cache, "verilator", "*"))
	if len(entries) != 2 {
		t.Errorf("cache holds %v, want the session's and Run's binaries", entries)
	}
}

// TestSessionCancel checks that ending a run's context kills a long run
// and that the session then reports why it cannot run.
func TestSessionCancel(t *testing.T) {
	vl := Verilator{}
	needSim(t, vl)
	t.Parallel()
	s, err := vl.Open(context.Background(), fifoTop(), opts(t, testCache))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	// One payload but two beats expected: the run would go on to the limit.
	_, err = s.Run(ctx, &Stimulus{Sources: [][]*big.Int{{big.NewInt(1)}}, Expect: []int{2}, MaxCycles: 1_000_000_000})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got error %v, want context.DeadlineExceeded", err)
	}
	_, err = s.Run(context.Background(), &Stimulus{Expect: []int{0}})
	switch {
	case err == nil:
		// Only if the deadline passed before the run was sent, so that
		// nothing needed killing: possible on a very busy machine.
		t.Log("the deadline passed before the run started")
	case !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "session killed"):
		t.Errorf("run after the cancel: got error %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	// A run whose context has already ended does not touch the harness.
	s, err = vl.Open(context.Background(), fifoTop(), opts(t, testCache))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	if _, err := s.Run(done, &Stimulus{Expect: []int{0}}); !errors.Is(err, context.Canceled) {
		t.Errorf("run with an ended context: got error %v", err)
	}
	if _, err := s.Run(context.Background(), &Stimulus{Expect: []int{0}}); err != nil {
		t.Errorf("run after a refused run: %v", err)
	}
}

// TestSessionUnsupported checks the clear errors for what sessions do not
// do, and that they leave the session usable.
func TestSessionUnsupported(t *testing.T) {
	vl := Verilator{}
	needSim(t, vl)
	t.Parallel()
	cache := testCache
	opt := opts(t, cache)
	opt.VCD = filepath.Join(t.TempDir(), "wave.vcd")
	if _, err := vl.Open(context.Background(), counterTop(), opt); err == nil || !strings.Contains(err.Error(), "Options.VCD") {
		t.Errorf("Open with a VCD: got error %v", err)
	}
	s, err := vl.Open(context.Background(), counterTop(), opts(t, cache))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Run(context.Background(), &Stimulus{Cycles: 5, Trace: true})
	want := "sim: counter8 (verilator): a session does not record traces (Stimulus.Trace): use Verilator.Run"
	if err == nil || err.Error() != want {
		t.Errorf("traced run: got error %v, want %q", err, want)
	}
	if res, err := s.Run(context.Background(), &Stimulus{Cycles: 5}); err != nil || res.Cycles != 5 {
		t.Errorf("run after a refused one: %+v, %v", res, err)
	}
}

// TestSessionRequest pins the request encoding documented in the package
// comment.
func TestSessionRequest(t *testing.T) {
	top := fifoTop()
	top.Ports = append(top.Ports, in("mode", 70))
	l, err := newLayout(top)
	if err != nil {
		t.Fatal(err)
	}
	big70 := new(big.Int).Lsh(big.NewInt(3), 64) // limbs 0, 3
	stim := &Stimulus{
		Changes: []Change{
			{Cycle: 5, Port: "mode", Value: big.NewInt(0xabc)},
			{Cycle: 0, Port: "mode", Value: big70},
		},
		Sources:     [][]*big.Int{{big.NewInt(0x12), big.NewInt(0xbeef)}},
		SourceStall: []func(int) bool{func(c int) bool { return c == 1 || c == 65 }},
		Expect:      []int{2},
		Linger:      4,
	}
	if err := l.checkStimulus(stim); err != nil {
		t.Fatal(err)
	}
	b, ok := appendRequest(nil, l, stim)
	if !ok {
		t.Fatal("appendRequest refused a checked stimulus")
	}
	var got []uint64
	for i := 0; i+8 <= len(b); i += 8 {
		got = append(got, binary.LittleEndian.Uint64(b[i:]))
	}
	want := []uint64{
		sessionRequest, 20,
		0, DefaultMaxCycles, 4, 2, // cycles, max cycles, linger, changes
		2, 66, // source 0: payloads, stall bits
		2, 0, // sink 0: expected beats, stall bits
		0, 8, 0, 3, // change: cycle, port, limbs
		5, 8, 0xabc, 0,
		0x12, 0xbeef, // source 0 payloads
		1 << 1, 1 << 1, // source 0 stall bitmap: cycles 1 and 65
	}
	if len(got) != len(want) {
		t.Fatalf("request has %d words, want %d: %#x", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("word %d = %#x, want %#x", i, got[i], want[i])
		}
	}

	// Payloads are checked while they are encoded.
	for _, bad := range []*big.Int{nil, big.NewInt(-1), big.NewInt(1 << 16)} {
		stim.Sources[0][1] = bad
		if err := l.checkStimulusOf(stim, false); err != nil {
			t.Fatal(err)
		}
		if _, ok := appendRequest(nil, l, stim); ok {
			t.Errorf("payload %v: appendRequest accepted it", bad)
		}
	}
}
