package verify

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/google/go-cmp/cmp"

	"github.com/tpugen/tpugen/compile"
	"github.com/tpugen/tpugen/quant"
)

// Mismatch is the outcome of comparing an RTL result with the golden one.
type Mismatch struct {
	Count int      // differing elements
	First []string // the first few, with coordinates: "C[3][1] = 5, want 7"
	Index []int    // flat (row-major) index of every differing element, ascending
}

// String is "" for no mismatch, else the count and the first differences.
func (m Mismatch) String() string {
	if m.Count == 0 {
		return ""
	}
	return fmt.Sprintf("%d differ: %s", m.Count, strings.Join(m.First, "; "))
}

// maxReported is how many differences a Mismatch describes.
const maxReported = 3

// diffReporter collects the differing leaves of a go-cmp comparison of two
// maps keyed by flat index, so every element is compared with its partner
// by position (a slice diff would align by edit distance instead).
type diffReporter struct {
	path  cmp.Path
	diffs []int // flat indexes, in go-cmp's (sorted key) order
}

func (r *diffReporter) PushStep(ps cmp.PathStep) { r.path = append(r.path, ps) }
func (r *diffReporter) PopStep()                 { r.path = r.path[:len(r.path)-1] }
func (r *diffReporter) Report(rs cmp.Result) {
	if rs.Equal() {
		return
	}
	for i := len(r.path) - 1; i >= 0; i-- {
		if mi, ok := r.path[i].(cmp.MapIndex); ok {
			r.diffs = append(r.diffs, int(mi.Key().Int()))
			return
		}
	}
}

// diffIndexes compares want and got element by element with go-cmp and
// returns the flat indexes that differ (a missing element differs).
func diffIndexes[T comparable](want, got []T) []int {
	if slices.Equal(want, got) {
		return nil // the common case, without building maps
	}
	byIndex := cmp.Transformer("byIndex", func(s []T) map[int]T {
		m := make(map[int]T, len(s))
		for i, v := range s {
			m[i] = v
		}
		return m
	})
	var r diffReporter
	cmp.Equal(want, got, byIndex, cmp.Reporter(&r))
	sort.Ints(r.diffs)
	return r.diffs
}

// CompareMatrices compares an RTL result matrix with the golden one.
func CompareMatrices(want, got compile.Matrix) Mismatch {
	m, n := want.Dims()
	flat := func(x compile.Matrix) []int64 {
		out := make([]int64, 0, m*n)
		for _, row := range x {
			out = append(out, row...)
		}
		return out
	}
	w, g := flat(want), flat(got)
	mm := Mismatch{Index: diffIndexes(w, g)}
	for _, k := range mm.Index {
		mm.Count++
		if len(mm.First) < maxReported {
			gv := "missing"
			if k < len(g) {
				gv = fmt.Sprint(g[k])
			}
			wv := "nothing"
			if k < len(w) {
				wv = fmt.Sprint(w[k])
			}
			mm.First = append(mm.First, fmt.Sprintf("C[%d][%d] = %s, want %s", k/max(n, 1), k%max(n, 1), gv, wv))
		}
	}
	return mm
}

// CompareTensors compares an RTL int8 output of the given NHWC shape with
// the golden one, naming differences by (n, y, x, c).
func CompareTensors(want, got []int8, shape quant.Shape) Mismatch {
	mm := Mismatch{Index: diffIndexes(want, got)}
	for _, k := range mm.Index {
		mm.Count++
		if len(mm.First) < maxReported {
			C, W, H := max(shape.C, 1), max(shape.W, 1), max(shape.H, 1)
			c, x, y, n := k%C, k/C%W, k/(C*W)%H, k/(C*W*H)
			gv, wv := "missing", "nothing"
			if k < len(got) {
				gv = fmt.Sprint(got[k])
			}
			if k < len(want) {
				wv = fmt.Sprint(want[k])
			}
			mm.First = append(mm.First, fmt.Sprintf("out[n=%d y=%d x=%d c=%d] = %s, want %s", n, y, x, c, gv, wv))
		}
	}
	return mm
}
