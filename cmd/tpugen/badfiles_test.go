package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadFiles feeds every subcommand that reads a user's file a broken
// one — among them the inputs fuzzing found (a manifest with input_bits 0
// made the GEMM planner panic) — and runs the real binary: each gives one
// line naming the problem and exit status 2, never a stack trace.
func TestBadFiles(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	junk := string([]byte{0x00, 0xff, 0x1f, '{', '"', 0x8b, '\n', 0x7f, 0xc3})
	// A -rtl directory whose manifest is well-formed JSON with every stream
	// the planner needs, but operands 0 bits wide.
	zeroBits := filepath.Join(dir, "zerobits")
	os.MkdirAll(zeroBits, 0o755)
	writeFile(t, zeroBits, "manifest.json", `{"version":2,"config":{"rows":1,"cols":1,"input_signed":true},"top":"t",`+
		`"streams":[{"name":"w_in","fields":[{"name":"weights"}]},{"name":"a_in","fields":[{"name":"acts"},{"name":"addr"},{"name":"first"},{"name":"acc"},{"name":"last"}]},`+
		`{"name":"c_out","fields":[{"name":"sums"},{"name":"addr"}]}],"files":[{}]}`)
	lenet, err := os.ReadFile(filepath.Join("..", "..", "models", "lenet5_mnist_qdq.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), lenet...)
	flipped[len(flipped)/2] ^= 0xff
	for i := 100; i < 140; i++ {
		flipped[i] = 0xff
	}
	a := writeFile(t, dir, "A.txt", "1 2\n3 4\n")
	b := writeFile(t, dir, "B.txt", "1 0\n0 1\n")
	files := map[string]string{
		"junk.json":    junk,
		"huge.json":    `{"name": "x", "rows": 99999999999999999999, "cols": 2}`,
		"deep.json":    strings.Repeat("[", 100000),
		"junk.txt":     junk,
		"huge.txt":     "1 2\n3 99999999999999999999\n",
		"ragged.txt":   "1 2\n3\n",
		"junk.s":       junk,
		"fields.s":     "convolve k=5x pad=1,2,3 s=x1\n",
		"odd.bin":      strings.Repeat("\xff", 33),
		"illegal.bin":  strings.Repeat("\xff", 32),
		"junk.onnx":    junk,
		"flipped.onnx": string(flipped),
		"trunc.onnx":   string(lenet[:len(lenet)/3]),
		"bias.txt":     "0 0\n",
		"scales.txt":   "1e300 0.5\n",
	}
	path := map[string]string{}
	for name, content := range files {
		path[name] = writeFile(t, dir, name, content)
	}
	out := filepath.Join(dir, "out")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"rtl", "-config", path["junk.json"], "-out", out}, "junk.json"},
		{[]string{"rtl", "-config", path["huge.json"], "-out", out}, `key "rows"`},
		{[]string{"rtl", "-config", path["deep.json"], "-out", out}, "deep.json"},
		{[]string{"regress", "-config", path["junk.json"]}, "junk.json"},
		{[]string{"gemm", "-rtl", zeroBits, "-a", a, "-b", b, "-o", filepath.Join(dir, "C.txt")}, "input_bits 0"},
		{[]string{"regress", "-rtl", zeroBits}, "input_bits 0"},
		// The core's manifest has none of the matrix unit's streams: the
		// planners looked them up and panicked.
		{[]string{"gemm", "-rtl", filepath.Join("..", "..", "rtl-out", "core"), "-a", a, "-b", b, "-o", filepath.Join(dir, "C.txt")}, "not a matrix unit"},
		{[]string{"regress", "-rtl", filepath.Join("..", "..", "rtl-out", "core")}, "not a matrix unit"},
		{[]string{"gemm", "-a", path["junk.txt"], "-b", b, "-o", filepath.Join(dir, "C.txt")}, "junk.txt:1: value 1"},
		{[]string{"gemm", "-a", path["huge.txt"], "-b", b, "-o", filepath.Join(dir, "C.txt")}, "does not fit in 64 bits"},
		{[]string{"gemm", "-a", a, "-b", path["ragged.txt"], "-o", filepath.Join(dir, "C.txt")}, "ragged.txt:2: row has 1 values, want 2"},
		// Scales are float32: 1e300 overflowed to +Inf and panicked in the
		// multiplier's quantization; a huge effective scale made the RTL and
		// the reference disagree instead of being refused.
		{[]string{"layer", "-a", a, "-b", b, "-bias", path["bias.txt"], "-w-scales", path["scales.txt"], "-o", filepath.Join(dir, "Y.txt")}, "scales.txt: scale 0 = 1e+300"},
		{[]string{"layer", "-a", a, "-b", b, "-bias", path["bias.txt"], "-in-scale", "1e300", "-o", filepath.Join(dir, "Y.txt")}, "-in-scale 1e+300"},
		{[]string{"layer", "-a", a, "-b", b, "-bias", path["bias.txt"], "-in-scale", "1e30", "-out-scale", "1e-30", "-o", filepath.Join(dir, "Y.txt")}, "above the requantizer's 2^30"},
		{[]string{"asm", "-o", filepath.Join(dir, "p.bin"), path["junk.s"]}, "junk.s:1:"},
		{[]string{"asm", "-o", filepath.Join(dir, "p.bin"), path["fields.s"]}, "fields.s:1:"},
		{[]string{"disasm", path["odd.bin"]}, "odd.bin"},
		{[]string{"disasm", path["illegal.bin"]}, "illegal.bin"},
		{[]string{"run", "-model", path["junk.onnx"], "-sim", "golden", "-n", "1"}, "junk.onnx"},
		{[]string{"run", "-model", path["flipped.onnx"], "-sim", "golden", "-n", "1"}, "flipped.onnx"},
		{[]string{"run", "-model", path["trunc.onnx"], "-sim", "golden", "-n", "1"}, "trunc.onnx"},
		{[]string{"vectors", "-model", path["flipped.onnx"], "-image", "0", "-out", out}, "flipped.onnx"},
	} {
		cmd := exec.Command(exe, tc.args...)
		cmd.Env = append(os.Environ(), "TPUGEN_TEST_MAIN=1")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != exitUsage {
			t.Errorf("tpugen %v: %v, want exit status 2\n%s", tc.args, err, stderr.String())
		}
		r := result{exitUsage, stdout.String(), stderr.String()}
		r.wantUserError(t, tc.args[0], tc.want)
		if strings.Contains(r.stderr, "goroutine") || strings.Contains(r.stderr, "panic") {
			t.Errorf("tpugen %v: stack trace:\n%s", tc.args, r.stderr)
		}
	}
}
