package mutation

import (
	"context"
	"os/exec"
	"testing"

	"github.com/tpugen/tpugen/verify/sim"
)

// TestExtraCasesPass runs the targeted cases on the unmutated default and
// small designs: they must pass (a failing one would kill every mutant).
func TestExtraCasesPass(t *testing.T) {
	if _, err := exec.LookPath("verilator"); err != nil {
		needTools(t)
	}
	for _, name := range []string{"default", "small"} {
		d := writeDesign(t, name)
		if n := len(ExtraCases(d.Manifest.Config, 1)); n < 8 {
			t.Errorf("%s: %d targeted cases, want at least 8", name, n)
		}
		p := sim.NewSessions(sim.Verilator{})
		failed, n, err := runExtra(context.Background(), p, d.Manifest, d.Dir, 1, sim.Options{})
		p.Close()
		if err != nil || failed != "" {
			t.Errorf("%s: targeted cases on the original design: %q, %v (after %d cases)", name, failed, err, n)
		}
	}
}
