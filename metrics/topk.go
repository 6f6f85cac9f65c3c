package metrics

import (
	"fmt"
	"math"
	"slices"
)

// Score is a class score or a pixel: any integer or floating-point type.
type Score interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 |
		~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 |
		~float32 | ~float64
}

// ahead reports whether score a at index i ranks ahead of score b at index
// j: a greater score first, then the lower index; NaN below every number.
func ahead[S Score](a S, i int, b S, j int) bool {
	aNaN, bNaN := math.IsNaN(float64(a)), math.IsNaN(float64(b))
	switch {
	case aNaN || bNaN:
		if aNaN && bNaN {
			return i < j
		}
		return bNaN
	case a != b:
		return a > b
	default:
		return i < j
	}
}

// Rank is label's place among the classes of scores, 0 for the top class:
// how many classes rank ahead of it (see the package documentation for the
// tie rule). A label outside [0, len(scores)) has rank -1.
func Rank[S Score](scores []S, label int) int {
	if label < 0 || label >= len(scores) {
		return -1
	}
	r := 0
	for j, s := range scores {
		if j != label && ahead(s, j, scores[label], label) {
			r++
		}
	}
	return r
}

// InTopK reports whether label is among the k top-ranked classes of scores.
func InTopK[S Score](scores []S, label, k int) bool {
	r := Rank(scores, label)
	return r >= 0 && r < k
}

// TopK returns the indices of the k top-ranked classes of scores, best
// first (all of them when there are fewer than k).
func TopK[S Score](scores []S, k int) []int {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(i, j int) int {
		switch {
		case i == j:
			return 0
		case ahead(scores[i], i, scores[j], j):
			return -1
		}
		return 1
	})
	return idx[:max(0, min(k, len(idx)))]
}

// Accuracy tallies top-1 and top-5 hits over a labelled set.
type Accuracy struct {
	Images int // samples added
	Top1   int // samples whose label is the top class
	Top5   int // samples whose label is among the top five
}

// Add records one sample whose label has the given rank (from Rank; -1, a
// label with no score, is a miss).
func (a *Accuracy) Add(rank int) {
	a.Images++
	if rank == 0 {
		a.Top1++
	}
	if rank >= 0 && rank < 5 {
		a.Top5++
	}
}

// Merge adds b's tally to a's.
func (a *Accuracy) Merge(b Accuracy) {
	a.Images += b.Images
	a.Top1 += b.Top1
	a.Top5 += b.Top5
}

// Top1Rate is the fraction of samples with a top-1 hit (0 with none).
func (a Accuracy) Top1Rate() float64 { return rate(a.Top1, a.Images) }

// Top5Rate is the fraction of samples with a top-5 hit (0 with none).
func (a Accuracy) Top5Rate() float64 { return rate(a.Top5, a.Images) }

func rate(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// Count tallies a batch: scores holds one row of classes scores per label,
// row after row (a batch of a network's output tensor, as verify.Evaluate
// sees it).
func Count[S Score](scores []S, classes int, labels []int) (Accuracy, error) {
	var a Accuracy
	if classes <= 0 {
		return a, fmt.Errorf("metrics: %d classes", classes)
	}
	if len(scores) != classes*len(labels) {
		return a, fmt.Errorf("metrics: %d scores for %d labels of %d classes", len(scores), len(labels), classes)
	}
	for i, label := range labels {
		a.Add(Rank(scores[i*classes:(i+1)*classes], label))
	}
	return a, nil
}
