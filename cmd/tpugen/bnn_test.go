package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestBNNBadInput checks tpugen bnn's user mistakes: one line, exit 2.
func TestBNNBadInput(t *testing.T) {
	models := filepath.Join("..", "..", "models")
	binCfg := filepath.Join("..", "..", "configs", "binary.json")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-n", "0"}, "must be at least 1"},
		{[]string{"-sim", "spice"}, "want verilator, icarus or golden"},
		{[]string{"-sim", "golden", "-binary-config", filepath.Join("..", "..", "configs", "default.json")}, "-binary-config a binary one"},
		{[]string{"-sim", "golden", "-binary-config", binCfg, "-model", filepath.Join(models, "none.onnx")}, "no such file"},
		{[]string{"-sim", "golden", "-binary-config", binCfg, "-model", filepath.Join(models, "lenet5_mnist.onnx")}, "holds Flatten, Gemm, Sign and Softmax only"},
		{[]string{"-sim", "golden", "-binary-config", binCfg, "-model", filepath.Join(models, "bnn_mnist.onnx"), "-skip", "9999", "-n", "2"}, "the test set has 10000 images"},
	} {
		r := tpugen(t, append([]string{"bnn"}, tc.args...)...)
		r.wantUserError(t, "bnn", tc.want)
	}
}

// TestBNNGolden runs the committed binarized MLP on the golden model.
func TestBNNGolden(t *testing.T) {
	r := tpugen(t, "bnn", "-sim", "golden", "-n", "40", "-binary-config", filepath.Join("..", "..", "configs", "binary.json"),
		"-model", filepath.Join("..", "..", "models", "bnn_mnist.onnx"))
	if r.code != exitOK || !strings.Contains(r.stdout, "top-1: float") || !strings.Contains(r.stdout, "binary (8/lane)") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
