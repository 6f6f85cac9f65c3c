package arch_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tpugen/tpugen/arch"
	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/quant"
)

// FuzzParseManifest feeds arbitrary bytes to ParseManifest, as `-rtl DIR`
// does with DIR/manifest.json (hand-edited or mutated RTL is untrusted, and
// so is its manifest): it returns a manifest or a one-line error, never
// panics, and planning a small GEMM and a small layer on a manifest it
// accepts returns a plan or an error, never panics. Seeds: the committed
// rtl-out manifests and testdata/fuzz/FuzzParseManifest.
func FuzzParseManifest(f *testing.F) {
	shipped, _ := filepath.Glob(filepath.Join("..", "rtl-out", "*", "manifest.json"))
	for _, path := range shipped {
		if data, err := os.ReadFile(path); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"version": 2, "top": "t", "files": [{"name": "t.v", "module": "t"}], "config": {"rows": 1, "cols": 1}}`))
	a := compile.Matrix{{1, -2, 3}, {4, 5, -6}}
	b := compile.Matrix{{1, 0}, {0, 1}, {-1, 2}}
	f.Fuzz(func(t *testing.T, data []byte) {
		man, err := arch.ParseManifest(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error of several lines: %q", err)
			}
			return
		}
		// Planning cost grows with the array and the fields' widths; a
		// hostile manifest may ask for any size, so bound the work here.
		if man.Config.Rows > 32 || man.Config.Cols > 32 || man.Config.AccDepth > 1<<16 || wideStreams(man) {
			return
		}
		_, _ = compile.PlanGEMM(man, a, b)
		layer := &compile.Layer{Kind: compile.FC, InShape: quant.Shape{N: 2, H: 1, W: 1, C: 3}, Input: []int8{1, -2, 3, 4, 5, -6},
			WeightShape: quant.Shape{N: 2, H: 1, W: 1, C: 3}, Weights: []int8{1, 0, -1, 0, 1, 2}, Bias: []int32{5, -5},
			Requant: compile.Requant{Multipliers: []int32{1 << 30, 1 << 29}, Shifts: []int{-1, 0}, ActMin: -128, ActMax: 127}}
		_, _ = compile.PlanLayer(man, layer)
	})
}

// wideStreams reports a stream wider than any generated design's, whose
// payloads would take the planner long to pack.
func wideStreams(man *arch.Manifest) bool {
	for _, s := range man.Streams {
		if s.Width > 1<<16 {
			return true
		}
		for _, f := range s.Fields {
			if f.Width > 1<<12 || f.Lanes > 1<<10 {
				return true
			}
		}
	}
	return false
}
