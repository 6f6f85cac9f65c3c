package nn

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"text/tabwriter"

	"google.golang.org/protobuf/proto"

	"github.com/tpugen/tpugen/nn/onnxpb"
)

// The ONNX project's backend tests, as Debian's libonnx-testdata installs
// them: each test directory holds model.onnx and test_data_set_*/ with
// input_*.pb and output_*.pb. node/ has one test per operator case; the
// pytorch-* and simple/ suites are small converted models.
const onnxTestData = "/usr/share/libonnx-testdata/data"

func conformanceSuites() []string {
	return []string{"node", "pytorch-converted", "pytorch-operator", "simple"}
}

// conformanceSkips lists the tests of supported operators that are known
// not to pass, each with the reason. A listed test that passes fails
// TestConformance, so the list cannot go stale.
func conformanceSkips() map[string]string {
	return map[string]string{
		// Training-mode Dropout with a non-zero ratio drops at random (the
		// expected outputs come from numpy's generator).
		"test_training_dropout":              "training-mode dropout is random",
		"test_training_dropout_default":      "training-mode dropout is random",
		"test_training_dropout_default_mask": "training-mode dropout is random",
		"test_training_dropout_mask":         "training-mode dropout is random",
		// BatchNormalization is implemented in its inference form only.
		"test_batchnorm_epsilon_training_mode": "training-mode batch normalization",
		"test_batchnorm_example_training_mode": "training-mode batch normalization",
		// Cast (and CastLike's expansion into Cast) between types nn does
		// not hold: the suite has no Cast test among float32, uint8, int8,
		// int32, int64 and bool (cast_test.go covers those).
		"test_cast_BFLOAT16_to_FLOAT":              "bfloat16 tensors",
		"test_cast_DOUBLE_to_FLOAT":                "double tensors",
		"test_cast_DOUBLE_to_FLOAT16":              "double and float16 tensors",
		"test_cast_FLOAT16_to_DOUBLE":              "double and float16 tensors",
		"test_cast_FLOAT16_to_FLOAT":               "float16 tensors",
		"test_cast_FLOAT_to_BFLOAT16":              "bfloat16 tensors",
		"test_cast_FLOAT_to_DOUBLE":                "double tensors",
		"test_cast_FLOAT_to_FLOAT16":               "float16 tensors",
		"test_cast_FLOAT_to_STRING":                "string tensors",
		"test_cast_STRING_to_FLOAT":                "string tensors",
		"test_castlike_BFLOAT16_to_FLOAT_expanded": "bfloat16 tensors",
		"test_castlike_DOUBLE_to_FLOAT16_expanded": "double and float16 tensors",
		"test_castlike_DOUBLE_to_FLOAT_expanded":   "double tensors",
		"test_castlike_FLOAT16_to_DOUBLE_expanded": "double and float16 tensors",
		"test_castlike_FLOAT16_to_FLOAT_expanded":  "float16 tensors",
		"test_castlike_FLOAT_to_BFLOAT16_expanded": "bfloat16 tensors",
		"test_castlike_FLOAT_to_DOUBLE_expanded":   "double tensors",
		"test_castlike_FLOAT_to_FLOAT16_expanded":  "float16 tensors",
		"test_castlike_FLOAT_to_STRING_expanded":   "string tensors",
		"test_castlike_STRING_to_FLOAT_expanded":   "string tensors",
		// Identity over optional and sequence values: nn holds tensors only.
		"test_identity_opt":      "optional type (tensors only)",
		"test_identity_sequence": "sequence type (tensors only)",
	}
}

// testDataRoot returns the test data directory, skipping (or, with
// TPUGEN_REQUIRE_SIMS set, failing) when it is not installed.
func testDataRoot(t *testing.T) string {
	t.Helper()
	root := onnxTestData
	if dir := os.Getenv("TPUGEN_ONNX_TESTDATA"); dir != "" {
		root = dir
	}
	if _, err := os.Stat(filepath.Join(root, "node")); err != nil {
		msg := fmt.Sprintf("ONNX backend test data not found at %s: run scripts/setup.sh (installs libonnx-testdata)", root)
		if os.Getenv("TPUGEN_REQUIRE_SIMS") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg + " (set TPUGEN_REQUIRE_SIMS=1 to fail instead)")
	}
	return root
}

// conformanceCase is one test directory whose operators nn supports.
type conformanceCase struct {
	name, dir string
	ops       []string
}

// conformanceCases walks the suites; cases with an operator nn does not
// support at the model's opset are counted, not returned.
func conformanceCases(t *testing.T, root string) (cases []conformanceCase, other int) {
	t.Helper()
	for _, suite := range conformanceSuites() {
		entries, err := os.ReadDir(filepath.Join(root, suite))
		if err != nil {
			continue
		}
		for _, e := range entries {
			dir := filepath.Join(root, suite, e.Name())
			data, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
			if err != nil {
				continue
			}
			var m onnxpb.ModelProto
			if err := proto.Unmarshal(data, &m); err != nil {
				t.Fatalf("%s: %v", dir, err)
			}
			opset := 0
			for _, o := range m.GetOpsetImport() {
				if o.GetDomain() == "" || o.GetDomain() == "ai.onnx" {
					opset = int(o.GetVersion())
				}
			}
			ops, supported := map[string]bool{}, true
			for _, n := range m.GetGraph().GetNode() {
				ops[n.GetOpType()] = true
				if (n.GetDomain() != "" && n.GetDomain() != "ai.onnx") || !OpSupported(n.GetOpType(), opset) {
					supported = false
				}
			}
			if !supported || len(ops) == 0 {
				other++
				continue
			}
			cases = append(cases, conformanceCase{name: e.Name(), dir: dir, ops: sortedKeys(ops)})
		}
	}
	return cases, other
}

func TestConformance(t *testing.T) {
	root := testDataRoot(t)
	cases, other := conformanceCases(t, root)
	skips := conformanceSkips()
	type counts struct{ run, passed, skipped int }
	perOp := map[string]*counts{}
	reasons := map[string]map[string]int{}
	seen := map[string]bool{}
	var total counts
	for _, c := range cases {
		seen[c.name] = true
		err := runConformance(c.dir)
		reason, skip := skips[c.name]
		for _, op := range append(c.ops, "") {
			if perOp[op] == nil {
				perOp[op], reasons[op] = &counts{}, map[string]int{}
			}
			k := perOp[op]
			if op == "" {
				k = &total
			}
			switch {
			case err == nil:
				k.run++
				k.passed++
			case skip:
				k.skipped++
				reasons[op][reason]++
			default:
				k.run++
			}
		}
		switch {
		case err == nil && skip:
			t.Errorf("%s passes but is in the skip list (%s): remove the entry", c.name, reason)
		case err != nil && !skip:
			t.Errorf("%s: %v", c.name, err)
		case err != nil:
			t.Logf("skip %s (%s): %v", c.name, reason, err)
		}
	}
	for name := range skips {
		if !seen[name] {
			t.Errorf("skip list names %s, which is not a supported-operator test", name)
		}
	}
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "operator\trun\tpassed\tskipped\treasons")
	for _, op := range sortedKeys(perOp) {
		if op == "" {
			continue
		}
		k := perOp[op]
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%s\n", op, k.run, k.passed, k.skipped, strings.Join(sortedReasons(reasons[op]), "; "))
	}
	fmt.Fprintf(w, "all tests\t%d\t%d\t%d\t%s\n", total.run, total.passed, total.skipped, strings.Join(sortedReasons(reasons[""]), "; "))
	fmt.Fprintf(w, "(not run)\t%d\t\t\tuse operators or opsets nn does not support\n", other)
	w.Flush()
	t.Logf("ONNX backend tests (%s)\n%s", root, b.String())
}

func sortedReasons(counts map[string]int) []string {
	var rs []string
	for _, r := range sortedKeys(counts) {
		rs = append(rs, fmt.Sprintf("%d %s", counts[r], r))
	}
	return rs
}

// runConformance loads a test's model, infers shapes from each data set's
// inputs, runs it and compares with the expected outputs.
func runConformance(dir string) error {
	sets, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
	if len(sets) == 0 {
		return fmt.Errorf("no test data sets")
	}
	for _, set := range sets {
		g, err := Load(filepath.Join(dir, "model.onnx"))
		if err != nil {
			return err
		}
		inputs, err := readTensors(set, "input", g.Inputs)
		if err != nil {
			return err
		}
		want, err := readTensors(set, "output", g.Outputs)
		if err != nil {
			return err
		}
		// Shape inference sees the inputs' shapes; int64 inputs (the
		// Reshape tests feed the target shape as data) are constants to it.
		shapes := map[string][]int{}
		var inputVals []Value
		for _, v := range g.Inputs {
			if t := inputs[v.Name]; t != nil && t.DType == Int64 {
				g.Initializers[v.Name] = t
				continue
			}
			shapes[v.Name] = inputs[v.Name].Shape
			inputVals = append(inputVals, v)
		}
		all := g.Inputs
		g.Inputs = inputVals
		if err := InferShapes(g, shapes); err != nil {
			return fmt.Errorf("infer shapes: %w", err)
		}
		for name, w := range want {
			if v := g.Values[name]; v.DType != w.DType || fmt.Sprint(v.Shape) != fmt.Sprint(w.Shape) {
				return fmt.Errorf("%s: inferred %v%v, expected %v", name, v.DType, v.Shape, w)
			}
		}
		g.Inputs = all
		for _, v := range all {
			delete(g.Initializers, v.Name)
		}
		got, err := Run(g, inputs)
		if err != nil {
			return err
		}
		for _, name := range sortedKeys(want) {
			if err := compareTensors(got[name], want[name], 1e-4, 1e-5); err != nil {
				return fmt.Errorf("%s: output %q: %w", filepath.Base(set), name, err)
			}
		}
	}
	return nil
}

// readTensors reads prefix_*.pb of a data set and names them: by the
// tensor's own name when it is one of vals, else by position.
func readTensors(set, prefix string, vals []Value) (map[string]*Tensor, error) {
	files, _ := filepath.Glob(filepath.Join(set, prefix+"_*.pb"))
	sort.Slice(files, func(i, j int) bool { return pbIndex(files[i]) < pbIndex(files[j]) })
	out := map[string]*Tensor{}
	for i, f := range files {
		t, name, err := ReadTensor(f)
		if err != nil {
			return nil, err
		}
		known := false
		for _, v := range vals {
			known = known || v.Name == name
		}
		if !known {
			if i >= len(vals) {
				return nil, fmt.Errorf("%s: %d %ss for %d graph %ss", set, len(files), prefix, len(vals), prefix)
			}
			name = vals[i].Name
		}
		out[name] = t
	}
	return out, nil
}

func pbIndex(path string) int {
	base := strings.TrimSuffix(filepath.Base(path), ".pb")
	var n int
	fmt.Sscanf(base[strings.LastIndex(base, "_")+1:], "%d", &n)
	return n
}

// compareTensors checks type, shape and values: floats within
// atol + rtol·|want| (NaN matches NaN), everything else exactly.
func compareTensors(got, want *Tensor, rtol, atol float64) error {
	if got == nil {
		return errors.New("missing")
	}
	if got.DType != want.DType || fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
		return fmt.Errorf("got %v, want %v", got, want)
	}
	if got.DType == Float32 {
		bad, first := 0, -1
		for i, w := range want.Float32 {
			g := got.Float32[i]
			gf, wf := float64(g), float64(w)
			if math.IsNaN(wf) && math.IsNaN(gf) || gf == wf || math.Abs(gf-wf) <= atol+rtol*math.Abs(wf) {
				continue
			}
			bad++
			if first < 0 {
				first = i
			}
		}
		if bad > 0 {
			return fmt.Errorf("%d of %d values differ; first at %d: got %v, want %v", bad, len(want.Float32), first, got.Float32[first], want.Float32[first])
		}
		return nil
	}
	g, w := got.int64s(), want.int64s()
	for i := range w {
		if g[i] != w[i] {
			return fmt.Errorf("value %d: got %d, want %d", i, g[i], w[i])
		}
	}
	return nil
}
