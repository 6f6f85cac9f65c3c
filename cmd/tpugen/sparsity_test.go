package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestSparsity runs the dense LeNet and the structurally pruned one on
// the default RTL in Verilator over a few images: the report names both,
// no value differs from the golden model, the CSV has a line per model
// with the pruned one in fewer cycles, and both plots are written.
func TestSparsity(t *testing.T) {
	out := t.TempDir()
	models := "../../models/lenet5_mnist.onnx,../../models/lenet5_mnist_prune_struct50.onnx"
	r := tpugen(t, "sparsity", "-n", "8", "-batch", "8", "-calib", "20", "-models", models, "-out", out)
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	for _, want := range []string{"lenet5_mnist_prune_struct50", "structured", "zero activation", "conv1"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	f, err := os.Open(filepath.Join(out, "sparsity.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("%d CSV lines, want a header and 2 models", len(recs))
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	ratio, err := strconv.ParseFloat(recs[2][col["cycle_ratio"]], 64)
	if err != nil || ratio >= 0.7 || recs[2][col["mismatches"]] != "0" {
		t.Errorf("struct50: cycle ratio %q, mismatches %q; want below 0.7 and 0", recs[2][col["cycle_ratio"]], recs[2][col["mismatches"]])
	}
	for _, p := range []string{"sparsity.png", "sparsity.svg"} {
		if st, err := os.Stat(filepath.Join(out, p)); err != nil || st.Size() < 1000 {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func TestSparsityBadInput(t *testing.T) {
	tpugen(t, "sparsity", "-n", "0").wantUserError(t, "sparsity", "-n")
	tpugen(t, "sparsity", "-sim", "golden", "-models", "nosuch.onnx").wantUserError(t, "sparsity", "nosuch.onnx")
}
