package metrics

import (
	"math"
	"testing"
)

// d2lAnchors are the four boxes of the non-maximum suppression example in
// Dive into Deep Learning (d2l.ai), section 14.4.4 "Predicting Bounding
// Boxes with Non-Maximum Suppression", in (x1, y1, x2, y2) form and
// coordinates relative to the image.
var d2lAnchors = []Box{
	{0.1, 0.08, 0.52, 0.92},
	{0.08, 0.2, 0.56, 0.95},
	{0.15, 0.3, 0.62, 0.91},
	{0.55, 0.2, 0.9, 0.88},
}

func TestIoU(t *testing.T) {
	tests := []struct {
		desc string
		a, b Box
		want float64
		tol  float64
	}{
		{
			// MATLAB Computer Vision Toolbox, bboxOverlapRatio, example
			// "Compute the overlap ratio between the two bounding boxes":
			// bboxA = [150,80,100,100] ([x y width height]),
			// bboxB = bboxA + 50, overlapRatio = 0.0833.
			// By hand: the boxes span x 150–250 and 200–350, y 80–180 and
			// 130–280; the intersection is 50×50 = 2500, the union
			// 10000 + 22500 − 2500 = 30000, IoU = 1/12. (Taking x+w as
			// the last pixel column and adding 1 to every width, as
			// Padilla's code does, would give 51²/(101² + 151² − 51²) =
			// 0.0856.)
			desc: "MATLAB bboxOverlapRatio",
			a:    XYWH(150, 80, 100, 100), b: XYWH(200, 130, 150, 150),
			want: 0.0833, tol: 0.00005,
		},
		{
			// d2l anchors 0 and 1, by hand: intersection x 0.1–0.52, y
			// 0.2–0.92: 0.42×0.72 = 0.3024; areas 0.42×0.84 = 0.3528 and
			// 0.48×0.75 = 0.36; IoU = 0.3024/(0.3528 + 0.36 − 0.3024) =
			// 0.3024/0.4104 = 0.736842.
			desc: "d2l anchors 0, 1",
			a:    d2lAnchors[0], b: d2lAnchors[1],
			want: 0.3024 / 0.4104, tol: 1e-12,
		},
		{
			// d2l anchors 0 and 2, by hand: intersection 0.37×0.61 =
			// 0.2257; area of 2 is 0.47×0.61 = 0.2867; IoU =
			// 0.2257/(0.3528 + 0.2867 − 0.2257) = 0.2257/0.4138 = 0.545432.
			desc: "d2l anchors 0, 2",
			a:    d2lAnchors[0], b: d2lAnchors[2],
			want: 0.2257 / 0.4138, tol: 1e-12,
		},
		{"d2l anchors 0, 3 are apart", d2lAnchors[0], d2lAnchors[3], 0, 0},
		{"identical", Box{1, 2, 3, 5}, Box{1, 2, 3, 5}, 1, 0},
		{"contained: 4/16", Box{0, 0, 4, 4}, Box{1, 1, 3, 3}, 0.25, 0},
		{"half: 1/2", Box{0, 0, 2, 1}, Box{0, 0, 1, 1}, 0.5, 0},
		{"one third: 1/3", Box{0, 0, 2, 1}, Box{1, 0, 3, 1}, 1.0 / 3, 0},
		{"touching edges", Box{0, 0, 1, 1}, Box{1, 0, 2, 1}, 0, 0},
		{"apart", Box{0, 0, 1, 1}, Box{5, 5, 6, 6}, 0, 0},
		{"empty box", Box{0, 0, 0, 0}, Box{0, 0, 1, 1}, 0, 0},
		{"both empty", Box{}, Box{}, 0, 0},
		{"inverted box is empty", Box{2, 2, 0, 0}, Box{0, 0, 2, 2}, 0, 0},
	}
	for _, tc := range tests {
		for _, swap := range []bool{false, true} {
			a, b := tc.a, tc.b
			if swap {
				a, b = b, a
			}
			if got := IoU(a, b); math.Abs(got-tc.want) > tc.tol {
				t.Errorf("%s (swapped %v): IoU = %.6f, want %.6f", tc.desc, swap, got, tc.want)
			}
		}
	}
}

func TestBox(t *testing.T) {
	if got, want := XYWH(25, 16, 38, 56), (Box{25, 16, 63, 72}); got != want {
		t.Errorf("XYWH = %v, want %v", got, want)
	}
	if got, want := InclusivePixels(0, 0, 9, 4), (Box{0, 0, 10, 5}); got != want || got.Area() != 50 {
		t.Errorf("InclusivePixels = %v (area %v), want %v (area 50)", got, got.Area(), want)
	}
	for _, tc := range []struct {
		b    Box
		want float64
	}{{Box{0, 0, 3, 2}, 6}, {Box{1, 1, 1, 5}, 0}, {Box{3, 0, 1, 2}, 0}, {Box{0, 3, 2, 1}, 0}} {
		if got := tc.b.Area(); got != tc.want {
			t.Errorf("%v.Area() = %v, want %v", tc.b, got, tc.want)
		}
	}
}
