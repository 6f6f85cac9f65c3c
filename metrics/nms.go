package metrics

import (
	"math"
	"slices"
)

// Detection is one box predicted by a detector.
type Detection struct {
	Image int // the image of the set it was found in
	Class int
	Score float64
	Box   Box
}

// byScore returns the indices of dets, keep(i) true, ordered by descending
// score: equal scores in input order, NaN last.
func byScore(dets []Detection, keep func(i int) bool) []int {
	var idx []int
	for i := range dets {
		if keep(i) {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(i, j int) int {
		a, b := dets[i].Score, dets[j].Score
		aNaN, bNaN := math.IsNaN(a), math.IsNaN(b)
		switch {
		case aNaN || bNaN:
			if aNaN == bNaN {
				return 0
			}
			if aNaN {
				return 1
			}
			return -1
		case a > b:
			return -1
		case a < b:
			return 1
		}
		return 0
	})
	return idx
}

// NMS is greedy per-class non-maximum suppression: it returns the indices
// of the detections kept, by descending score (equal scores in input
// order). A detection is kept unless a kept detection of the same image and
// class, earlier in that order, overlaps it with IoU > threshold.
func NMS(dets []Detection, threshold float64) []int {
	order := byScore(dets, func(int) bool { return true })
	suppressed := make([]bool, len(dets))
	var kept []int
	for n, i := range order {
		if suppressed[i] {
			continue
		}
		kept = append(kept, i)
		for _, j := range order[n+1:] {
			if !suppressed[j] && dets[j].Image == dets[i].Image && dets[j].Class == dets[i].Class &&
				IoU(dets[i].Box, dets[j].Box) > threshold {
				suppressed[j] = true
			}
		}
	}
	return kept
}
