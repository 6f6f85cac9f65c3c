package nn

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse, and what loads to InferShapes
// and (when small) Run: none of them may panic, and load errors are one
// line. Seeds: the conformance models, the committed models/*.onnx and the
// test models here; testdata/fuzz/FuzzParse keeps past crashers.
func FuzzParse(f *testing.F) {
	f.Add(convModel().bytes(f))
	f.Add(lenet().bytes(f))
	for _, suite := range conformanceSuites() {
		models, _ := filepath.Glob(filepath.Join(onnxTestData, suite, "*", "model.onnx"))
		for _, path := range models {
			if data, err := os.ReadFile(path); err == nil {
				f.Add(data)
			}
		}
	}
	committed, _ := filepath.Glob(filepath.Join("..", "models", "*.onnx"))
	for _, path := range committed {
		if data, err := os.ReadFile(path); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Parse(data, "fuzz.onnx")
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error of several lines: %q", err)
			}
			return
		}
		shapes := map[string][]int{}
		for _, v := range g.Inputs {
			if v.Shape == nil {
				return
			}
			s := make([]int, len(v.Shape))
			for i, d := range v.Shape {
				s[i] = max(d, 1)
			}
			shapes[v.Name] = s
		}
		if InferShapes(g, shapes) != nil || !smallGraph(g) {
			return
		}
		inputs := map[string]*Tensor{}
		for _, v := range g.Inputs {
			x, err := NewTensor(v.DType, v.Shape)
			if err != nil {
				return
			}
			inputs[v.Name] = x
		}
		_, _ = Run(g, inputs)
	})
}

// smallGraph bounds the work of running a fuzzed graph: every tensor, each
// window and each convolution filter hold at most 1024 elements.
func smallGraph(g *Graph) bool {
	const limit = 1024
	for _, v := range g.Values {
		if n, err := numElements(v.Shape); err != nil || n > limit {
			return false
		}
	}
	for _, n := range g.Nodes {
		if k := n.AttrInts("kernel_shape"); k != nil {
			if n, err := numElements(ints(k)); err != nil || n > limit {
				return false
			}
		}
	}
	return true
}
