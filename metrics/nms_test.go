package metrics

import (
	"math"
	"slices"
	"testing"
)

func TestNMS(t *testing.T) {
	tests := []struct {
		desc      string
		dets      []Detection
		threshold float64
		want      []int
	}{
		{
			// Dive into Deep Learning (d2l.ai), section 14.4.4: anchors
			// 0–2 predicted "dog" with 0.9, 0.8, 0.7 and anchor 3 "cat"
			// with 0.9, NMS threshold 0.5. The published output keeps dog
			// 0.9 (anchor 0) then cat 0.9 (anchor 3) and marks anchors 1
			// and 2 (dog 0.8, 0.7) -1, suppressed: their IoU with anchor 0
			// is 0.737 and 0.545 (TestIoU), both > 0.5. d2l suppresses
			// across classes; here anchor 3 is another class and apart
			// anyway, so per-class NMS gives the same answer.
			desc: "d2l anchors",
			dets: []Detection{
				{Class: 0, Score: 0.9, Box: d2lAnchors[0]},
				{Class: 0, Score: 0.8, Box: d2lAnchors[1]},
				{Class: 0, Score: 0.7, Box: d2lAnchors[2]},
				{Class: 1, Score: 0.9, Box: d2lAnchors[3]},
			},
			threshold: 0.5,
			want:      []int{0, 3},
		},
		{
			// The same boxes all one class: anchor 3 overlaps none, kept.
			desc: "d2l anchors, one class",
			dets: []Detection{
				{Score: 0.9, Box: d2lAnchors[0]},
				{Score: 0.8, Box: d2lAnchors[1]},
				{Score: 0.7, Box: d2lAnchors[2]},
				{Score: 0.9, Box: d2lAnchors[3]},
			},
			threshold: 0.5,
			want:      []int{0, 3},
		},
		{
			// Raising the threshold past IoU(0, 2) = 0.545 keeps anchor 2;
			// anchor 1 (0.737) is still suppressed.
			desc: "d2l anchors, threshold 0.6",
			dets: []Detection{
				{Score: 0.9, Box: d2lAnchors[0]},
				{Score: 0.8, Box: d2lAnchors[1]},
				{Score: 0.7, Box: d2lAnchors[2]},
			},
			threshold: 0.6,
			want:      []int{0, 2},
		},
		{
			desc: "other classes are not suppressed",
			dets: []Detection{
				{Class: 1, Score: 0.9, Box: Box{0, 0, 10, 10}},
				{Class: 2, Score: 0.8, Box: Box{0, 0, 10, 10}},
				{Class: 1, Score: 0.7, Box: Box{0, 0, 10, 10}},
			},
			threshold: 0.5,
			want:      []int{0, 1},
		},
		{
			desc: "other images are not suppressed",
			dets: []Detection{
				{Image: 0, Score: 0.9, Box: Box{0, 0, 10, 10}},
				{Image: 1, Score: 0.8, Box: Box{0, 0, 10, 10}},
			},
			threshold: 0.5,
			want:      []int{0, 1},
		},
		{
			// IoU exactly 0.5 (1/2): only IoU > threshold suppresses.
			desc: "IoU equal to the threshold survives",
			dets: []Detection{
				{Score: 0.9, Box: Box{0, 0, 2, 1}},
				{Score: 0.8, Box: Box{0, 0, 1, 1}},
			},
			threshold: 0.5,
			want:      []int{0, 1},
		},
		{
			desc: "IoU just above the threshold is suppressed",
			dets: []Detection{
				{Score: 0.9, Box: Box{0, 0, 2, 1}},
				{Score: 0.8, Box: Box{0, 0, 1, 1}},
			},
			threshold: 0.49,
			want:      []int{0},
		},
		{
			desc: "equal scores: the earlier input wins",
			dets: []Detection{
				{Score: 0.5, Box: Box{0, 0, 10, 10}},
				{Score: 0.7, Box: Box{20, 0, 30, 10}},
				{Score: 0.5, Box: Box{0, 0, 10, 9}},
			},
			threshold: 0.5,
			want:      []int{1, 0},
		},
		{
			// Greedy: A suppresses B (IoU 7/13 = 0.54); C overlaps B by
			// 7/13 too but B is gone, and A–C is 4/16 = 0.25, so C stays.
			desc: "a suppressed box suppresses nothing",
			dets: []Detection{
				{Score: 0.9, Box: Box{0, 0, 10, 1}},
				{Score: 0.8, Box: Box{3, 0, 13, 1}},
				{Score: 0.7, Box: Box{6, 0, 16, 1}},
			},
			threshold: 0.5,
			want:      []int{0, 2},
		},
		{
			desc: "NaN scores come last",
			dets: []Detection{
				{Score: math.NaN(), Box: Box{0, 0, 10, 10}},
				{Score: 0.1, Box: Box{0, 0, 10, 10}},
			},
			threshold: 0.5,
			want:      []int{1},
		},
		{desc: "none", dets: nil, threshold: 0.5, want: nil},
	}
	for _, tc := range tests {
		if got := NMS(tc.dets, tc.threshold); !slices.Equal(got, tc.want) {
			t.Errorf("%s: NMS = %v, want %v", tc.desc, got, tc.want)
		}
	}
}
