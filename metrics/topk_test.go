package metrics

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

func TestTopKPublished(t *testing.T) {
	tests := []struct {
		desc   string
		scores [][]float64
		labels []int
		k      int
		hits   int // published count of samples whose label is in the top k
		rate   float64
	}{
		{
			// scikit-learn, sklearn.metrics.top_k_accuracy_score, docstring
			// example: top_k_accuracy_score(y_true, y_score, k=2) = 0.75, and
			// with normalize=False, 3.
			desc: "scikit-learn top_k_accuracy_score",
			scores: [][]float64{
				{0.5, 0.2, 0.2}, // 0 is in top 2
				{0.3, 0.4, 0.2}, // 1 is in top 2
				{0.2, 0.4, 0.3}, // 2 is in top 2
				{0.7, 0.2, 0.1}, // 2 isn't in top 2
			},
			labels: []int{0, 1, 2, 2},
			k:      2, hits: 3, rate: 0.75,
		},
		{
			// MindSpore, mindspore.train.TopKCategoricalAccuracy(3),
			// documentation example: prints 0.6666666666666666.
			desc: "MindSpore TopKCategoricalAccuracy",
			scores: [][]float64{
				{0.2, 0.5, 0.3, 0.6, 0.2},
				{0.1, 0.35, 0.5, 0.2, 0.},
				{0.9, 0.6, 0.2, 0.01, 0.3},
			},
			labels: []int{2, 0, 1},
			k:      3, hits: 2, rate: 0.6666666666666666,
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			hits := 0
			for i, row := range tc.scores {
				if InTopK(row, tc.labels[i], tc.k) {
					hits++
				}
			}
			if hits != tc.hits {
				t.Errorf("hits = %d, published %d", hits, tc.hits)
			}
			if r := rate(hits, len(tc.labels)); r != tc.rate {
				t.Errorf("rate = %v, published %v", r, tc.rate)
			}
		})
	}
}

func TestRankTies(t *testing.T) {
	// Hand example: 7 at classes 1, 2 and 4 tie; the lower index ranks
	// first, so the order is 1, 2, 4, 0 (score 5), 3 (score 3).
	scores := []int8{5, 7, 7, 3, 7}
	wantRank := []int{3, 0, 1, 4, 2}
	for label, want := range wantRank {
		if got := Rank(scores, label); got != want {
			t.Errorf("Rank(label %d) = %d, want %d", label, got, want)
		}
	}
	if got, want := TopK(scores, 3), []int{1, 2, 4}; !slices.Equal(got, want) {
		t.Errorf("TopK(3) = %v, want %v", got, want)
	}
	if got, want := TopK(scores, 9), []int{1, 2, 4, 0, 3}; !slices.Equal(got, want) {
		t.Errorf("TopK(9) = %v, want %v", got, want)
	}
	if InTopK(scores, 4, 2) || !InTopK(scores, 4, 3) {
		t.Errorf("label 4 (rank 2) must be in the top 3 and not in the top 2")
	}
}

func TestRankEdges(t *testing.T) {
	tests := []struct {
		desc   string
		scores []float64
		label  int
		want   int
	}{
		{"label below range", []float64{1, 2, 3}, -1, -1},
		{"label above range", []float64{1, 2, 3}, 3, -1},
		{"no classes", nil, 0, -1},
		{"NaN ranks last", []float64{math.NaN(), 1, 2}, 0, 2},
		{"NaN below a lower index", []float64{1, math.NaN(), math.NaN()}, 2, 2},
		{"number ahead of NaN", []float64{math.NaN(), 1}, 1, 0},
		{"negative scores", []float64{-3, -1, -2}, 2, 1},
		{"infinities", []float64{math.Inf(-1), math.Inf(1), 0}, 0, 2},
	}
	for _, tc := range tests {
		if got := Rank(tc.scores, tc.label); got != tc.want {
			t.Errorf("%s: Rank = %d, want %d", tc.desc, got, tc.want)
		}
	}
	if got, want := TopK([]float64{math.NaN(), 1, math.NaN(), 2}, 4), []int{3, 1, 0, 2}; !slices.Equal(got, want) {
		t.Errorf("TopK with NaN = %v, want %v", got, want)
	}
	if got := TopK([]float64{1, 2}, 0); len(got) != 0 {
		t.Errorf("TopK(0) = %v, want none", got)
	}
	if got := TopK([]float64{1, 2}, -1); len(got) != 0 {
		t.Errorf("TopK(-1) = %v, want none", got)
	}
}

// stableTop is the ranking verify.Evaluate (topK) and the run command
// (rank) use today: a stable sort of the class indices by descending score.
func stableTop[S Score](row []S, label int) (top1, top5 bool) {
	idx := make([]int, len(row))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return row[idx[a]] > row[idx[b]] })
	return len(idx) > 0 && idx[0] == label, slices.Contains(idx[:min(5, len(idx))], label)
}

// TestSameAsStableSort checks that Rank keeps the run command's semantics,
// ties included: small score ranges make ties common.
func TestSameAsStableSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 2000 {
		classes := 1 + r.IntN(12)
		label := r.IntN(classes + 1) // sometimes out of range
		i8 := make([]int8, classes)
		f32 := make([]float32, classes)
		for j := range classes {
			i8[j] = int8(r.IntN(4) - 2)
			f32[j] = float32(r.IntN(3)) / 2
		}
		check := func(name string, rank int, want1, want5 bool) {
			var a Accuracy
			a.Add(rank)
			if (a.Top1 == 1) != want1 || (a.Top5 == 1) != want5 {
				t.Fatalf("case %d %s label %d: top1 %d top5 %d, stable sort says %v %v (%v %v)",
					n, name, label, a.Top1, a.Top5, want1, want5, i8, f32)
			}
		}
		want1, want5 := stableTop(i8, label)
		check("int8", Rank(i8, label), want1, want5)
		want1, want5 = stableTop(f32, label)
		check("float32", Rank(f32, label), want1, want5)
	}
}

func TestAccuracy(t *testing.T) {
	// Three images of four classes: label 2 is the top class (rank 0);
	// label 1 ties class 0 at 9, and class 0 ranks first (rank 1); label 3
	// ranks 3, in the top five but not first.
	scores := []int8{
		1, 2, 9, 0, // label 2: top class
		9, 9, 1, 1, // label 1: tie with class 0, which ranks first: rank 1
		4, 3, 2, 1, // label 3: rank 3, still in the top 5
	}
	got, err := Count(scores, 4, []int{2, 1, 3})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Accuracy{Images: 3, Top1: 1, Top5: 3}); got != want {
		t.Errorf("Count = %+v, want %+v", got, want)
	}
	if got.Top1Rate() != 1.0/3 || got.Top5Rate() != 1 {
		t.Errorf("rates = %v, %v", got.Top1Rate(), got.Top5Rate())
	}
	var total Accuracy
	total.Merge(got)
	total.Add(5)  // rank 5: a miss
	total.Add(-1) // a label with no score: a miss, even with 3 classes
	if want := (Accuracy{Images: 5, Top1: 1, Top5: 3}); total != want {
		t.Errorf("after Merge and Add = %+v, want %+v", total, want)
	}
	if (Accuracy{}).Top1Rate() != 0 {
		t.Errorf("empty tally rate not 0")
	}
	for _, bad := range []struct {
		classes int
		labels  []int
	}{{0, nil}, {5, []int{1, 2, 3}}, {4, []int{1}}} {
		if _, err := Count(scores, bad.classes, bad.labels); err == nil {
			t.Errorf("Count(%d classes, %d labels) of 12 scores: no error", bad.classes, len(bad.labels))
		}
	}
}
