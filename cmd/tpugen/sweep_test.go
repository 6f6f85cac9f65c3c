package main

import (
	"encoding/csv"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tpugen/tpugen/internal/rtltest"
)

// TestSweep sweeps one tiny configuration with the real Yosys: the CSV's
// columns, the cycle model's figures and both plots in PNG and SVG.
func TestSweep(t *testing.T) {
	rtltest.RequireTools(t, "yosys")
	dir := t.TempDir()
	base := writeFile(t, dir, "base.json", `{"name": "tiny", "rows": 1, "cols": 1, "acc_depth": 8, "requant": true, "rounding": "single", "pool": true, "param_sets": 2}`)
	out := filepath.Join(dir, "out")
	r := tpugen(t, "sweep", "-config", base, "-rows", "1", "-dataflow", "ws", "-target", "generic", "-out", out, "-model", "../../"+defaultModel, "-batch", "1")
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	f, err := os.Open(filepath.Join(out, "sweep.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := "config,rows,cols,dataflow,bits,mac,target,cells,ffs,dsps,brams,fits,fmax_mhz,cycles_per_image,images_per_s,utilization,note"
	if len(recs) != 2 || strings.Join(recs[0], ",") != want {
		t.Fatalf("sweep.csv = %q, want the header %q and one row", recs, want)
	}
	row := map[string]string{}
	for i, k := range recs[0] {
		row[k] = recs[1][i]
	}
	if row["config"] != "r1c1_ws_b8_split" || row["cells"] == "0" || row["fmax_mhz"] != "-" || row["images_per_s"] != "-" || row["note"] != "" {
		t.Errorf("row %v", row)
	}
	// A 1x1 array does one MAC per cycle: cycles per image are at least
	// LeNet-5's MACs per image, and utilization is near one.
	if c := row["cycles_per_image"]; len(c) < 6 || !strings.HasPrefix(row["utilization"], "0.9") {
		t.Errorf("cycles per image %s, utilization %s", c, row["utilization"])
	}
	for _, name := range []string{"throughput", "utilization"} {
		p, err := os.Open(filepath.Join(out, name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(p); err != nil {
			t.Errorf("%s.png: %v", name, err)
		}
		p.Close()
		if svg, err := os.ReadFile(filepath.Join(out, name+".svg")); err != nil || !strings.Contains(string(svg), "<svg") {
			t.Errorf("%s.svg: %v", name, err)
		}
	}
	if !strings.Contains(r.stdout, "| r1c1_ws_b8_split |") || !strings.Contains(r.stderr, "1 of 1 done") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
}

func TestPareto(t *testing.T) {
	area := []float64{10, 20, 15, 30, 5}
	thr := []float64{1, 3, 1, 2, 0}
	if got := pareto(area, thr); len(got) != 2 || got[0] != 0 || got[1] != 1 {
		t.Errorf("pareto = %v, want [0 1]", got)
	}
}
