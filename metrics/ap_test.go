package metrics

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

// The worked example of R. Padilla, "Metrics for object detection"
// (github.com/rafaelpadilla/Object-Detection-Metrics, README.md, section
// "An ilustrated example"; also in Padilla, Netto and da Silva, "A Survey
// on Performance Metrics for Object-Detection Algorithms", IWSSIP 2020):
// 7 images, 15 ground-truth persons, 24 detections A–Y (no W), a detection
// is a true positive at IoU ≥ 30%. The boxes are the repository's
// groundtruths/0000N.txt and detections/0000N.txt ([x y width height]);
// the letters, confidences and TP/FP column are the README's Table 1.
//
// Padilla's IoU, like the PASCAL VOC devkit's, counts pixels inclusively:
// a box x, y, w, h covers pixel columns x to x+w, width w+1. Its boxes are
// therefore InclusivePixels(x, y, x+w, y+h) here. Detection G depends on
// it (TestPadillaContinuous).
var padillaTruth = [][]float64{ // image, x, y, w, h
	{1, 25, 16, 38, 56}, {1, 129, 123, 41, 62},
	{2, 123, 11, 43, 55}, {2, 38, 132, 59, 45},
	{3, 16, 14, 35, 48}, {3, 123, 30, 49, 44}, {3, 99, 139, 47, 47},
	{4, 53, 42, 40, 52}, {4, 154, 43, 31, 34},
	{5, 59, 31, 44, 51}, {5, 48, 128, 34, 52},
	{6, 36, 89, 52, 76}, {6, 62, 58, 44, 67},
	{7, 28, 31, 55, 63}, {7, 58, 67, 50, 58},
}

var padillaDets = []struct {
	image  int
	letter string
	conf   float64
	x, y   float64
	w, h   float64
	tp     bool // Table 1
}{
	{1, "A", .88, 5, 67, 31, 48, false},
	{1, "B", .70, 119, 111, 40, 67, true},
	{1, "C", .80, 124, 9, 49, 67, false},
	{2, "D", .71, 64, 111, 64, 58, false},
	{2, "E", .54, 26, 140, 60, 47, true},
	{2, "F", .74, 19, 18, 43, 35, false},
	{3, "G", .18, 109, 15, 77, 39, true},
	{3, "H", .67, 86, 63, 46, 45, false},
	{3, "I", .38, 160, 62, 36, 53, false},
	{3, "J", .91, 105, 131, 47, 47, true},
	{3, "K", .44, 18, 148, 40, 44, false},
	{4, "L", .35, 83, 28, 28, 26, false},
	{4, "M", .78, 28, 68, 42, 67, false},
	{4, "N", .45, 87, 89, 25, 39, false},
	{4, "O", .14, 10, 155, 60, 26, false},
	{5, "P", .62, 50, 38, 28, 46, true},
	{5, "Q", .44, 95, 11, 53, 28, false},
	{5, "R", .95, 29, 131, 72, 29, true},
	{5, "S", .23, 29, 163, 72, 29, false},
	{6, "T", .45, 43, 48, 74, 38, false},
	{6, "U", .84, 17, 155, 29, 35, false},
	{6, "V", .43, 95, 110, 25, 42, false},
	{7, "X", .48, 16, 20, 101, 88, true},
	{7, "Y", .95, 33, 116, 37, 49, false},
}

// padillaTable2 is the README's Table 2: the detections ranked by
// confidence (R before Y at 95%, N before T at 45%, K before Q at 44%: input
// order) with precision and recall truncated to four digits.
var padillaTable2 = []struct {
	letter            string
	precision, recall float64
}{
	{"R", 1, 0.0666}, {"Y", 0.5, 0.0666}, {"J", 0.6666, 0.1333},
	{"A", 0.5, 0.1333}, {"U", 0.4, 0.1333}, {"C", 0.3333, 0.1333},
	{"M", 0.2857, 0.1333}, {"F", 0.25, 0.1333}, {"D", 0.2222, 0.1333},
	{"B", 0.3, 0.2}, {"H", 0.2727, 0.2}, {"P", 0.3333, 0.2666},
	{"E", 0.3846, 0.3333}, {"X", 0.4285, 0.4}, {"N", 0.4, 0.4},
	{"T", 0.375, 0.4}, {"K", 0.3529, 0.4}, {"Q", 0.3333, 0.4},
	{"V", 0.3157, 0.4}, {"I", 0.3, 0.4}, {"L", 0.2857, 0.4},
	{"S", 0.2727, 0.4}, {"G", 0.3043, 0.4666}, {"O", 0.2916, 0.4666},
}

// padillaExample returns the example's boxes, made by box from x, y, w, h.
func padillaExample(box func(x, y, w, h float64) Box) ([]Detection, []GroundTruth) {
	var gts []GroundTruth
	for _, g := range padillaTruth {
		gts = append(gts, GroundTruth{Image: int(g[0]), Box: box(g[1], g[2], g[3], g[4])})
	}
	var dets []Detection
	for _, d := range padillaDets {
		dets = append(dets, Detection{Image: d.image, Score: d.conf, Box: box(d.x, d.y, d.w, d.h)})
	}
	return dets, gts
}

func padillaPixels(x, y, w, h float64) Box { return InclusivePixels(x, y, x+w, y+h) }

// TestAveragePrecisionPublishedCurve feeds the README's Table 2 curve (four
// digits) to AveragePrecision and checks the README's two results.
func TestAveragePrecisionPublishedCurve(t *testing.T) {
	var rec, prec []float64
	for _, row := range padillaTable2 {
		rec = append(rec, row.recall)
		prec = append(prec, row.precision)
	}
	// All points, README "Calculating the interpolation performed in all
	// points": A1 + A2 + A3 + A4 = 0.0666 + 0.04446222 + 0.11428095 +
	// 0.02026638 = 0.24560955.
	if got := AveragePrecision(rec, prec, AllPoints); math.Abs(got-0.24560955) > 1e-12 {
		t.Errorf("all points: AP = %.8f, published 0.24560955", got)
	}
	// Eleven points, README "Calculating the 11-point interpolation":
	// (1 + 0.6666 + 0.4285 + 0.4285 + 0.4285 + 0 + … + 0)/11 = 26.84%.
	if got := AveragePrecision(rec, prec, ElevenPoint); math.Abs(got-(1+0.6666+3*0.4285)/11) > 1e-12 ||
		math.Round(got*1e4) != 2684 {
		t.Errorf("11 points: AP = %.6f, published 26.84%%", got)
	}
}

// TestEvaluatePadilla runs the whole example from the boxes.
func TestEvaluatePadilla(t *testing.T) {
	dets, gts := padillaExample(padillaPixels)
	for _, tc := range []struct {
		interp Interpolation
		// AllPoints: the repository's results/results.txt prints
		// "AP: 24.57%" (the README's 24.56% adds four-digit values); exactly
		// 1/15·1 + 1/15·2/3 + 4/15·3/7 + 1/15·7/23 = 0.245687.
		// ElevenPoint: the README's 26.84%; exactly (1 + 2/3 + 3·3/7)/11 =
		// 0.268398.
		want, exact float64
	}{
		{AllPoints, 24.57, 1.0/15 + 1.0/15*2/3 + 4.0/15*3/7 + 1.0/15*7/23},
		{ElevenPoint, 26.84, (1 + 2.0/3 + 3*3.0/7) / 11},
	} {
		ev := Evaluate(dets, gts, Options{IoU: 0.3, Interpolation: tc.interp})
		if len(ev.Classes) != 1 {
			t.Fatalf("%v: %d classes, want 1", tc.interp, len(ev.Classes))
		}
		c := ev.Classes[0]
		if c.Positives != 15 {
			t.Errorf("%v: %d positives, want 15", tc.interp, c.Positives)
		}
		if math.Round(c.AP*1e4)/100 != tc.want || math.Abs(c.AP-tc.exact) > 1e-12 {
			t.Errorf("%v: AP = %.6f, published %.2f%%", tc.interp, c.AP, tc.want)
		}
		if ev.MAP != c.AP {
			t.Errorf("%v: mAP %v of one class is not its AP %v", tc.interp, ev.MAP, c.AP)
		}
		if tc.interp == AllPoints {
			if m := MAP(dets, gts, 0.3); m != c.AP {
				t.Errorf("MAP = %v, Evaluate's all-point mAP %v", m, c.AP)
			}
		}
	}

	ev := Evaluate(dets, gts, Options{IoU: 0.3})
	c := ev.Classes[0]
	if len(c.Ranked) != len(padillaTable2) {
		t.Fatalf("%d ranked detections, want %d", len(c.Ranked), len(padillaTable2))
	}
	for n, row := range padillaTable2 {
		i := c.Ranked[n]
		d := padillaDets[i]
		if d.letter != row.letter {
			t.Errorf("rank %d: detection %s, Table 2 has %s", n+1, d.letter, row.letter)
			continue
		}
		if want := map[bool]Outcome{true: TruePositive, false: FalsePositive}[d.tp]; c.Outcomes[n] != want {
			t.Errorf("%s: %v, Table 1 says %v", d.letter, c.Outcomes[n], want)
		}
		// Table 2 truncates to four digits.
		if p := c.Precision[n]; p < row.precision || p >= row.precision+1e-4 {
			t.Errorf("%s: precision %.6f, Table 2 %.4f", d.letter, p, row.precision)
		}
		if r := c.Recall[n]; r < row.recall || r >= row.recall+1e-4 {
			t.Errorf("%s: recall %.6f, Table 2 %.4f", d.letter, r, row.recall)
		}
	}
}

// TestPadillaContinuous shows what the box convention changes. G (image 3,
// 109 15 77 39) against the object 123 30 49 44: with continuous boxes the
// intersection is 49×24 = 1176 and the union 77·39 + 49·44 − 1176 = 3983,
// IoU 0.2953 < 0.3; counting pixels it is 50×25 = 1250 over
// 78·40 + 50·45 − 1250 = 4120, IoU 0.3034 ≥ 0.3. With continuous boxes G
// is a false positive, recall stops at 6/15, and AP (all points) loses the
// last step: 1/15·1 + 1/15·2/3 + 4/15·3/7 = 0.225397.
func TestPadillaContinuous(t *testing.T) {
	g, truth := padillaDets[6], padillaTruth[5]
	if g.letter != "G" {
		t.Fatalf("detection 6 is %s, not G", g.letter)
	}
	if got := IoU(XYWH(g.x, g.y, g.w, g.h), XYWH(truth[1], truth[2], truth[3], truth[4])); math.Abs(got-1176.0/3983) > 1e-12 {
		t.Errorf("continuous IoU(G) = %v, want 1176/3983", got)
	}
	if got := IoU(padillaPixels(g.x, g.y, g.w, g.h), padillaPixels(truth[1], truth[2], truth[3], truth[4])); math.Abs(got-1250.0/4120) > 1e-12 {
		t.Errorf("pixel IoU(G) = %v, want 1250/4120", got)
	}
	dets, gts := padillaExample(XYWH)
	ev := Evaluate(dets, gts, Options{IoU: 0.3})
	c := ev.Classes[0]
	for n, i := range c.Ranked {
		want := padillaDets[i].tp && padillaDets[i].letter != "G"
		if (c.Outcomes[n] == TruePositive) != want {
			t.Errorf("%s: %v", padillaDets[i].letter, c.Outcomes[n])
		}
	}
	if want := 1.0/15 + 1.0/15*2/3 + 4.0/15*3/7; math.Abs(c.AP-want) > 1e-12 {
		t.Errorf("continuous boxes: AP = %.6f, want %.6f", c.AP, want)
	}
}

func TestEvaluateClassesAndDifficult(t *testing.T) {
	// By hand. Image 0: a class-0 object, a difficult class-0 object, a
	// class-1 object; image 1: a class-0 object.
	gts := []GroundTruth{
		{Image: 0, Class: 0, Box: Box{0, 0, 10, 10}},
		{Image: 0, Class: 0, Box: Box{20, 0, 30, 10}, Difficult: true},
		{Image: 0, Class: 1, Box: Box{0, 20, 10, 30}},
		{Image: 1, Class: 0, Box: Box{0, 0, 10, 10}},
	}
	dets := []Detection{
		{Image: 0, Class: 0, Score: 0.9, Box: Box{0, 0, 10, 10}},  // TP
		{Image: 0, Class: 0, Score: 0.8, Box: Box{20, 0, 30, 10}}, // the difficult one: ignored
		{Image: 0, Class: 0, Score: 0.7, Box: Box{1, 0, 11, 10}},  // IoU 90/110 with a matched object: FP
		{Image: 1, Class: 0, Score: 0.6, Box: Box{0, 0, 10, 10}},  // TP
		{Image: 0, Class: 1, Score: 0.5, Box: Box{0, 20, 10, 30}}, // TP
		{Image: 1, Class: 1, Score: 0.4, Box: Box{0, 0, 10, 10}},  // a class-0 object only: FP
		{Image: 0, Class: 2, Score: 0.3, Box: Box{0, 0, 10, 10}},  // class 2 has no objects
	}
	// Class 0: 2 positives; TP, ignored, FP, TP: recall 1/2, 1/2, 1/2, 1;
	// precision 1, 1, 1/2, 2/3.
	//   all points: 1/2·1 + 1/2·2/3 = 5/6
	//   11 points: recall 0–0.5 (6 levels) at 1, 0.6–1 (5) at 2/3:
	//   (6 + 10/3)/11 = 28/33
	// Class 1: 1 positive; TP, FP: recall 1, 1; precision 1, 1/2; AP 1 both
	// ways. Class 2: no positives, AP NaN, left out of the mean.
	//   mAP: (5/6 + 1)/2 = 11/12, and (28/33 + 1)/2 = 61/66.
	for _, tc := range []struct {
		interp    Interpolation
		ap0, map_ float64
	}{
		{AllPoints, 5.0 / 6, 11.0 / 12},
		{ElevenPoint, 28.0 / 33, 61.0 / 66},
	} {
		ev := Evaluate(dets, gts, Options{IoU: 0.5, Interpolation: tc.interp})
		if got := len(ev.Classes); got != 3 {
			t.Fatalf("%v: %d classes, want 3", tc.interp, got)
		}
		c0, c1, c2 := ev.Classes[0], ev.Classes[1], ev.Classes[2]
		if c0.Class != 0 || c1.Class != 1 || c2.Class != 2 {
			t.Errorf("classes %d %d %d, want 0 1 2", c0.Class, c1.Class, c2.Class)
		}
		if want := []Outcome{TruePositive, Ignored, FalsePositive, TruePositive}; !slices.Equal(c0.Outcomes, want) {
			t.Errorf("class 0 outcomes %v, want %v", c0.Outcomes, want)
		}
		if want := []float64{0.5, 0.5, 0.5, 1}; !slices.Equal(c0.Recall, want) {
			t.Errorf("class 0 recall %v, want %v", c0.Recall, want)
		}
		if want := []float64{1, 1, 0.5, 2.0 / 3}; !slices.Equal(c0.Precision, want) {
			t.Errorf("class 0 precision %v, want %v", c0.Precision, want)
		}
		if c0.Positives != 2 || c1.Positives != 1 || c2.Positives != 0 {
			t.Errorf("positives %d %d %d, want 2 1 0", c0.Positives, c1.Positives, c2.Positives)
		}
		if math.Abs(c0.AP-tc.ap0) > 1e-12 || c1.AP != 1 || !math.IsNaN(c2.AP) {
			t.Errorf("%v: AP %v %v %v, want %v 1 NaN", tc.interp, c0.AP, c1.AP, c2.AP, tc.ap0)
		}
		if math.Abs(ev.MAP-tc.map_) > 1e-12 {
			t.Errorf("%v: mAP %v, want %v", tc.interp, ev.MAP, tc.map_)
		}
	}

	// Without the difficult flag the second object counts: 3 positives;
	// TP, TP, FP, TP: recall 1/3, 2/3, 2/3, 1; precision 1, 1, 2/3, 3/4;
	// all points: 2/3·1 + 1/3·3/4 = 11/12.
	gts[1].Difficult = false
	ev := Evaluate(dets, gts, Options{IoU: 0.5})
	if c0 := ev.Classes[0]; c0.Positives != 3 || math.Abs(c0.AP-11.0/12) > 1e-12 {
		t.Errorf("not difficult: %d positives, AP %v; want 3, 11/12", c0.Positives, c0.AP)
	}
}

func TestEvaluateMatching(t *testing.T) {
	tests := []struct {
		desc string
		gts  []GroundTruth
		dets []Detection
		iou  float64
		want []Outcome
	}{
		{
			// IoU exactly 1/2 (Box{0,0,2,1} against Box{0,0,1,1}).
			desc: "IoU equal to the threshold matches",
			gts:  []GroundTruth{{Box: Box{0, 0, 2, 1}}},
			dets: []Detection{{Score: 1, Box: Box{0, 0, 1, 1}}},
			iou:  0.5,
			want: []Outcome{TruePositive},
		},
		{
			desc: "below the threshold",
			gts:  []GroundTruth{{Box: Box{0, 0, 2, 1}}},
			dets: []Detection{{Score: 1, Box: Box{0, 0, 1, 1}}},
			iou:  0.51,
			want: []Outcome{FalsePositive},
		},
		{
			desc: "other image",
			gts:  []GroundTruth{{Image: 1, Box: Box{0, 0, 1, 1}}},
			dets: []Detection{{Image: 2, Score: 1, Box: Box{0, 0, 1, 1}}},
			iou:  0.5,
			want: []Outcome{FalsePositive},
		},
		{
			// VOC: a detection goes to its highest-IoU object even when
			// that one is taken and another would match: a duplicate, FP.
			// Objects A = [0,10] and B = [6,16] (height 1). The first
			// detection [0,10] takes A; the second, [2,12], has IoU 8/12
			// with A and 6/14 with B: A is taken, so it is a false
			// positive although B would clear 0.4.
			desc: "highest IoU taken: false positive",
			gts:  []GroundTruth{{Box: Box{0, 0, 10, 1}}, {Box: Box{6, 0, 16, 1}}},
			dets: []Detection{{Score: 0.9, Box: Box{0, 0, 10, 1}}, {Score: 0.8, Box: Box{2, 0, 12, 1}}},
			iou:  0.4,
			want: []Outcome{TruePositive, FalsePositive},
		},
		{
			// Equal IoU: the first object. The first detection, [1,3],
			// overlaps A = [0,2] and B = [2,4] by 1/3 each and takes A; the
			// second, exactly A, is then a duplicate.
			desc: "equal IoU: the first object",
			gts:  []GroundTruth{{Box: Box{0, 0, 2, 1}}, {Box: Box{2, 0, 4, 1}}},
			dets: []Detection{{Score: 0.9, Box: Box{1, 0, 3, 1}}, {Score: 0.8, Box: Box{0, 0, 2, 1}}},
			iou:  0.3,
			want: []Outcome{TruePositive, FalsePositive},
		},
		{
			// Matching is greedy by score, not by input order: the later,
			// higher-scored detection takes the object.
			desc: "greedy by score",
			gts:  []GroundTruth{{Box: Box{0, 0, 10, 10}}},
			dets: []Detection{{Score: 0.2, Box: Box{0, 0, 10, 10}}, {Score: 0.9, Box: Box{0, 0, 10, 9}}},
			iou:  0.5,
			want: []Outcome{TruePositive, FalsePositive}, // ranked: the 0.9 one first
		},
	}
	for _, tc := range tests {
		ev := Evaluate(tc.dets, tc.gts, Options{IoU: tc.iou})
		if got := ev.Classes[0].Outcomes; !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.desc, got, tc.want)
		}
	}
	if ev := Evaluate(nil, nil, Options{IoU: 0.5}); len(ev.Classes) != 0 || !math.IsNaN(ev.MAP) {
		t.Errorf("nothing: %+v, want no classes and NaN", ev)
	}
	if ap := AveragePrecision([]float64{1}, nil, AllPoints); !math.IsNaN(ap) {
		t.Errorf("mismatched curve: AP %v, want NaN", ap)
	}
	if ap := AveragePrecision(nil, nil, Interpolation(7)); !math.IsNaN(ap) {
		t.Errorf("unknown interpolation: AP %v, want NaN", ap)
	}
	for v, want := range map[fmt.Stringer]string{
		AllPoints: "all points", ElevenPoint: "11 points", Interpolation(7): "unknown interpolation",
		TruePositive: "TP", FalsePositive: "FP", Ignored: "ignored", Outcome(9): "unknown outcome",
	} {
		if got := v.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
	// Recall exactly 3/10 reaches the 0.3 level: levels 0, 0.1, 0.2 and
	// 0.3 at precision 1, AP 4/11. (A level computed as 0.1·3 is
	// 0.30000000000000004 and would give 3/11; numpy's arange(0, 1.1, 0.1),
	// used by common Python ports of the VOC devkit, computes it so.)
	if ap := AveragePrecision([]float64{0.1, 0.2, 3.0 / 10}, []float64{1, 1, 1}, ElevenPoint); ap != 4.0/11 {
		t.Errorf("recall 3/10: 11-point AP %v, want 4/11", ap)
	}
	if ap := AveragePrecision(nil, nil, AllPoints); ap != 0 {
		t.Errorf("empty curve: AP %v, want 0", ap)
	}
}
