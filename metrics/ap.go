package metrics

import (
	"math"
	"slices"
)

// Interpolation is how average precision summarises a precision/recall
// curve.
type Interpolation int

const (
	// AllPoints is PASCAL VOC 2010 onwards: the area under the precision
	// envelope (the highest precision at any recall ≥ r), summed over the
	// steps where recall changes.
	AllPoints Interpolation = iota
	// ElevenPoint is PASCAL VOC 2007: the mean of the envelope at recall
	// 0, 0.1, …, 1 (0 where no point reaches that recall).
	ElevenPoint
)

func (i Interpolation) String() string {
	switch i {
	case AllPoints:
		return "all points"
	case ElevenPoint:
		return "11 points"
	}
	return "unknown interpolation"
}

// AveragePrecision summarises a precision/recall curve: recall[i] and
// precision[i] are the values after the first i+1 ranked detections, so
// recall never decreases. It is NaN when the lengths differ or the
// interpolation is unknown.
func AveragePrecision(recall, precision []float64, interp Interpolation) float64 {
	if len(recall) != len(precision) {
		return math.NaN()
	}
	switch interp {
	case AllPoints:
		// The envelope from the right, then the area of its steps from
		// recall 0 (PASCAL VOC 2010 devkit, VOCap.m, without its
		// sentinels: a step of zero width adds nothing).
		env := slices.Clone(precision)
		for i := len(env) - 2; i >= 0; i-- {
			env[i] = max(env[i], env[i+1])
		}
		ap, prev := 0.0, 0.0
		for i, r := range recall {
			ap += (r - prev) * env[i]
			prev = r
		}
		return ap
	case ElevenPoint:
		sum := 0.0
		for step := 0; step <= 10; step++ {
			// step/10, the double nearest the level: 0.1·3 would be
			// 0.30000000000000004 and miss a recall of exactly 3/10.
			t := float64(step) / 10
			p := 0.0
			for i, r := range recall {
				if r >= t {
					p = max(p, precision[i])
				}
			}
			sum += p
		}
		return sum / 11
	}
	return math.NaN()
}

// GroundTruth is one annotated object.
type GroundTruth struct {
	Image int
	Class int
	Box   Box
	// Difficult (PASCAL VOC's flag) objects are not counted as positives,
	// and a detection matched to one is neither a true nor a false
	// positive.
	Difficult bool
}

// Outcome is what matching made of a detection.
type Outcome int8

const (
	FalsePositive Outcome = iota
	TruePositive
	Ignored // matched a difficult ground truth
)

func (o Outcome) String() string {
	switch o {
	case FalsePositive:
		return "FP"
	case TruePositive:
		return "TP"
	case Ignored:
		return "ignored"
	}
	return "unknown outcome"
}

// Options configure Evaluate.
type Options struct {
	// IoU is the matching threshold: a detection can match a ground truth
	// with IoU ≥ IoU (0.5 in PASCAL VOC).
	IoU           float64
	Interpolation Interpolation
}

// ClassAP is one class's matching and average precision.
type ClassAP struct {
	Class     int
	Positives int       // ground truths not marked difficult
	Ranked    []int     // indices in the detections of this class, best first
	Outcomes  []Outcome // one per Ranked
	// Recall and Precision after each ranked detection (an ignored one
	// repeats the previous values; 0, 0 before any); nil without positives.
	Recall, Precision []float64
	AP                float64 // NaN without positives
}

// Evaluation is a detector's result over a set.
type Evaluation struct {
	Classes []ClassAP // every class with a detection or a ground truth, ascending
	// MAP is the mean AP over the classes with positives, NaN when there
	// are none.
	MAP float64
}

// MAP is the mean average precision of dets against gts at the IoU
// threshold, all-point interpolated (PASCAL VOC 2010 onwards).
func MAP(dets []Detection, gts []GroundTruth, iou float64) float64 {
	return Evaluate(dets, gts, Options{IoU: iou, Interpolation: AllPoints}).MAP
}

// Evaluate matches dets to gts class by class (the rules are in the package
// documentation) and computes each class's average precision and their
// mean.
func Evaluate(dets []Detection, gts []GroundTruth, opt Options) Evaluation {
	var classes []int
	for _, d := range dets {
		classes = append(classes, d.Class)
	}
	for _, g := range gts {
		classes = append(classes, g.Class)
	}
	slices.Sort(classes)
	classes = slices.Compact(classes)

	type key struct{ image, class int }
	truth := map[key][]int{}
	for j, g := range gts {
		k := key{g.Image, g.Class}
		truth[k] = append(truth[k], j)
	}
	matched := make([]bool, len(gts))

	ev := Evaluation{MAP: math.NaN()}
	sum, counted := 0.0, 0
	for _, c := range classes {
		res := ClassAP{Class: c, AP: math.NaN()}
		for _, g := range gts {
			if g.Class == c && !g.Difficult {
				res.Positives++
			}
		}
		res.Ranked = byScore(dets, func(i int) bool { return dets[i].Class == c })
		res.Outcomes = make([]Outcome, len(res.Ranked))
		for n, i := range res.Ranked {
			d := dets[i]
			best, jbest := math.Inf(-1), -1
			for _, j := range truth[key{d.Image, c}] {
				if iou := IoU(d.Box, gts[j].Box); iou > best {
					best, jbest = iou, j
				}
			}
			switch {
			case jbest < 0 || best < opt.IoU:
				res.Outcomes[n] = FalsePositive
			case gts[jbest].Difficult:
				res.Outcomes[n] = Ignored
			case matched[jbest]:
				res.Outcomes[n] = FalsePositive
			default:
				matched[jbest] = true
				res.Outcomes[n] = TruePositive
			}
		}
		if res.Positives > 0 {
			tp, fp := 0, 0
			for _, o := range res.Outcomes {
				switch o {
				case TruePositive:
					tp++
				case FalsePositive:
					fp++
				}
				res.Recall = append(res.Recall, float64(tp)/float64(res.Positives))
				res.Precision = append(res.Precision, rate(tp, tp+fp))
			}
			res.AP = AveragePrecision(res.Recall, res.Precision, opt.Interpolation)
			sum += res.AP
			counted++
		}
		ev.Classes = append(ev.Classes, res)
	}
	if counted > 0 {
		ev.MAP = sum / float64(counted)
	}
	return ev
}
