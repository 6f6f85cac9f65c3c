package fpga

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "run the tools on testdata/mac.v again (when installed), capture their outputs into testdata and rewrite the golden files")

// requireTools skips t when a program is missing, or fails it when
// TPUGEN_REQUIRE_SIMS is set.
func requireTools(t *testing.T, bins ...string) {
	t.Helper()
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv("TPUGEN_REQUIRE_SIMS") != "" {
				t.Fatalf("%s not found in PATH and TPUGEN_REQUIRE_SIMS is set: run scripts/setup.sh", b)
			}
			t.Skipf("%s not found in PATH: run scripts/setup.sh (set TPUGEN_REQUIRE_SIMS=1 to fail instead)", b)
		}
	}
}

func target(t *testing.T, name string) *Target {
	t.Helper()
	tg, err := LookupTarget(name)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// captures are the tool outputs kept in testdata: the file the tools write
// in the work directory, and its name in testdata.
var captures = [][2]string{
	{"mac-ice40.stat.json", "mac-ice40.stat.json"},
	{"mac-ice40-dsp.stat.json", "mac-ice40-dsp.stat.json"},
	{"mac-xilinx.stat.json", "mac-xilinx.stat.json"},
	{"mac-ecp5.stat.json", "mac-ecp5.stat.json"},
	{"mac-generic.stat.json", "mac-generic.stat.json"},
	{"mac-generic.mem.json", "mac-generic.mem.json"},
	{"mac-ports.json", "mac-ports.json"},
	{"mac-wrapped-ice40.netlist.json", "mac-wrapped-ice40.netlist.json"},
	{"mac-wrapped-ice40-seed1.report.json", "mac-hx8k.report.json"},
	{"mac-wrapped-ice40-seed1.pnr.log", "mac-hx8k.pnr.log"},
	{"mac-wrapped-ice40-dsp-seed1.pnr.log", "mac-dsp-on-hx8k.pnr.log"},
}

// yosysShare matches the path of Yosys' techmap library.
var yosysShare = regexp.MustCompile(`/[^\s":]*/share/yosys/`)

// capture runs the tools on testdata/mac.v and copies their outputs into
// testdata, with the work directory's path removed.
func capture(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src, err := os.ReadFile("testdata/mac.v")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mac.v"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	tools := &Tools{}
	d := Design{Name: "mac", Top: "mac", Files: []string{filepath.Join(dir, "mac.v")}, Clock: "clk"}
	for _, s := range []Synth{{Target: target(t, "ice40-hx8k")}, {Target: target(t, "ice40-up5k"), DSP: true},
		{Target: target(t, "xilinx")}, {Target: target(t, "ecp5")}, {Target: target(t, "generic")}} {
		if _, err := tools.Synthesize(ctx, dir, d, s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tools.Ports(ctx, dir, d); err != nil {
		t.Fatal(err)
	}
	f := &Flow{Tools: tools, Dir: dir, Target: target(t, "ice40-hx8k"), Seeds: 1, FreqMHz: 100}
	if _, err := f.Run(ctx, d); err != nil {
		t.Fatal(err)
	}
	// The design mapped with its SB_MAC16, placed on the HX8K, which has
	// none: nextpnr's refusal.
	w, err := f.wrap(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	s, err := tools.Synthesize(ctx, dir, w, Synth{Target: target(t, "ice40-up5k"), DSP: true, Netlist: true})
	if err != nil {
		t.Fatal(err)
	}
	var nf *DoesNotFitError
	if _, err := tools.Place(ctx, dir, s.Netlist, target(t, "ice40-hx8k"), 1, 100, nil); !errors.As(err, &nf) {
		t.Fatalf("placing mac with a DSP on an HX8K: %v, want a DoesNotFitError", err)
	}
	for _, c := range captures {
		data, err := os.ReadFile(filepath.Join(dir, c[0]))
		if err != nil {
			t.Fatal(err)
		}
		// No machine paths in testdata: the work directory goes, and Yosys'
		// own library (in source attributes and nextpnr's path report) is
		// named "yosys-share/".
		data = bytes.ReplaceAll(data, []byte(dir+string(filepath.Separator)), nil)
		data = yosysShare.ReplaceAll(data, []byte("yosys-share/"))
		if bytes.Contains(data, []byte(dir)) {
			t.Fatalf("%s still names the work directory", c[0])
		}
		if err := os.WriteFile(filepath.Join("testdata", c[1]), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("%v (go test ./fpga -update captures it)", err)
	}
	return data
}

// golden compares got with testdata/name, or writes it with -update. A
// missing golden file is a failure.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./fpga -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what the code produces now (run go test ./fpga -update and review the diff):\n%s", path, got)
	}
}

// parsed is everything the parsers read from the captured outputs.
type parsed struct {
	Stat        map[string]Resources `json:"stat"`
	Ports       []Port               `json:"ports"`
	Report      *PnR                 `json:"report"`
	Utilization []BelUse             `json:"log_utilization"`
	Overflow    *DoesNotFitError     `json:"overflow"`
}

// TestCapturedOutputs parses real Yosys and nextpnr-ice40 outputs of
// testdata/mac.v and compares the results with testdata/parsed.golden.
func TestCapturedOutputs(t *testing.T) {
	if *update {
		if _, err := exec.LookPath("yosys"); err == nil {
			if _, err := exec.LookPath("nextpnr-ice40"); err == nil {
				capture(t)
			}
		}
	}
	var p parsed
	p.Stat = map[string]Resources{}
	for _, c := range []struct {
		file   string
		family Family
	}{{"mac-ice40.stat.json", ICE40}, {"mac-ice40-dsp.stat.json", ICE40}, {"mac-xilinx.stat.json", Xilinx},
		{"mac-ecp5.stat.json", ECP5}, {"mac-generic.stat.json", Generic}} {
		r, err := ParseStat(readTestdata(t, c.file), c.family, "mac")
		if err != nil {
			t.Fatal(err)
		}
		if c.family == Generic {
			if r.MemoryBits, err = parseMemoryBits(readTestdata(t, "mac-generic.mem.json"), "mac"); err != nil {
				t.Fatal(err)
			}
		}
		p.Stat[c.file] = r
	}
	var err error
	if p.Ports, err = ParsePorts(readTestdata(t, "mac-ports.json"), "mac"); err != nil {
		t.Fatal(err)
	}
	names, err := ParseNames(readTestdata(t, "mac-wrapped-ice40.netlist.json"), WrapperTop, "dut.")
	if err != nil {
		t.Fatal(err)
	}
	if p.Report, err = ParseReport(readTestdata(t, "mac-hx8k.report.json"), names); err != nil {
		t.Fatal(err)
	}
	p.Utilization = ParseUtilization(readTestdata(t, "mac-hx8k.pnr.log"))
	p.Overflow = parseOverflow(readTestdata(t, "mac-dsp-on-hx8k.pnr.log"))
	got, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "parsed.golden", append(got, '\n'))

	// What the golden file must say, whatever the tools' versions.
	ice := p.Stat["mac-ice40.stat.json"]
	if ice.BRAMs != 1 || ice.DSPs != 0 || ice.LUTs == 0 || ice.FFs < 40 {
		t.Errorf("mac on iCE40: %+v, want one block RAM, no DSP, LUTs and at least 40 flip-flops", ice)
	}
	if dsp := p.Stat["mac-ice40-dsp.stat.json"]; dsp.DSPs != 1 {
		t.Errorf("mac on iCE40 with -dsp: %d SB_MAC16, want 1", dsp.DSPs)
	}
	if g := p.Stat["mac-generic.stat.json"]; g.Memories != 1 || g.MemoryBits != 256*16 {
		t.Errorf("mac generic: %d memories of %d bits, want 1 of 4096", g.Memories, g.MemoryBits)
	}
	if len(p.Ports) != 8 || p.Ports[0].Name != "clk" || !p.Ports[6].Output || p.Ports[6].Width != 24 {
		t.Errorf("ports = %+v, want clk first and acc[23:0] the seventh, an output", p.Ports)
	}
	if r := p.Report; r.FmaxMHz <= 0 || r.Critical == nil || r.Critical.From == "" || strings.Contains(r.Critical.To, "_SB_") || r.Critical.Levels == 0 {
		t.Errorf("report = %+v %+v, want an Fmax and a critical path with RTL names", r, r.Critical)
	}
	if len(p.Utilization) == 0 || p.Utilization[0].Bel != "ICESTORM_LC" {
		t.Errorf("log utilization = %+v, want ICESTORM_LC first", p.Utilization)
	}
	if p.Overflow == nil || !strings.Contains(p.Overflow.Message, "ICESTORM_DSP") {
		t.Errorf("overflow = %+v, want nextpnr's refusal naming ICESTORM_DSP", p.Overflow)
	}
}

// TestWrapperGolden wraps testdata/mac.v's ports.
func TestWrapperGolden(t *testing.T) {
	ports, err := ParsePorts(readTestdata(t, "mac-ports.json"), "mac")
	if err != nil {
		t.Fatal(err)
	}
	v, err := Wrapper("mac", "clk", map[string]string{"W": "8"}, ports)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "mac-wrap.v.golden", v)
	again, _ := Wrapper("mac", "clk", map[string]string{"W": "8"}, ports)
	if !bytes.Equal(v, again) {
		t.Error("wrapping twice gave different text")
	}
}

func TestWrapperErrors(t *testing.T) {
	clk := Port{Name: "clk", Width: 1}
	out := Port{Name: "q", Width: 4, Output: true}
	tests := []struct {
		desc  string
		ports []Port
		want  string
	}{
		{"no clock", []Port{out}, `no clock input "clk"`},
		{"no outputs", []Port{clk, {Name: "d", Width: 2}}, "no outputs"},
		{"zero width", []Port{clk, out, {Name: "d"}}, "port d has width 0"},
		{"wide clock", []Port{{Name: "clk", Width: 2}, out}, "clock clk must be a 1-bit input"},
	}
	for _, tc := range tests {
		if _, err := Wrapper("top", "clk", nil, tc.ports); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.desc, err, tc.want)
		}
	}
	// A design without inputs (but the clock) needs no chain.
	v, err := Wrapper("top", "clk", nil, []Port{clk, out})
	if err != nil || bytes.Contains(v, []byte("chain <=")) {
		t.Errorf("outputs only: err %v, text:\n%s", err, v)
	}
}

// TestFlow runs the real tools on testdata/mac.v: area on iCE40 and
// generic, two seeds of place and route.
func TestFlow(t *testing.T) {
	requireTools(t, "yosys", "nextpnr-ice40")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	var progress []string
	f := &Flow{Tools: &Tools{}, Dir: dir, Target: target(t, "ice40-hx8k"), Seeds: 2, FreqMHz: 100,
		Progress: func(m string) { progress = append(progress, m) }}
	d := Design{Name: "mac", Top: "mac", Files: []string{"testdata/mac.v"}, Clock: "clk"}
	res, err := f.Run(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Fits || res.Resources.BRAMs != 1 || res.Timing == nil || len(res.Timing.Seeds) != 2 {
		t.Fatalf("result %+v, want it to fit with one block RAM and two seeds of timing", res)
	}
	tm := res.Timing
	if tm.FmaxMHz != Median([]float64{tm.Seeds[0].FmaxMHz, tm.Seeds[1].FmaxMHz}) || tm.FmaxMHz < 20 || tm.FmaxMHz > 500 {
		t.Errorf("Fmax %v from seeds %+v", tm.FmaxMHz, tm.Seeds)
	}
	if p := tm.Critical; p == nil || p.From == "" || p.To == "" || p.DelayNs <= 0 {
		t.Errorf("critical path %+v", p)
	}
	if len(progress) < 4 {
		t.Errorf("progress lines %q, want synthesis, wrapper and seeds", progress)
	}

	g := &Flow{Tools: &Tools{}, Dir: dir, Target: target(t, "generic")}
	gres, err := g.Run(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if gres.Timing != nil || gres.Uses != nil || gres.Resources.MemoryBits != 4096 {
		t.Errorf("generic: %+v, want no timing, no device and the 4096-bit memory", gres)
	}
}

func TestMissingTool(t *testing.T) {
	tools := &Tools{Yosys: "no-such-yosys", Nextpnr: "no-such-nextpnr"}
	err := tools.Check(target(t, "ice40-hx8k"), true)
	var mt *MissingToolError
	if !errors.As(err, &mt) || !strings.Contains(err.Error(), "no-such-yosys not found in PATH: run scripts/setup.sh") {
		t.Errorf("Check = %v", err)
	}
	_, err = tools.Synthesize(context.Background(), t.TempDir(), Design{Name: "x", Top: "x"}, Synth{Target: target(t, "generic")})
	if !errors.As(err, &mt) {
		t.Errorf("Synthesize without yosys = %v, want a MissingToolError", err)
	}
	if err := (&Tools{Nextpnr: "no-such-nextpnr"}).Check(target(t, "xilinx"), true); err != nil && strings.Contains(err.Error(), "nextpnr") {
		t.Errorf("xilinx needs no nextpnr, Check = %v", err)
	}
}

func TestLookupTarget(t *testing.T) {
	for _, n := range TargetNames() {
		tg := target(t, n)
		if tg.PlaceAndRoute() != (tg.Family == ICE40) {
			t.Errorf("%s: PlaceAndRoute %v", n, tg.PlaceAndRoute())
		}
	}
	_, err := LookupTarget("virtex")
	if err == nil || !strings.Contains(err.Error(), `unknown target "virtex" (want ice40-hx8k, ice40-up5k, xilinx, ecp5, generic)`) {
		t.Errorf("LookupTarget(virtex) = %v", err)
	}
}

func TestUses(t *testing.T) {
	d := target(t, "ice40-hx8k").Device
	r := Resources{LUTs: 9120, FFs: 100, BRAMs: 2, DSPs: 1}
	over := r.Overflows(d)
	if len(over) != 2 || over[0].Resource != "LUTs" || over[0].Available != 7680 || over[1].Resource != "DSPs" {
		t.Fatalf("overflows = %+v, want LUTs and DSPs", over)
	}
	if s := over[0].Share; s < 1.18 || s > 1.19 {
		t.Errorf("LUT share %v, want 9120/7680", s)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		v    []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := Median(c.v); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.v, got, c.want)
		}
	}
}

func TestParallel(t *testing.T) {
	boom := errors.New("boom")
	ran := 0
	err := Parallel(context.Background(), 1,
		func(context.Context) error { ran++; return boom },
		func(ctx context.Context) error { ran++; return ctx.Err() })
	if !errors.Is(err, boom) {
		t.Errorf("Parallel = %v, want the first error", err)
	}
	if err := Parallel(context.Background(), 0, func(context.Context) error { return nil }); err != nil {
		t.Errorf("Parallel with jobs 0 = %v", err)
	}
	_ = ran
}

func TestNames(t *testing.T) {
	var n *Names
	if got := n.cell("dut.acc.out_data_q_SB_DFFE_Q_9_DFFLC", "I0"); got != "dut.acc.out_data_q" {
		t.Errorf("nil Names: %q", got)
	}
	if got := n.cell("dut.acc.mem_0.0.0_RAM", "WDATA_3"); got != "dut.acc.mem_0.0.0.WDATA_3" {
		t.Errorf("block RAM end: %q", got)
	}
}
