package mutation

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tpugen/tpugen/gen"
)

func TestBlockOf(t *testing.T) {
	for _, tc := range []struct {
		module string
		want   Block
	}{
		{"pe_ws_as8_ws8_s19", BlockPE},
		{"pe_ws_as8_ws8_s19_top", BlockPE},
		{"pe_os_as8_ws8_s32", BlockPE},
		{"tpu_mxu", BlockArray},
		{"accumulator_c8_d512_s32_p", BlockAccumulator},
		{"requant_l8_t2_double", BlockRequant},
		{"activation_l8_t2_leaky_table", BlockActivation},
		{"pool_l8_t2_k3_w32_h32", BlockPool},
		{"core_ctrl", BlockController},
		{"tpu_core", BlockController},
		{"softmax_l8", Block("softmax")},
	} {
		if got := BlockOf(tc.module); got != tc.want {
			t.Errorf("BlockOf(%q) = %q, want %q", tc.module, got, tc.want)
		}
	}
}

func TestParseCommand(t *testing.T) {
	line := "mutate -mode cnot1 -module requant_l4 -cell $procdff$498 -port Q -portbit 32 -ctrlbit 60 -wire s3_prod_3 -wirebit 32 -src r.v:87.17-87.26 -src r.v:359.5-363.8"
	m, err := parseCommand(line)
	if err != nil {
		t.Fatal(err)
	}
	if m.Mode() != ModeCnot1 || m.Module != "requant_l4" || m.Cell() != "$procdff$498" {
		t.Errorf("parsed %+v: mode %s cell %s", m, m.Mode(), m.Cell())
	}
	want := "cnot1 $procdff$498.Q[32] ctrl[60] wire s3_prod_3[32] at r.v:87.17-87.26,r.v:359.5-363.8"
	if got := m.Where(); got != want {
		t.Errorf("Where() = %q, want %q", got, want)
	}
	for _, bad := range []string{"", "mutate -mode flip -module m -cell c -port A -portbit 0", "mutate -mode inv -module m -port A", "write_verilog x.v"} {
		if _, err := parseCommand(bad); err == nil {
			t.Errorf("parseCommand(%q) accepted it", bad)
		}
	}
}

func TestReport(t *testing.T) {
	mk := func(b Block, st Status) Result {
		return Result{Mutation: Mutation{Config: "c", Block: b, Module: string(b) + "_m", Command: "mutate -mode inv -module m -cell x -port A -portbit 1"}, Status: st}
	}
	rep := NewReport([]Result{mk(BlockRequant, Killed), mk(BlockPE, Killed), mk(BlockRequant, Survived), mk(BlockRequant, Equivalent),
		mk(BlockPE, Errored), mk(Block("softmax"), Killed)}, Regression{Cases: 1, Seed: 2}, 3, 1)
	if len(rep.Blocks) != 3 || rep.Blocks[0].Block != BlockPE || rep.Blocks[1].Block != BlockRequant || rep.Blocks[2].Block != "softmax" {
		t.Fatalf("blocks %+v", rep.Blocks)
	}
	if r := rep.Blocks[1]; r.Killed != 1 || r.Survived != 1 || r.Equivalent != 1 || r.Score != 0.5 {
		t.Errorf("requant %+v, want 1 killed, 1 survived, 1 equivalent, score 0.5", r)
	}
	if r := rep.Blocks[0]; r.Errors != 1 || r.Score != 1 {
		t.Errorf("pe %+v, want 1 error, score 1", r)
	}
	if rep.Total.Mutants != 6 || len(rep.Survivors) != 1 || len(rep.Equivalent) != 1 || len(rep.Errors) != 1 {
		t.Errorf("total %+v, %d survivors", rep.Total, len(rep.Survivors))
	}
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"requant        3       1         1           1         0       0   50.0%", "survivors (1):", "proved equivalent (1):"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

// writeDesign generates the configuration name ("default": the embedded
// default, else configs/<name>.json) into a temporary directory and loads
// it.
func writeDesign(t *testing.T, name string) Design {
	t.Helper()
	cfg := gen.DefaultConfig()
	if name != "default" {
		var err error
		if cfg, err = gen.LoadConfig("../../configs/" + name + ".json"); err != nil {
			t.Fatal(err)
		}
	}
	out, err := gen.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), name)
	if err := out.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	d, err := LoadDesign(dir)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// needTools skips without Yosys and Verilator, unless TPUGEN_REQUIRE_SIMS
// is set (as in CI), where a missing tool fails.
func needTools(t *testing.T) {
	t.Helper()
	for _, b := range []string{"yosys", "verilator"} {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv("TPUGEN_REQUIRE_SIMS") != "" {
				t.Fatalf("%s not found in PATH and TPUGEN_REQUIRE_SIMS is set: run scripts/setup.sh", b)
			}
			t.Skipf("%s not found in PATH: run scripts/setup.sh", b)
		}
	}
}

// TestSampleKilled runs a small fixed sample of mutants of the small
// configuration's PE and requantizer through a short regression and the
// targeted cases in Verilator: each must be killed (the sample includes a
// multiplier bit that only the targeted rounding points reach). A second
// run of the same mutants comes from the cache without a build.
func TestSampleKilled(t *testing.T) {
	needTools(t)
	if testing.Short() {
		t.Skip("builds eight Verilator mutants")
	}
	d := writeDesign(t, "small")
	ctx := context.Background()
	opt := Options{Regression: Regression{Cases: 12, Layers: 6, Seed: 1, Extra: true, Targeted: TargetedVersion}, Seed: 7, Jobs: 2,
		CacheDir: t.TempDir(), ProveTimeout: 10 * time.Second, Log: t.Output()}
	ms, err := Plan(ctx, d, map[Block]int{BlockPE: 3, BlockRequant: 3}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 6 {
		t.Fatalf("planned %d mutations, want 6", len(ms))
	}
	var jobs []Job
	for _, m := range ms {
		jobs = append(jobs, Job{Design: d, Mutation: m})
	}
	res, err := Run(ctx, jobs, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Status != Killed {
			t.Errorf("%s %s: %s (%s), want killed", r.Mutation.Module, r.Mutation.Where(), r.Status, r.Detail)
		}
	}
	again, err := Run(ctx, jobs[:2], opt)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range again {
		if !r.Cached || r.Status != res[i].Status || r.Key != res[i].Key {
			t.Errorf("rerun of %s: cached %v status %s key %.12s, want a cache hit of %s %.12s", r.Mutation.Where(), r.Cached, r.Status, r.Key, res[i].Status, res[i].Key)
		}
	}
}

// TestProve checks the equivalence proof on the default PE: the module
// written back unchanged is proved equivalent, a mutant that inverts a bit
// of the registered sum is not.
func TestProve(t *testing.T) {
	needTools(t)
	d := writeDesign(t, "default")
	var file, module string
	for _, f := range d.Manifest.Files {
		if BlockOf(f.Module) == BlockPE && !strings.HasSuffix(f.Module, "_top") {
			file, module = f.Name, f.Module
		}
	}
	ctx := context.Background()
	ms, err := listMutations(ctx, "yosys", d.Dir, d.files(), file, module, 100000, 1)
	if err != nil {
		t.Fatal(err)
	}
	var inv *Mutation
	for i, m := range ms {
		if m.Mode() == ModeInv && m.arg("-wire") == "out_sum" && m.arg("-port") == "Q" {
			inv = &ms[i]
			break
		}
	}
	if inv == nil {
		t.Fatalf("no inversion of out_sum among %d mutations of %s", len(ms), module)
	}
	for _, tc := range []struct {
		command string
		want    bool
	}{{"", true}, {inv.Command, false}} {
		mut := filepath.Join(t.TempDir(), "mutant.v")
		if err := writeMutant(ctx, "yosys", d.Dir, d.files(), file, module, tc.command, mut); err != nil {
			t.Fatal(err)
		}
		p := proveEquivalent(ctx, "yosys", d.Dir, d.files(), file, module, mut, 30*time.Second, false)
		if p.Equivalent != tc.want {
			t.Errorf("mutation %q: equivalent %v (%s), want %v", tc.command, p.Equivalent, p.Detail, tc.want)
		}
	}
}

// TestRefines checks the text proof: identical Verilog, or constants whose
// changed bits are x in the original, prove a mutant; anything else does not.
func TestRefines(t *testing.T) {
	base := "module m;\n  assign a = s ? d : 32'hxxxxxxxx;\n  assign b = 4'b0101;\nendmodule\n"
	for _, tc := range []struct {
		desc, mut string
		want      bool
	}{
		{"identical", base, true},
		{"x bit set", strings.Replace(base, "32'hxxxxxxxx", "32'bxxxx1xxxxxxxxxxxxxxxxxxxxxxxxxxx", 1), true},
		{"defined bit changed", strings.Replace(base, "4'b0101", "4'b0111", 1), false},
		{"width changed", strings.Replace(base, "32'hxxxxxxxx", "31'bx", 1), false},
		{"other text", strings.Replace(base, "s ?", "t ?", 1), false},
		{"line added", base + "\n", false},
	} {
		if got, _ := refines(base, tc.mut); got != tc.want {
			t.Errorf("%s: refines = %v, want %v", tc.desc, got, tc.want)
		}
	}
}

// TestNoOpMutantEquivalent: a mutation Yosys's write-back drops (the read
// clock of the small requantizer's asynchronous shift-parameter memory)
// gives the unchanged module's files, so the round trip's cached result
// makes it equivalent without a build, and the round trip's record stays.
func TestNoOpMutantEquivalent(t *testing.T) {
	needTools(t)
	d := writeDesign(t, "small")
	var file, module string
	for _, f := range d.Manifest.Files {
		if BlockOf(f.Module) == BlockRequant {
			file, module = f.Name, f.Module
		}
	}
	ctx := context.Background()
	r, err := newRunner(ctx, Options{Regression: Regression{Cases: 1, Seed: 1}, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	// The round trip's result, as the sweep stores it before any mutant.
	tmp := filepath.Join(t.TempDir(), "design")
	if err := copyDesign(d, tmp); err != nil {
		t.Fatal(err)
	}
	if err := writeMutant(ctx, "yosys", d.Dir, d.files(), file, module, "", filepath.Join(tmp, file)); err != nil {
		t.Fatal(err)
	}
	key, err := r.key(d, tmp)
	if err != nil {
		t.Fatal(err)
	}
	r.store(Result{Mutation: Mutation{Module: module, File: file, Block: BlockRequant}, Key: key, Status: Survived, Regression: r.opt.Regression})
	m, err := parseCommand("mutate -mode const0 -module " + module + " -cell prm_shift_1 -port RD_CLK -portbit 0")
	if err != nil {
		t.Fatal(err)
	}
	m.File, m.Block = file, BlockRequant
	if res := r.one(ctx, Job{Design: d, Mutation: m}, true); res.Status != Equivalent {
		t.Errorf("%s: %s (%s), want equivalent", m.Where(), res.Status, res.Detail)
	}
	if c, ok := r.load(key); !ok || c.Mutation.Command != "" || c.Status != Survived {
		t.Errorf("the round trip's record was replaced: %+v", c)
	}
}
