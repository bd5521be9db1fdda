package evalstats

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func samples(spam, ham []float64) []Sample {
	var s []Sample
	for _, v := range spam {
		s = append(s, Sample{Spam: true, Score: v})
	}
	for _, v := range ham {
		s = append(s, Sample{Spam: false, Score: v})
	}
	return s
}

func same(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return a == b || math.Abs(a-b) < 1e-12
}

func TestCompute(t *testing.T) {
	inf := math.Inf(1)
	nan := math.NaN()
	known := samples([]float64{0.35, 0.5, 0.6, 0.9, 0.95}, []float64{0.1, 0.2, 0.3, 0.4, 0.9})
	tests := []struct {
		name       string
		s          []Sample
		thr, maxFP float64
		want       Report
	}{
		{"perfect separation", samples([]float64{0.8, 0.9, 0.7}, []float64{0.1, 0.2}), 0.5, 0.001,
			Report{N: 5, Spam: 3, Ham: 2, Accuracy: 1, FPRate: 0, FNRate: 0,
				OneMinusAUCPercent: 0, FNRateAtFPR: 0, ThresholdAtFPR: 0.7}},
		{"reversed", samples([]float64{0.1, 0.2}, []float64{0.8, 0.9}), 0.5, 0.001,
			Report{N: 4, Spam: 2, Ham: 2, FP: 2, FN: 2, Accuracy: 0, FPRate: 1, FNRate: 1,
				OneMinusAUCPercent: 100, FNRateAtFPR: 1, ThresholdAtFPR: inf}},
		// All ties: AUC 1/2; any finite threshold calls every ham spam.
		{"all ties", samples([]float64{0.5, 0.5, 0.5}, []float64{0.5, 0.5}), 0.5, 0.001,
			Report{N: 5, Spam: 3, Ham: 2, FP: 2, Accuracy: 0.6, FPRate: 1, FNRate: 0,
				OneMinusAUCPercent: 50, FNRateAtFPR: 1, ThresholdAtFPR: inf}},
		// Hand-checked: U = 3 + 4 + 4 + 4.5 + 5 = 20.5 of 25 pairs → AUC 0.82.
		// FP rate 0: the ham at 0.9 is tied with a spam, so the threshold
		// cannot be 0.9 (that would call the ham spam): 0.95, FN 4/5.
		{"known FP 0", known, 0.5, 0,
			Report{N: 10, Spam: 5, Ham: 5, FP: 1, FN: 1, Accuracy: 0.8, FPRate: 0.2, FNRate: 0.2,
				OneMinusAUCPercent: 18, FNRateAtFPR: 0.8, ThresholdAtFPR: 0.95}},
		{"known FP 20%", known, 0.5, 0.2,
			Report{N: 10, Spam: 5, Ham: 5, FP: 1, FN: 1, Accuracy: 0.8, FPRate: 0.2, FNRate: 0.2,
				OneMinusAUCPercent: 18, FNRateAtFPR: 0.2, ThresholdAtFPR: 0.5}},
		{"known FP 40%", known, 0.5, 0.4,
			Report{N: 10, Spam: 5, Ham: 5, FP: 1, FN: 1, Accuracy: 0.8, FPRate: 0.2, FNRate: 0.2,
				OneMinusAUCPercent: 18, FNRateAtFPR: 0, ThresholdAtFPR: 0.35}},
		// Threshold is inclusive: score == threshold is spam.
		{"inclusive threshold", known, 0.9, 0.4,
			Report{N: 10, Spam: 5, Ham: 5, FP: 1, FN: 3, Accuracy: 0.6, FPRate: 0.2, FNRate: 0.6,
				OneMinusAUCPercent: 18, FNRateAtFPR: 0, ThresholdAtFPR: 0.35}},
		{"empty", nil, 0.5, 0.001,
			Report{Accuracy: nan, FPRate: nan, FNRate: nan, OneMinusAUCPercent: nan,
				FNRateAtFPR: nan, ThresholdAtFPR: inf}},
		{"only spam", samples([]float64{0.2, 0.9}, nil), 0.5, 0.001,
			Report{N: 2, Spam: 2, FN: 1, Accuracy: 0.5, FPRate: nan, FNRate: 0.5,
				OneMinusAUCPercent: nan, FNRateAtFPR: 0, ThresholdAtFPR: 0.2}},
		{"only ham", samples(nil, []float64{0.2, 0.9}), 0.5, 0.001,
			Report{N: 2, Ham: 2, FP: 1, Accuracy: 0.5, FPRate: 0.5, FNRate: nan,
				OneMinusAUCPercent: nan, FNRateAtFPR: nan, ThresholdAtFPR: inf}},
		// NaN scores count as -Inf.
		{"NaN score", samples([]float64{nan, 0.9}, []float64{0.1}), 0.5, 0,
			Report{N: 3, Spam: 2, Ham: 1, FN: 1, Accuracy: 2.0 / 3, FPRate: 0, FNRate: 0.5,
				OneMinusAUCPercent: 50, FNRateAtFPR: 0.5, ThresholdAtFPR: 0.9}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.want
			w.Threshold, w.MaxFPR = tc.thr, tc.maxFP
			g := Compute(tc.s, tc.thr, tc.maxFP)
			if g.N != w.N || g.Spam != w.Spam || g.Ham != w.Ham || g.FP != w.FP || g.FN != w.FN ||
				!same(g.Threshold, w.Threshold) || !same(g.MaxFPR, w.MaxFPR) ||
				!same(g.Accuracy, w.Accuracy) || !same(g.FPRate, w.FPRate) || !same(g.FNRate, w.FNRate) ||
				!same(g.OneMinusAUCPercent, w.OneMinusAUCPercent) ||
				!same(g.FNRateAtFPR, w.FNRateAtFPR) || !same(g.ThresholdAtFPR, w.ThresholdAtFPR) {
				t.Fatalf("got  %+v\nwant %+v", g, w)
			}
		})
	}
}

// The FP limit is maxFPR·ham false positives even where that product is
// not exact in floating point (0.7·90 = 62.99999999999999).
func TestMaxFPRRounding(t *testing.T) {
	for _, tc := range []struct {
		ham    int
		maxFPR float64
		fp     int
	}{{3000, 0.001, 3}, {90, 0.7, 63}, {1000, 0, 0}} {
		var s []Sample
		for i := range tc.ham {
			s = append(s, Sample{Score: float64(i) / float64(tc.ham)})
		}
		s = append(s, Sample{Spam: true, Score: 2}, Sample{Spam: true, Score: -1})
		r := Compute(s, 0.5, tc.maxFPR)
		// The lowest threshold with tc.fp ham at or above it.
		want := float64(tc.ham-tc.fp) / float64(tc.ham)
		if tc.fp == 0 {
			want = 2
		}
		if r.ThresholdAtFPR != want || r.FNRateAtFPR != 0.5 {
			t.Errorf("%d ham at %g: threshold %g (want %g), FN rate %g", tc.ham, tc.maxFPR, r.ThresholdAtFPR, want, r.FNRateAtFPR)
		}
	}
}

// bruteForce computes the figures the slow way: every spam–ham pair, and
// every candidate threshold.
func bruteForce(s []Sample, maxFPR float64) (oneMinusAUC, fnAt float64) {
	var num, pairs float64
	var nspam, nham int
	for _, a := range s {
		if a.Spam {
			nspam++
		} else {
			nham++
		}
		if !a.Spam {
			continue
		}
		for _, b := range s {
			if b.Spam {
				continue
			}
			pairs++
			switch {
			case a.Score > b.Score:
				num++
			case a.Score == b.Score:
				num += 0.5
			}
		}
	}
	best := 1.0
	for _, c := range s {
		var fp, fn int
		for _, x := range s {
			if x.Score >= c.Score && !x.Spam {
				fp++
			}
			if x.Score < c.Score && x.Spam {
				fn++
			}
		}
		if float64(fp) <= maxFPR*float64(nham)*(1+1e-9) {
			best = min(best, float64(fn)/float64(nspam))
		}
	}
	return 100 * (1 - num/pairs), best
}

func TestAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for trial := range 200 {
		n := 2 + rng.IntN(300)
		s := make([]Sample, n)
		levels := 1 + rng.IntN(40) // coarse scores give many ties
		for i := range s {
			spam := rng.IntN(3) == 0 || i == 0
			if i == 1 {
				spam = false
			}
			mean := 0.35
			if spam {
				mean = 0.6
			}
			v := math.Round((mean+0.25*rng.NormFloat64())*float64(levels)) / float64(levels)
			s[i] = Sample{Spam: spam, Score: v}
		}
		maxFPR := []float64{0, 0.001, 0.01, 0.05, 0.2}[trial%5]
		orig := append([]Sample(nil), s...)
		r := Compute(s, 0.5, maxFPR)
		auc, fn := bruteForce(s, maxFPR)
		if math.Abs(r.OneMinusAUCPercent-auc) > 1e-9 || math.Abs(r.FNRateAtFPR-fn) > 1e-12 {
			t.Fatalf("trial %d: (1-AUC)%% %g vs %g, FN@FP %g vs %g", trial, r.OneMinusAUCPercent, auc, r.FNRateAtFPR, fn)
		}
		for i := range s {
			if s[i] != orig[i] {
				t.Fatal("Compute modified its input")
			}
		}
	}
}

func TestStringAndJSON(t *testing.T) {
	r := Compute(samples([]float64{0.35, 0.5, 0.6, 0.9, 0.95}, []float64{0.1, 0.2, 0.3, 0.4, 0.9}), 0.5, 0.001)
	s := r.String()
	for _, want := range []string{
		"10 (5 spam, 5 ham)",
		"accuracy 80.000%",
		"FP 1 (20.000% of ham)",
		"FN 1 (20.000% of spam)",
		"(1-AUC)%:         18.0000",
		"FN rate at FP rate <= 0.100%: 80.000% (threshold 0.95)",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("String() lacks %q:\n%s", want, s)
		}
	}
	if strings.Count(s, "\n") < 4 {
		t.Errorf("not multi-line:\n%s", s)
	}

	empty := Compute(nil, 0.5, 0.001)
	if s := empty.String(); !strings.Contains(s, "n/a") || !strings.Contains(s, "+Inf") {
		t.Errorf("empty report:\n%s", s)
	}
	b, err := json.Marshal(empty)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"accuracy":null`) || !strings.Contains(string(b), `"threshold_at_fpr":null`) {
		t.Errorf("JSON: %s", b)
	}
	b, err = json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["one_minus_auc_percent"] != 18.0 || m["fn_rate_at_fpr"] != 0.8 || m["n"] != 10.0 {
		t.Errorf("JSON: %s", b)
	}
}

func BenchmarkCompute100k(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	s := make([]Sample, 100_000)
	for i := range s {
		s[i] = Sample{Spam: i%3 == 0, Score: rng.Float64()}
	}
	b.ReportAllocs()
	for b.Loop() {
		Compute(s, 0.5, 0.001)
	}
}

func TestTiebreak(t *testing.T) {
	// Equal scores, separated by the tiebreak: a perfect ranking.
	s := []Sample{{Spam: true, Score: 8, Tiebreak: 0.99}, {Spam: false, Score: 8, Tiebreak: 0.9}, {Spam: false, Score: 0}}
	r := Compute(s, 6, 0)
	if r.OneMinusAUCPercent != 0 || r.FP != 1 {
		t.Fatalf("tiebreak ignored: %+v", r)
	}
	if r.FNRateAtFPR != 0 {
		t.Fatalf("FN at FP=0 is %v, want 0 (the tiebreak separates them)", r.FNRateAtFPR)
	}
}

func TestROC(t *testing.T) {
	s := []Sample{{Spam: true, Score: 3}, {Spam: false, Score: 2}, {Spam: true, Score: 1}, {Spam: false, Score: 0}}
	got := ROC(s)
	want := []ROCPoint{{0, 0}, {0, 0.5}, {0.5, 0.5}, {0.5, 1}, {1, 1}}
	if len(got) != len(want) {
		t.Fatalf("ROC = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ROC = %v, want %v", got, want)
		}
	}
	if ROC(s[:1]) != nil {
		t.Fatal("ROC of one class should be nil")
	}
}
