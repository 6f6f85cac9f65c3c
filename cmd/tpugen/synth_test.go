package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tpugen/tpugen/internal/rtltest"
)

func TestSynthSweepHelp(t *testing.T) {
	flags := map[string][]string{
		"synth": {"-config", "-rtl", "-target", "-dsp", "-seeds", "-freq", "-json", "-baseline", "-estimate", "-keep", "-v",
			"ice40-hx8k", "ice40-up5k", "xilinx", "ecp5", "generic"},
		"sweep": {"-config", "-rows", "-cols", "-dataflow", "-bits", "-mac", "-target", "-out", "-model", "-seeds", "-batch", "-jobs"},
	}
	for cmd, want := range flags {
		r := tpugen(t, cmd, "-h")
		if r.code != exitOK || r.stderr != "" {
			t.Errorf("tpugen %s -h: exit %d, stderr %q", cmd, r.code, r.stderr)
		}
		for _, w := range append(want, "Usage: tpugen "+cmd, "Examples:\n  tpugen "+cmd) {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("tpugen %s -h lacks %q:\n%s", cmd, w, r.stdout)
			}
		}
	}
}

func TestSynthSweepErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := smallConfig(t, dir, "ws")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"synth", "-target", "virtex"}, `-target: unknown target "virtex" (want ice40-hx8k, ice40-up5k, xilinx, ecp5, generic)`},
		{[]string{"synth", "-dsp"}, "-dsp: the iCE40 HX8K has no DSP blocks (SB_MAC16); use -target ice40-up5k or drop -dsp"},
		{[]string{"synth", "-target", "generic", "-dsp"}, "-dsp: the generic target has no DSP blocks"},
		{[]string{"synth", "-seeds", "0"}, "-seeds 0: want 1 to 100"},
		{[]string{"synth", "-config", "no/such.json"}, "no/such.json"},
		{[]string{"synth", "-config", cfg, "-rtl", dir}, "-config and -rtl are exclusive"},
		{[]string{"synth", "-baseline", "no/such.v"}, "-baseline: stat no/such.v"},
		{[]string{"synth", "-json", "no/such/dir/r.json"}, "-json: directory no/such/dir does not exist"},
		{[]string{"synth", "extra"}, `unexpected argument "extra"`},
		{[]string{"sweep", "-rows", "4,x"}, `-rows "4,x": "x" is not a positive integer`},
		{[]string{"sweep", "-cols", "0"}, `-cols "0": "0" is not a positive integer`},
		{[]string{"sweep", "-dataflow", "ws,rs"}, `-dataflow "ws,rs": dataflow "rs" must be "ws" or "os"`},
		{[]string{"sweep", "-mac", "fast"}, `-mac "fast": mac "fast" must be "split", "fused", "xnor" or "csa"`},
		{[]string{"sweep", "-target", "virtex"}, `unknown target "virtex"`},
		{[]string{"sweep", "-config", "no/such.json"}, "no/such.json"},
		{[]string{"sweep", "-rows", "300"}, "rows 300"},
		{[]string{"sweep", "-bits", "5"}, "input_bits 5"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			tpugen(t, tc.args...).wantUserError(t, tc.args[0], tc.want)
		})
	}
}

func TestSynthMissingTools(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	tpugen(t, "synth").wantUserError(t, "synth", "yosys not found in PATH: run scripts/setup.sh")
	tpugen(t, "sweep", "-rows", "2").wantUserError(t, "sweep", "yosys not found in PATH: run scripts/setup.sh")
}

// TestSynthICE40 runs Yosys and nextpnr-ice40 on a 2x2 unit without the
// pipeline, with the JSON report.
func TestSynthICE40(t *testing.T) {
	rtltest.RequireTools(t, "yosys", "nextpnr-ice40")
	dir := t.TempDir()
	cfg := smallConfig(t, dir, "ws")
	js := filepath.Join(dir, "r.json")
	r := tpugen(t, "synth", "-config", cfg, "-seeds", "1", "-json", js)
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	for _, w := range []string{"t2x2ws: 2x2 ws", "on iCE40 HX8K (ct256), LUT multipliers", "| LUTs ", "| block RAMs (SB_RAM40_4K) |",
		"Fmax ", "median of 1 seeds", "critical path: ", "accumulator memory alone (accumulator_c2_d8_s32: 2 lanes x 8 rows x 32 bits)"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("report lacks %q:\n%s", w, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "place and route seed 1") {
		t.Errorf("no progress on stderr: %q", r.stderr)
	}
	data, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Config         struct{ Rows, Cols int }
		Target, Device string
		Tools          []string
		Fits           bool
		Design         struct {
			Resources struct {
				LUTs  int `json:"luts"`
				FFs   int `json:"ffs"`
				BRAMs int `json:"brams"`
			}
			Utilization []struct {
				Resource  string
				Used      int
				Available int
				Share     float64
			}
			Timing struct {
				FmaxMHz  float64 `json:"fmax_mhz"`
				Seeds    []struct{ Seed int }
				Critical struct {
					From, To string
					DelayNs  float64 `json:"delay_ns"`
				} `json:"critical_path"`
			}
		}
		Accumulator struct {
			Module    string
			Resources struct{ LUTs, BRAMs int }
		}
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	d := rep.Design
	if rep.Config.Rows != 2 || rep.Target != "ice40-hx8k" || rep.Device != "iCE40 HX8K" || !rep.Fits || len(rep.Tools) != 2 {
		t.Errorf("report header %+v", rep)
	}
	if d.Resources.LUTs == 0 || d.Resources.FFs == 0 || len(d.Utilization) != 5 || d.Utilization[0].Available != 7680 ||
		d.Utilization[0].Share != float64(d.Resources.LUTs)/7680 {
		t.Errorf("resources %+v, utilization %+v", d.Resources, d.Utilization)
	}
	if tm := d.Timing; tm.FmaxMHz < 20 || len(tm.Seeds) != 1 || tm.Critical.From == "" || tm.Critical.To == "" || tm.Critical.DelayNs <= 0 {
		t.Errorf("timing %+v", tm)
	}
	if rep.Accumulator.Module != "accumulator_c2_d8_s32" || rep.Accumulator.Resources.LUTs == 0 {
		t.Errorf("accumulator %+v", rep.Accumulator)
	}
}

// TestSynthDoesNotFit: a unit larger than the device is reported with
// what to shrink, is not placed, and exits 2.
func TestSynthDoesNotFit(t *testing.T) {
	rtltest.RequireTools(t, "yosys")
	dir := t.TempDir()
	cfg := writeFile(t, dir, "big.json", `{"name": "big", "rows": 2, "cols": 2, "acc_depth": 2048}`)
	r := tpugen(t, "synth", "-config", cfg, "-target", "ice40-up5k")
	r.wantLastLine(t, "synth", "big does not fit the iCE40 UP5K: needs 32 block RAMs, the UP5K has 30: 107%; lower acc_depth (now 2048)")
	if !strings.Contains(r.stdout, "DOES NOT FIT") || strings.Contains(r.stdout, "Fmax") {
		t.Errorf("the report lacks the overflow or has timing:\n%s", r.stdout)
	}
}

// wantLastLine checks a user error after progress lines: exit status 2
// and the last line of stderr "tpugen <cmd>: ..." containing want.
func (r result) wantLastLine(t *testing.T, cmd, want string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	if r.code != exitUsage || !strings.HasPrefix(last, "tpugen "+cmd+": ") || !strings.Contains(last, want) {
		t.Errorf("exit %d, last line of stderr %q; want 2 and a line containing %q", r.code, last, want)
	}
}

func TestThousandsAndTable(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 7680: "7,680", 1234567: "1,234,567", -9120: "-9,120"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
	var b strings.Builder
	tb := &table{head: []string{"a", "bb"}}
	tb.add("x", "1")
	tb.add("long", "1,000")
	tb.write(&b)
	want := "| a    | bb    |\n|------|------:|\n| x    |     1 |\n| long | 1,000 |\n"
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
}
