package soak

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/gen"
	"github.com/tpugen/tpugen/verify/sim"
)

func needVerilator(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("verilator"); err != nil {
		if os.Getenv("TPUGEN_REQUIRE_SIMS") != "" {
			t.Fatal("verilator not found in PATH and TPUGEN_REQUIRE_SIMS is set: run scripts/setup.sh")
		}
		t.Skip("verilator not found in PATH: run scripts/setup.sh")
	}
}

// defaultRTL writes the default configuration's RTL into a temporary
// directory.
func defaultRTL(t *testing.T) (*arch.Manifest, string) {
	t.Helper()
	out, err := gen.Generate(gen.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "default")
	if err := out.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	man, err := arch.LoadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	return man, dir
}

// TestSoakShort is the soak's short version: 10^4 beats with random
// valid/ready on every stream of the default unit, nothing lost,
// duplicated or reordered, bit-exact.
func TestSoakShort(t *testing.T) {
	needVerilator(t)
	man, dir := defaultRTL(t)
	p := sim.NewSessions(sim.Verilator{})
	defer p.Close()
	rep, err := Soak(context.Background(), p, man, dir, Options{Transactions: 10_000, Seed: 3, Only: -1, MaxRows: 128, Log: t.Output()})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed > 0 || rep.Mismatches > 0 {
		t.Fatalf("%d of %d runs failed, %d mismatches: %s", rep.Failed, rep.Runs, rep.Mismatches, strings.Join(rep.Failures, "\n"))
	}
	if rep.Transactions < 10_000 {
		t.Errorf("%d transactions, want at least 10000", rep.Transactions)
	}
	for _, s := range man.Streams {
		if rep.Streams[s.Name] == 0 {
			t.Errorf("stream %s carried no beat", s.Name)
		}
	}
}

// TestSoakCatchesDroppedBackpressure runs the soak on a unit whose result
// stream ignores y_out_ready (beats are lost whenever the sink stalls):
// the soak must fail.
func TestSoakCatchesDroppedBackpressure(t *testing.T) {
	needVerilator(t)
	man, dir := defaultRTL(t)
	path := filepath.Join(dir, man.Top+".v")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Every use of the port, outside its declaration, reads 1.
	use := regexp.MustCompile(`\by_out_ready\b`)
	lines := strings.Split(string(src), "\n")
	for i, l := range lines {
		if !strings.Contains(l, "input") {
			lines[i] = use.ReplaceAllString(l, "1'b1")
		}
	}
	broken := strings.Join(lines, "\n")
	if broken == string(src) {
		t.Fatalf("%s has no use of y_out_ready to break", path)
	}
	if err := os.WriteFile(path, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	p := sim.NewSessions(sim.Verilator{})
	defer p.Close()
	rep, err := Soak(context.Background(), p, man, dir, Options{Transactions: 10_000, Seed: 3, Only: -1, MaxRows: 64})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed == 0 {
		t.Fatalf("the soak passed %d runs of a unit that drops y_out beats under backpressure", rep.Runs)
	}
	t.Logf("%d of %d runs failed, as they should: %s", rep.Failed, rep.Runs, rep.Failures[0])
}
