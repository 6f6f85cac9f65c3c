package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sirupsen/logrus"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/internal/rtltest"
	"github.com/tpugen/tpugen/quant"
	"github.com/tpugen/tpugen/verify"
	"github.com/tpugen/tpugen/verify/sim"
)

// TestMain lets tests run the real main in a child process: with
// TPUGEN_TEST_MAIN set, the test binary is tpugen.
func TestMain(m *testing.M) {
	if os.Getenv("TPUGEN_TEST_MAIN") != "" {
		main()
		return
	}
	os.Exit(m.Run())
}

// result is one tpugen invocation.
type result struct {
	code           int
	stdout, stderr string
}

func tpugen(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

// wantUserError checks the contract for user mistakes: exit status 2 and a
// single line "tpugen <cmd>: ..." on stderr containing every want.
func (r result) wantUserError(t *testing.T, cmd string, want ...string) {
	t.Helper()
	if r.code != exitUsage {
		t.Errorf("exit status %d, want %d (stderr %q)", r.code, exitUsage, r.stderr)
	}
	if !strings.HasPrefix(r.stderr, "tpugen "+cmd+": ") || strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("stderr = %q, want one line starting %q", r.stderr, "tpugen "+cmd+": ")
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr = %q, want it to contain %q", r.stderr, w)
		}
	}
}

// writeFile writes content to name in dir and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// smallConfig writes a 2x2 configuration with the given dataflow.
func smallConfig(t *testing.T, dir, dataflow string) string {
	t.Helper()
	return writeFile(t, dir, "t2x2"+dataflow+".json",
		`{"name": "t2x2`+dataflow+`", "rows": 2, "cols": 2, "dataflow": "`+dataflow+`", "acc_depth": 8}`)
}

func TestHelp(t *testing.T) {
	flags := map[string][]string{
		"rtl":     {"-config", "-out"},
		"gemm":    {"-config", "-sim", "-a", "-b", "-o", "-vcd", "-keep", "-v"},
		"regress": {"-config", "-sim", "-cases", "-seed", "-case", "-v"},
		"demo":    {"-config", "-out", "-cases", "-seed", "-model", "-images", "-batch", "-v"},
		"run":     {"-model", "-data", "-n", "-skip", "-batch", "-sim", "-calib", "-calib-method", "-scale", "-mean", "-std", "-config", "-rtl", "-v"},
		"vectors": {"-model", "-data", "-image", "-out", "-config", "-rtl"},
	}
	for _, c := range commands() {
		for _, h := range []string{"-h", "-help", "--help"} {
			r := tpugen(t, c.name, h)
			if r.code != exitOK || r.stderr != "" {
				t.Errorf("tpugen %s %s: exit %d, stderr %q; want 0 and nothing", c.name, h, r.code, r.stderr)
			}
			for _, want := range append([]string{"Usage: tpugen " + c.name, "Flags:", "Examples:\n  tpugen " + c.name}, flags[c.name]...) {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("tpugen %s %s: usage lacks %q:\n%s", c.name, h, want, r.stdout)
				}
			}
		}
	}
	if r := tpugen(t, "help", "gemm"); r.code != exitOK || !strings.Contains(r.stdout, "Usage: tpugen gemm") {
		t.Errorf("tpugen help gemm: exit %d, stdout %q", r.code, r.stdout)
	}
	if r := tpugen(t, "-h"); r.code != exitOK || !strings.Contains(r.stdout, "Commands:") {
		t.Errorf("tpugen -h: exit %d, stdout %q", r.code, r.stdout)
	}
}

func TestUsageErrors(t *testing.T) {
	if r := tpugen(t); r.code != exitUsage || !strings.Contains(r.stderr, "Usage: tpugen <command>") {
		t.Errorf("tpugen: exit %d, stderr %q; want 2 and the usage", r.code, r.stderr)
	}
	r := tpugen(t, "frobnicate")
	if r.code != exitUsage || r.stderr != "tpugen: unknown command \"frobnicate\" (commands: "+strings.Join(commandNames(), ", ")+"; see tpugen -h)\n" {
		t.Errorf("unknown command: exit %d, stderr %q", r.code, r.stderr)
	}
	tests := []struct {
		desc string
		args []string
		want string
	}{
		{"undefined flag", []string{"rtl", "-frob"}, "flag provided but not defined: -frob (see tpugen rtl -h)"},
		{"stray argument", []string{"rtl", "-out", "x", "extra"}, `unexpected argument "extra"`},
		{"missing -out", []string{"rtl"}, "-out DIR is required"},
		{"bad flag value", []string{"regress", "-cases", "many"}, `invalid value "many" for flag -cases`},
		{"no cases", []string{"regress", "-cases", "0"}, "-cases 0: want at least 1"},
		{"case out of range", []string{"regress", "-cases", "5", "-case", "7"}, "-case 7: want a case index from 0 to 6 (-cases 5 -layers 2)"},
		{"layers without pipeline", []string{"regress", "-config", "../../configs/large.json", "-layers", "3"}, "-layers 3: configuration large has no pipeline"},
		{"int8 layers on int4", []string{"regress", "-config", "../../configs/int4.json", "-layers", "3"}, "-layers 3: layer cases are int8, configuration int4 has 4-bit inputs and 4-bit weights"},
		{"layer bad random kind", []string{"layer", "-random", "rnn"}, `-random "rnn": want fc or conv`},
		{"layer without files", []string{"layer"}, "-a is required without -random"},
		{"unknown simulator", []string{"regress", "-sim", "modelsim"}, `-sim "modelsim": want icarus, verilator or both`},
		{"gemm without -a", []string{"gemm", "-b", "B.txt", "-o", "C.txt"}, "-a is required"},
		{"gemm with both", []string{"gemm", "-sim", "both", "-a", "A", "-b", "B", "-o", "C"}, `-sim "both": want icarus or verilator`},
		{"missing config file", []string{"rtl", "-config", "no/such.json", "-out", "x"}, "no/such.json"},
		{"demo images", []string{"demo", "-images", "-1"}, "-images at least 0"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			tpugen(t, tc.args...).wantUserError(t, tc.args[0], tc.want)
		})
	}
}

func TestBadConfig(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		desc, json string
		want       []string
	}{
		{"unknown key", `{"name": "x", "rows": 2, "colz": 2}`, []string{`unknown key "colz"`, `did you mean "cols"?`}},
		{"impossible size", `{"name": "x", "rows": 0, "cols": 2}`, []string{"rows 0"}},
		{"bad dataflow", `{"name": "x", "rows": 2, "cols": 2, "dataflow": "rs"}`, []string{"rs"}},
		{"wrong type", `{"name": "x", "rows": "2", "cols": 2}`, []string{`key "rows"`}},
		{"malformed JSON", `{"name": "x",`, []string{"bad.json"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			cfg := writeFile(t, dir, "bad.json", tc.json)
			out := filepath.Join(dir, "out")
			tpugen(t, "rtl", "-config", cfg, "-out", out).wantUserError(t, "rtl", append(tc.want, "bad.json")...)
			if _, err := os.Stat(out); err == nil {
				t.Errorf("rtl with a bad config created %s", out)
			}
			// gemm and regress reject it the same way, before any simulation.
			tpugen(t, "regress", "-config", cfg).wantUserError(t, "regress", tc.want...)
		})
	}
}

func TestRTL(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "rtl")
	r := tpugen(t, "rtl", "-config", smallConfig(t, dir, "ws"), "-out", out)
	if r.code != exitOK || strings.Count(r.stdout, "\n") != 1 || !strings.HasPrefix(r.stdout, "wrote 9 files to "+out) {
		t.Fatalf("rtl: exit %d, stdout %q, stderr %q; want 0 and one line", r.code, r.stdout, r.stderr)
	}
	for _, f := range []string{"manifest.json", "files.f", "tpu_t2x2ws.h", "tpu_mxu.v"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("rtl did not write %s: %v", f, err)
		}
	}
	man, err := arch.LoadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	if man.Top != "tpu_mxu" || man.Config.Rows != 2 || man.Config.Dataflow != arch.WS {
		t.Errorf("manifest: top %q, config %+v", man.Top, man.Config)
	}
	list, err := os.ReadFile(filepath.Join(out, "files.f"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Fields(string(list)) {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil || !strings.HasSuffix(f, ".v") {
			t.Errorf("files.f names %q: %v", f, err)
		}
	}
	// Regenerating replaces the directory; a directory that is not tpugen
	// output is never replaced.
	if r := tpugen(t, "rtl", "-out", out); r.code != exitOK {
		t.Errorf("regenerate: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "tpu_default.h")); err != nil {
		t.Errorf("rtl without -config did not write the default's header: %v", err)
	}
	writeFile(t, dir, "notes.txt", "mine")
	tpugen(t, "rtl", "-out", dir).wantUserError(t, "rtl", "refusing to replace")
}

func TestGEMMBadOperands(t *testing.T) {
	dir := t.TempDir()
	cfg := smallConfig(t, dir, "ws")
	good := writeFile(t, dir, "B.txt", "1 2\n3 4\n")
	tests := []struct {
		desc, a string
		want    []string
	}{
		{"ragged row", "# A\n1 2\n3 4\n5\n", []string{"A.txt:4: row has 1 values, want 2"}},
		{"not an integer", "1 2\n3 four\n", []string{`A.txt:2: value 2 "four" is not a decimal integer`}},
		{"empty", "# nothing\n", []string{"A.txt: empty matrix"}},
		{"out of range", "1 2\n3 128\n", []string{"A[1][1] = 128 is out of range [-128, 127] for int8"}},
		{"mismatched K", "1 2 3\n", []string{"A is 1x3 but B is 2x2: K must match"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			a := writeFile(t, dir, "A.txt", tc.a)
			c := filepath.Join(dir, "C.txt")
			tpugen(t, "gemm", "-config", cfg, "-sim", "icarus", "-a", a, "-b", good, "-o", c).wantUserError(t, "gemm", tc.want...)
			if _, err := os.Stat(c); err == nil {
				t.Errorf("gemm with bad operands wrote %s", c)
			}
		})
	}
	a := writeFile(t, dir, "A.txt", "1 2\n")
	tpugen(t, "gemm", "-a", filepath.Join(dir, "missing.txt"), "-b", good, "-o", filepath.Join(dir, "C.txt")).
		wantUserError(t, "gemm", "missing.txt", "no such file")
	tpugen(t, "gemm", "-a", a, "-b", good, "-o", filepath.Join(dir, "no", "C.txt")).
		wantUserError(t, "gemm", "-o", "does not exist")
	tpugen(t, "gemm", "-a", a, "-b", good, "-o", filepath.Join(dir, "C.txt"), "-vcd", filepath.Join(dir, "no", "w.vcd")).
		wantUserError(t, "gemm", "-vcd", "does not exist")
}

func TestMissingSimulator(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "A.txt", "1 2\n")
	b := writeFile(t, dir, "B.txt", "1\n2\n")
	c := writeFile(t, dir, "C.txt", "earlier result\n")
	t.Setenv("PATH", t.TempDir())
	for _, sim := range []string{"icarus", "verilator"} {
		tpugen(t, "gemm", "-sim", sim, "-a", a, "-b", b, "-o", c).wantUserError(t, "gemm", "not found in PATH", "scripts/setup.sh")
		tpugen(t, "regress", "-sim", sim, "-cases", "2").wantUserError(t, "regress", "not found in PATH", "scripts/setup.sh")
	}
	tpugen(t, "demo", "-out", filepath.Join(dir, "rtl")).wantUserError(t, "demo", "verilator not found in PATH", "scripts/setup.sh")
	if got, _ := os.ReadFile(c); string(got) != "earlier result\n" {
		t.Errorf("a failed gemm changed %s to %q", c, got)
	}
}

func TestGEMMIcarus(t *testing.T) {
	rtltest.RequireTools(t, "iverilog", "vvp")
	for _, dataflow := range []string{"ws", "os"} {
		t.Run(dataflow, func(t *testing.T) {
			dir := t.TempDir()
			cfg := smallConfig(t, dir, dataflow)
			am := compile.Matrix{{1, -2, 3}, {-128, 127, 0}, {5, 6, -7}}
			bm := compile.Matrix{{127, -128, 1}, {-1, 2, 3}, {4, -5, 127}}
			var as, bs bytes.Buffer
			if err := errors.Join(compile.WriteMatrix(&as, am), compile.WriteMatrix(&bs, bm)); err != nil {
				t.Fatal(err)
			}
			a := writeFile(t, dir, "A.txt", "# activations\n"+as.String())
			b := writeFile(t, dir, "B.txt", bs.String())
			c := filepath.Join(dir, "C.txt")
			r := tpugen(t, "gemm", "-config", cfg, "-sim", "icarus", "-a", a, "-b", b, "-o", c)
			if r.code != exitOK {
				t.Fatalf("gemm: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
			}
			if !regexp.MustCompile(`^cycles=\d+ predicted=\d+ ideal=6\.8 utilization=\d+\.\d% mismatches=0\n$`).MatchString(r.stdout) {
				t.Errorf("gemm printed %q", r.stdout)
			}
			f, err := os.Open(c)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := compile.ReadMatrix(f, c)
			if err != nil {
				t.Fatal(err)
			}
			want := verify.GoldenGEMM(arch.Config{AccBits: 32, InputSigned: true, WeightSigned: true}, am, bm)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("C.txt differs from the golden model (-want +got):\n%s", diff)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 4 {
				t.Errorf("gemm left extra files: %v", entries)
			}
		})
	}
}

func TestGEMMKeepAndVCD(t *testing.T) {
	rtltest.RequireTools(t, "iverilog", "vvp")
	dir := t.TempDir()
	a := writeFile(t, dir, "A.txt", "1 2\n")
	b := writeFile(t, dir, "B.txt", "3\n4\n")
	keep, vcd := filepath.Join(dir, "keep"), filepath.Join(dir, "run.vcd")
	r := tpugen(t, "gemm", "-config", smallConfig(t, dir, "ws"), "-sim", "icarus", "-a", a, "-b", b,
		"-o", filepath.Join(dir, "C.txt"), "-keep", keep, "-vcd", vcd)
	if r.code != exitOK {
		t.Fatalf("gemm: exit %d, stderr %s", r.code, r.stderr)
	}
	for _, p := range []string{vcd, filepath.Join(keep, "rtl", "manifest.json")} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("gemm -keep -vcd: %v", err)
		}
	}
	if runs, _ := filepath.Glob(filepath.Join(keep, "tpugen-icarus-*")); len(runs) != 1 {
		t.Errorf("gemm -keep kept run directories %v, want one", runs)
	}
}

func TestRegressIcarus(t *testing.T) {
	rtltest.RequireTools(t, "iverilog", "vvp")
	cfg := smallConfig(t, t.TempDir(), "os")
	r := tpugen(t, "regress", "-config", cfg, "-sim", "icarus", "-cases", "12", "-seed", "5")
	if r.code != exitOK {
		t.Fatalf("regress: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	if !regexp.MustCompile(`^cases=12 failed=0 mismatches=0 cycles=\d+ utilization=\d+\.\d% elapsed=\S+\n$`).MatchString(r.stdout) {
		t.Errorf("regress printed %q", r.stdout)
	}
	for _, want := range []string{"progress: 10/12 cases", "progress: 12/12 cases"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("regress progress lacks %q:\n%s", want, r.stderr)
		}
	}
	r = tpugen(t, "regress", "-config", cfg, "-sim", "icarus", "-cases", "12", "-seed", "5", "-case", "11")
	if r.code != exitOK || !strings.HasPrefix(r.stdout, "cases=1 failed=0 ") {
		t.Errorf("regress -case 11: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestDemo(t *testing.T) {
	rtltest.RequireTools(t, "verilator")
	dir := t.TempDir()
	out := filepath.Join(dir, "rtl-out", "demo2x2")
	cfg := writeFile(t, dir, "c.json", `{"name": "demo2x2", "rows": 2, "cols": 2, "acc_depth": 64, "requant": true, "pool": true}`)
	r := tpugen(t, "demo", "-config", cfg, "-out", out, "-cases", "3", "-images", "4", "-batch", "4",
		"-model", filepath.Join("..", "..", "models", "lenet5_mnist.onnx"))
	if r.code != exitOK {
		t.Fatalf("demo: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"config", "demo2x2: 2x2 ws", "4 cases on verilator, seed 1: 0 failed, 0 mismatches",
		"on 4 MNIST test images", "accuracy", "float", "RTL", "per image", "utilization", "0 int8 values differ",
		"conv1", "fc3", "host", "wall time", "PASS"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo summary lacks %q:\n%s", want, r.stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "manifest.json")); err != nil {
		t.Errorf("demo did not write the RTL: %v", err)
	}
}

// TestNoStackTrace runs the real binary on user mistakes: one line, exit 2,
// nothing that looks like a panic.
func TestNoStackTrace(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.json", `{"rows": -3, "dataflow": 7}`)
	for _, args := range [][]string{
		{"rtl", "-config", bad, "-out", filepath.Join(dir, "o")},
		{"gemm", "-a", "/", "-b", "/", "-o", filepath.Join(dir, "C.txt")},
		{"regress", "-cases", "-1"},
	} {
		cmd := exec.Command(exe, args...)
		cmd.Env = append(os.Environ(), "TPUGEN_TEST_MAIN=1")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != exitUsage {
			t.Errorf("tpugen %v: %v, want exit status 2", args, err)
		}
		r := result{exitUsage, stdout.String(), stderr.String()}
		r.wantUserError(t, args[0])
		if strings.Contains(r.stderr, "goroutine") || strings.Contains(r.stderr, "panic") {
			t.Errorf("tpugen %v: stack trace:\n%s", args, r.stderr)
		}
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "C.txt", "old\n")
	err := writeFileAtomic(path, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return errors.New("simulated failure")
	})
	if err == nil {
		t.Fatal("writeFileAtomic returned nil for a failing writer")
	}
	if got, _ := os.ReadFile(path); string(got) != "old\n" {
		t.Errorf("failed write left %q, want the old content", got)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("failed write left temporary files: %v", entries)
	}
	if err := writeFileAtomic(path, func(w io.Writer) error { _, err := w.Write([]byte("new\n")); return err }); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "new\n" {
		t.Errorf("got %q, want the new content", got)
	}
}

func TestLogWriter(t *testing.T) {
	var buf bytes.Buffer
	log := logrus.New()
	log.SetOutput(&buf)
	log.SetFormatter(&logrus.TextFormatter{DisableTimestamp: true, DisableQuote: true})
	w := &logWriter{log: log, level: func(line string) logrus.Level {
		if strings.HasPrefix(line, "FAIL") {
			return logrus.ErrorLevel
		}
		return logrus.InfoLevel
	}}
	for _, s := range []string{"progress: 1", "0/10\nFAIL case 3\n", "\n", "tail"} {
		w.Write([]byte(s))
	}
	want := "level=info msg=progress: 10/10\nlevel=error msg=FAIL case 3\n"
	if buf.String() != want {
		t.Errorf("log = %q, want %q (an unterminated line waits)", buf.String(), want)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"configs/small.json": "configs/small.json",
		"my configs/a.json":  "'my configs/a.json'",
		"it's.json":          `'it'\''s.json'`,
		"":                   "''",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDiffMatrices(t *testing.T) {
	want := compile.Matrix{{1, 2}, {3, 4}}
	got := compile.Matrix{{1, 5}, {3, -4}}
	d := diffMatrices(want, got)
	if diff := cmp.Diff([]string{"mismatch C[0][1]: rtl 5, golden 2", "mismatch C[1][1]: rtl -4, golden 4"}, d); diff != "" {
		t.Errorf("diffMatrices (-want +got):\n%s", diff)
	}
	if d := diffMatrices(want, want); len(d) != 0 {
		t.Errorf("diffMatrices of equal matrices = %v", d)
	}
}

// TestLayerFromFiles runs an im2col-style layer given as files through the
// whole pipeline in Icarus: the command compares with quant itself (exit 0
// means bit-exact), and Y.txt must hold the pooled map.
func TestLayerFromFiles(t *testing.T) {
	rtltest.RequireTools(t, "iverilog", "vvp")
	dir := t.TempDir()
	cfg := writeFile(t, dir, "pipe.json", `{"name": "pipe", "rows": 2, "cols": 2, "acc_depth": 32,
		"requant": true, "activation": "all", "pool": true, "pool_width": 8, "pool_height": 8, "param_sets": 2}`)
	var as, bs strings.Builder
	for i := 0; i < 16; i++ { // a 4x4 map of 3-value im2col rows
		fmt.Fprintf(&as, "%d %d %d\n", (i*37)%256-128, (i*11)%200-100, 127-i)
	}
	bs.WriteString("5 -7 100\n-127 3 0\n60 60 -60\n")
	a := writeFile(t, dir, "A.txt", as.String())
	b := writeFile(t, dir, "B.txt", bs.String())
	bias := writeFile(t, dir, "bias.txt", "100 -2000 35\n")
	y := filepath.Join(dir, "Y.txt")
	r := tpugen(t, "layer", "-config", cfg, "-sim", "icarus", "-a", a, "-b", b, "-bias", bias, "-o", y,
		"-in-zp", "-3", "-fused", "relu6", "-act", "leaky", "-map", "4x4", "-pool", "max", "-pool-window", "2", "-pool-stride", "2")
	if r.code != exitOK || !strings.Contains(r.stdout, "mismatches=0") {
		t.Fatalf("layer: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	f, err := os.Open(y)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := compile.ReadMatrix(f, y)
	if err != nil {
		t.Fatal(err)
	}
	if rows, cols := got.Dims(); rows != 4 || cols != 3 {
		t.Errorf("Y.txt is %dx%d, want the 2x2 pooled map (4 rows) of 3 channels", rows, cols)
	}
	r = tpugen(t, "layer", "-config", cfg, "-sim", "icarus", "-a", a, "-b", b, "-bias", bias, "-pool", "max")
	if r.code != exitUsage || !strings.Contains(r.stderr, "-pool needs -map HxW") {
		t.Errorf("pool without map: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestLayerSingleRoundingTies runs an FC layer given as files on the
// single-rounding configuration (configs/small.json) with a real multiplier
// of 0.375 and small integer operands, so many accumulators land on
// rounding ties where single and double rounding differ. The command must
// check the RTL against the configuration's rounding: exit 0, no mismatch,
// and Y.txt equal to quant's single-rounding result computed here.
func TestLayerSingleRoundingTies(t *testing.T) {
	rtltest.RequireTools(t, "iverilog", "vvp")
	dir := t.TempDir()
	const m, k, n = 24, 8, 8
	var as, bs strings.Builder
	in := make([]int8, m*k)
	w := make([]int8, n*k)
	for i := 0; i < m; i++ {
		for j := 0; j < k; j++ {
			in[i*k+j] = int8((i*7+j*5)%13 - 6)
			fmt.Fprintf(&as, "%d ", in[i*k+j])
		}
		as.WriteString("\n")
	}
	for j := 0; j < k; j++ {
		for c := 0; c < n; c++ {
			w[c*k+j] = int8((j*3+c*11)%9 - 4)
			fmt.Fprintf(&bs, "%d ", w[c*k+j])
		}
		bs.WriteString("\n")
	}
	a := writeFile(t, dir, "A.txt", as.String())
	b := writeFile(t, dir, "B.txt", bs.String())
	bias := writeFile(t, dir, "bias.txt", strings.Repeat("0 ", n)+"\n")
	y := filepath.Join(dir, "Y.txt")

	// The multiplier 0.75 * 0.5 / 1.0 = 0.375 = 3/8: ties at every
	// accumulator that is 4 mod 8. Check that the case really separates the
	// two roundings, so this test can fail.
	mults, shifts := quant.OutputMultipliers(0.75, []float32{0.5}, 1.0)
	ref := func(r quant.Rounding) []int8 {
		out, err := quant.FullyConnected(in, m, w, n, make([]int32, n), quant.FCParams{
			Output: quant.OutputStage{Multipliers: mults, Shifts: shifts, Rounding: r}})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	single, double := ref(quant.RoundingSingle), ref(quant.RoundingDouble)
	differ := 0
	for i := range single {
		if single[i] != double[i] {
			differ++
		}
	}
	if differ == 0 {
		t.Fatal("the case has no output where single and double rounding differ")
	}

	r := tpugen(t, "layer", "-config", filepath.Join("..", "..", "configs", "small.json"), "-sim", "icarus",
		"-a", a, "-b", b, "-bias", bias, "-o", y, "-in-scale", "0.75", "-w-scale", "0.5", "-out-scale", "1.0")
	if r.code != exitOK || !strings.Contains(r.stdout, "mismatches=0") {
		t.Fatalf("layer on a single-rounding configuration (%d of %d outputs are ties that round differently): exit %d\nstdout %s\nstderr %s",
			differ, len(single), r.code, r.stdout, r.stderr)
	}
	f, err := os.Open(y)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := compile.ReadMatrix(f, y)
	if err != nil {
		t.Fatal(err)
	}
	for i := range single {
		if got[i/n][i%n] != int64(single[i]) {
			t.Fatalf("Y[%d][%d] = %d, quant single rounding gives %d", i/n, i%n, got[i/n][i%n], single[i])
		}
	}
}

// TestBrokenDesign runs gemm and regress with -rtl on a design whose c_out
// sends one beat too many: both fail with exit 1 and a message naming the
// stream and the beat, never a stack trace.
func TestBrokenDesign(t *testing.T) {
	rtltest.RequireTools(t, "iverilog", "vvp")
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.json", `{"name": "broken", "rows": 2, "cols": 2, "acc_depth": 16}`)
	rtl := filepath.Join(dir, "rtl")
	if r := tpugen(t, "rtl", "-config", cfg, "-out", rtl); r.code != exitOK {
		t.Fatalf("rtl: exit %d: %s", r.code, r.stderr)
	}
	man, err := arch.LoadManifest(rtl)
	if err != nil {
		t.Fatal(err)
	}
	rtltest.Misbehave(t, rtl, man, arch.StreamC, rtltest.ExtraBeat, "")
	a := writeFile(t, dir, "A.txt", "1 2\n3 4\n5 6\n")
	b := writeFile(t, dir, "B.txt", "1 0 2\n0 1 3\n")
	for _, args := range [][]string{
		{"gemm", "-rtl", rtl, "-sim", "icarus", "-a", a, "-b", b, "-o", filepath.Join(dir, "C.txt")},
		{"regress", "-rtl", rtl, "-sim", "icarus", "-cases", "2"},
	} {
		r := tpugen(t, args...)
		out := r.stdout + r.stderr
		if r.code != exitMismatch || !strings.Contains(out, "c_out beat") || !strings.Contains(out, "result beats, the plan expects") {
			t.Errorf("%s: exit %d, want 1 with a message about the extra c_out beat\n%s", args[0], r.code, out)
		}
		if strings.Contains(out, "panic") || strings.Contains(out, "goroutine") {
			t.Errorf("%s: a stack trace:\n%s", args[0], out)
		}
		if args[0] == "regress" && !strings.Contains(out, "reproduce: tpugen regress -rtl "+rtl) {
			t.Errorf("regress: no reproduction line naming -rtl:\n%s", out)
		}
	}
	if r := tpugen(t, "gemm", "-rtl", rtl, "-config", cfg, "-a", a, "-b", b, "-o", filepath.Join(dir, "C.txt")); r.code != exitUsage {
		t.Errorf("-rtl with -config: exit %d, want 2", r.code)
	}
}

// TestRunBadInput: a corrupt model, a model whose input does not match the
// data, a missing data set, a layer that does not fit the hardware and bad
// flags each give one line and exit 2, before any simulation.
func TestRunBadInput(t *testing.T) {
	dir := t.TempDir()
	lenet := filepath.Join("..", "..", "models", "lenet5_mnist.onnx")
	data, err := os.ReadFile(lenet)
	if err != nil {
		t.Fatal(err)
	}
	truncated := writeFile(t, dir, "trunc.onnx", string(data[:len(data)/2]))
	small := filepath.Join(dir, "idx")
	os.MkdirAll(small, 0o755)
	// Two 8x8 images: not what LeNet's 28x28 input wants.
	img := append([]byte{0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 8, 0, 0, 0, 8}, make([]byte, 128)...)
	for _, split := range []string{"train", "t10k"} {
		os.WriteFile(filepath.Join(small, split+"-images-idx3-ubyte"), img, 0o644)
		os.WriteFile(filepath.Join(small, split+"-labels-idx1-ubyte"), []byte{0, 0, 8, 1, 0, 0, 0, 2, 1, 2}, 0o644)
	}
	tinyPool := writeFile(t, dir, "p.json", `{"name": "tinypool", "rows": 4, "cols": 4, "requant": true, "pool": true, "pool_width": 16, "pool_height": 16}`)
	noPipe := writeFile(t, dir, "n.json", `{"name": "nopipe", "rows": 4, "cols": 4}`)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-model", truncated}, "not an ONNX model"},
		{[]string{"-model", filepath.Join(dir, "none.onnx")}, "no such file"},
		{[]string{"-model", lenet, "-data", small}, "the " + small + " images are 1x8x8"},
		{[]string{"-model", lenet, "-data", filepath.Join(dir, "nowhere")}, "want mnist, fashion or a directory"},
		{[]string{"-model", lenet, "-config", tinyPool}, "does not fit configuration tinypool"},
		{[]string{"-model", lenet, "-config", noPipe}, "has no pipeline"},
		{[]string{"-model", lenet, "-calib-method", "median"}, "-calib-method \"median\""},
		{[]string{"-model", lenet, "-n", "0"}, "must be at least 1"},
		{[]string{"-model", lenet, "-skip", "9999", "-n", "2"}, "test set has 10000 images"},
		{[]string{"-model", lenet, "-sim", "spice"}, "want verilator, icarus or golden"},
	} {
		r := tpugen(t, append([]string{"run"}, tc.args...)...)
		r.wantUserError(t, "run", tc.want)
	}
}

// TestVectorsReplay writes LeNet's golden vectors for one image and replays
// one layer's stream files through the generated RTL in Verilator, as
// another testbench would: the unit must send exactly y_out.txt.
func TestVectorsReplay(t *testing.T) {
	rtltest.RequireTools(t, "verilator")
	dir := t.TempDir()
	rtl, vec := filepath.Join(dir, "rtl"), filepath.Join(dir, "vec")
	if r := tpugen(t, "rtl", "-out", rtl); r.code != exitOK {
		t.Fatalf("rtl: %s", r.stderr)
	}
	if r := tpugen(t, "vectors", "-model", filepath.Join("..", "..", "models", "lenet5_mnist.onnx"), "-image", "3", "-rtl", rtl, "-out", vec); r.code != exitOK {
		t.Fatalf("vectors: exit %d: %s", r.code, r.stderr)
	}
	readme, err := os.ReadFile(filepath.Join(vec, "README.txt"))
	if err != nil || !strings.Contains(string(readme), "00_conv1") || !strings.Contains(string(readme), "(host)") {
		t.Fatalf("README.txt: %v\n%s", err, readme)
	}
	man, err := arch.LoadManifest(rtl)
	if err != nil {
		t.Fatal(err)
	}
	hex := func(name string) []*big.Int {
		data, err := os.ReadFile(filepath.Join(vec, "01_conv2", "pass0", name))
		if err != nil {
			t.Fatal(err)
		}
		var out []*big.Int
		for _, line := range strings.Fields(string(data)) {
			v, ok := new(big.Int).SetString(line, 16)
			if !ok {
				t.Fatalf("%s: bad hex %q", name, line)
			}
			out = append(out, v)
		}
		return out
	}
	want := hex("y_out.txt")
	top := verify.SimTop(man, rtl)
	stim := top.StreamStimulus(map[string][]*big.Int{"w_in": hex("w_in.txt"), "a_in": hex("a_in.txt"), "p_in": hex("p_in.txt")},
		nil, map[string]int{"y_out": len(want)})
	res, err := sim.Verilator{}.Run(context.Background(), top, stim, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := res.Sinks[top.SinkIndex("y_out")]
	if len(got) != len(want) {
		t.Fatalf("%d y_out beats, y_out.txt has %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Data.Cmp(want[i]) != 0 {
			t.Fatalf("y_out beat %d = %x, y_out.txt says %x", i, got[i].Data, want[i])
		}
	}
}

// TestRunMismatch runs LeNet on RTL whose y_out values are corrupted: the
// run fails with exit 1, names the layer and the test image, prints a
// command that reruns the batch, and writes that image's golden vectors.
func TestRunMismatch(t *testing.T) {
	rtltest.RequireTools(t, "verilator")
	dir := t.TempDir()
	rtl := filepath.Join(dir, "rtl")
	if r := tpugen(t, "rtl", "-out", rtl); r.code != exitOK {
		t.Fatalf("rtl: %s", r.stderr)
	}
	man, err := arch.LoadManifest(rtl)
	if err != nil {
		t.Fatal(err)
	}
	rtltest.Misbehave(t, rtl, man, arch.StreamY, rtltest.FlipField, "values")
	r := tpugen(t, "run", "-model", filepath.Join("..", "..", "models", "lenet5_mnist.onnx"), "-rtl", rtl, "-skip", "5", "-n", "2", "-batch", "2")
	if r.code != exitMismatch {
		t.Fatalf("exit %d, want 1\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"MISMATCH in /conv1/Conv, test image 5", "reproduce: tpugen run", "-skip 5 -n 2", "-rtl " + rtl} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	_, after, ok := strings.Cut(r.stdout, "golden vectors of that image: ")
	vec := strings.TrimSpace(strings.SplitN(after, "\n", 2)[0])
	if !ok {
		t.Fatalf("no vectors written:\n%s", r.stdout)
	}
	defer os.RemoveAll(vec)
	if readme, err := os.ReadFile(filepath.Join(vec, "README.txt")); err != nil || !strings.Contains(string(readme), "test image 5 (label 1)") {
		t.Errorf("vectors README: %v\n%s", err, readme)
	}
}
