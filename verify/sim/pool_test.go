package sim

import (
	"context"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSessionsPool runs a FIFO through the session pool: the same results as
// Verilator.Run, one session reused across runs, a new one once a design
// file changes, and waveform runs handed to Run.
func TestSessionsPool(t *testing.T) {
	needSim(t, Verilator{})
	dir := t.TempDir()
	src, err := os.ReadFile("testdata/fifo4.v")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "fifo4.v")
	if err := os.WriteFile(file, src, 0o644); err != nil {
		t.Fatal(err)
	}
	top := fifoTop()
	top.Files = []string{file}
	var payloads []*big.Int
	for i := 0; i < 300; i++ {
		payloads = append(payloads, big.NewInt(int64(i*37%65536)))
	}
	stim := &Stimulus{Sources: [][]*big.Int{payloads}, Expect: []int{len(payloads)},
		SourceStall: []func(int) bool{stallPattern(1, 0.3, 2000)}, SinkStall: []func(int) bool{stallPattern(2, 0.4, 2000)}}
	cache := testCache
	pool := NewSessions(Verilator{})
	defer pool.Close()
	want, err := Verilator{}.Run(context.Background(), top, stim, opts(t, cache))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		got, err := pool.Run(context.Background(), top, stim, opts(t, cache))
		if err != nil {
			t.Fatal(err)
		}
		if d := sameRun(want, got); d != "" {
			t.Fatalf("run %d through the pool differs from Run:\n%s", i, d)
		}
	}
	if n := len(pool.open); n != 1 {
		t.Errorf("%d sessions open after three runs of one design, want 1", n)
	}
	// A changed file is a new design: here the FIFO passes data inverted.
	changed := strings.Replace(string(src), "assign out_data  = ", "assign out_data  = ~", 1)
	if changed == string(src) {
		t.Fatal("testdata/fifo4.v has no 'assign out_data  = ' to change")
	}
	if err := os.WriteFile(file, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := pool.Run(context.Background(), top, stim, opts(t, cache))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Sinks[0]) == 0 || got.Sinks[0][1].Data.Cmp(want.Sinks[0][1].Data) == 0 {
		t.Error("the pool ran the old design after its file changed")
	}
	if n := len(pool.open); n != 2 {
		t.Errorf("%d sessions open after a file change, want 2", n)
	}
	// A waveform run goes to Run and writes the file.
	o := opts(t, cache)
	o.VCD = filepath.Join(dir, "w.vcd")
	if _, err := pool.Run(context.Background(), top, stim, o); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(o.VCD); err != nil {
		t.Errorf("no waveform: %v", err)
	}
}
