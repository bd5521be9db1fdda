// Package evalstats computes the accuracy figures that `sluice eval` and the
// benchmarks report from scored, labelled messages, and draws their ROC
// curve (PlotROC).
//
// A message is called spam when its score is at or above a threshold
// (score >= t). All figures treat spam as the positive class:
//
//	FP rate  = ham called spam / ham
//	FN rate  = spam called ham / spam
//	accuracy = correctly called / all
//
// # (1-AUC)%
//
// The area under the ROC curve is computed as the Mann–Whitney rank
// statistic: the probability that a random spam scores higher than a random
// ham, ties counted as 1/2,
//
//	AUC = (Σ over spam of (#ham with lower score + ½·#ham with equal score)) / (#spam · #ham)
//
// from one sort of the scores, O(n log n). It is reported as
// (1-AUC)·100, the "(1-ROCA)%" of the TREC spam track: 0 is perfect
// separation, 50 is chance, 100 is perfectly reversed.
//
// # FN rate at a maximum FP rate
//
// FNRateAtFPR answers "how much spam gets through if at most MaxFPR of the
// ham may be lost" (TREC uses 0.1%). Candidate thresholds are the observed
// scores plus +Inf (call nothing spam). Lowering the threshold can only add
// false positives and remove false negatives, so the best threshold is the
// lowest candidate t whose FP rate, counting every ham with score >= t, is
// still <= MaxFPR. Ties are therefore handled conservatively: a threshold
// inside a group of equal scores calls the whole group spam, so a ham tied
// with a spam can never be "split off".
//
// # Undefined values
//
// A rate whose denominator is zero (no samples, no spam, no ham) is NaN, as
// is the AUC unless both classes are present; [Report.String] prints these
// as "n/a" and [Report.MarshalJSON] as null. NaN scores count as -Inf.
package evalstats

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Sample is one scored message.
type Sample struct {
	Spam  bool    // true label
	Score float64 // higher = spammier, e.g. the Bayes probability or the total score
	// Tiebreak orders samples of equal Score for the ROC figures (not for
	// the fixed threshold): e.g. the Bayes probability under a total score
	// that saturates. Zero when unused.
	Tiebreak float64
}

// Report holds the accuracy figures of one evaluation.
type Report struct {
	N, Spam, Ham int

	// At the given threshold (score >= Threshold is called spam).
	Threshold float64
	FP, FN    int // ham called spam, spam called ham
	Accuracy  float64
	FPRate    float64
	FNRate    float64

	// (1-AUC)·100, as in the TREC spam track.
	OneMinusAUCPercent float64

	// The smallest FN rate with FP rate <= MaxFPR, at ThresholdAtFPR (an
	// observed score, or +Inf when even the highest score would exceed
	// MaxFPR).
	MaxFPR         float64
	FNRateAtFPR    float64
	ThresholdAtFPR float64
}

type point struct {
	score, tie float64
	spam       bool
}

// Compute evaluates samples at threshold and at the best threshold whose
// FP rate is at most maxFPR (e.g. 0.001 for 0.1%). It does not modify
// samples.
func Compute(samples []Sample, threshold float64, maxFPR float64) Report {
	r := Report{N: len(samples), Threshold: threshold, MaxFPR: maxFPR}
	pts := make([]point, len(samples))
	for i, s := range samples {
		sc := s.Score
		if math.IsNaN(sc) {
			sc = math.Inf(-1)
		}
		pts[i] = point{sc, s.Tiebreak, s.Spam}
		calledSpam := sc >= threshold
		if s.Spam {
			r.Spam++
			if !calledSpam {
				r.FN++
			}
		} else {
			r.Ham++
			if calledSpam {
				r.FP++
			}
		}
	}
	r.Accuracy = ratio(r.N-r.FP-r.FN, r.N)
	r.FPRate = ratio(r.FP, r.Ham)
	r.FNRate = ratio(r.FN, r.Spam)

	slices.SortFunc(pts, func(a, b point) int {
		if c := cmp.Compare(a.score, b.score); c != 0 {
			return c
		}
		return cmp.Compare(a.tie, b.tie)
	})

	// AUC: walk groups of equal score upwards. twice the Mann–Whitney U
	// is kept as an exact integer: each spam in a group earns 2 per ham
	// below and 1 per ham in the group.
	var u2, hamBelow int64
	for i := 0; i < len(pts); {
		j, s, h := groupEnd(pts, i)
		u2 += s * (2*hamBelow + h)
		hamBelow += h
		i = j
	}
	if pairs := 2 * int64(r.Spam) * int64(r.Ham); pairs > 0 {
		r.OneMinusAUCPercent = 100 * float64(pairs-u2) / float64(pairs)
	} else {
		r.OneMinusAUCPercent = math.NaN()
	}

	// FN rate at FP rate <= maxFPR: walk groups downwards from +Inf and
	// stop at the first group that pushes the FP rate over the limit.
	allowed := maxFPR * float64(r.Ham) * (1 + 1e-9) // tolerance for rounding of e.g. 0.001·3000
	r.ThresholdAtFPR = math.Inf(1)
	fnAt := r.Spam
	var fp, tp int64
	for j := len(pts); j > 0; {
		start := j - 1
		for start > 0 && pts[start-1].same(pts[j-1]) {
			start--
		}
		for _, p := range pts[start:j] {
			if p.spam {
				tp++
			} else {
				fp++
			}
		}
		if float64(fp) > allowed {
			break
		}
		r.ThresholdAtFPR = pts[start].score
		fnAt = r.Spam - int(tp)
		j = start
	}
	r.FNRateAtFPR = ratio(fnAt, r.Spam)
	return r
}

func (p point) same(q point) bool { return p.score == q.score && p.tie == q.tie }

// groupEnd returns the end of the group of equal scores starting at i and
// its spam and ham counts.
func groupEnd(pts []point, i int) (j int, spam, ham int64) {
	for j = i; j < len(pts) && pts[j].same(pts[i]); j++ {
		if pts[j].spam {
			spam++
		} else {
			ham++
		}
	}
	return j, spam, ham
}

func ratio(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// String is a readable multi-line summary.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "samples:          %d (%d spam, %d ham)\n", r.N, r.Spam, r.Ham)
	fmt.Fprintf(&b, "at threshold %s: accuracy %s, FP %d (%s of ham), FN %d (%s of spam)\n",
		num(r.Threshold), pct(r.Accuracy), r.FP, pct(r.FPRate), r.FN, pct(r.FNRate))
	fmt.Fprintf(&b, "(1-AUC)%%:         %s\n", fixed(r.OneMinusAUCPercent, 4))
	fmt.Fprintf(&b, "FN rate at FP rate <= %s: %s (threshold %s)\n",
		pct(r.MaxFPR), pct(r.FNRateAtFPR), num(r.ThresholdAtFPR))
	return b.String()
}

func pct(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.3f%%", 100*v)
}

func fixed(v float64, prec int) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.*f", prec, v)
}

func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case math.IsInf(v, 1):
		return "+Inf (nothing called spam)"
	}
	return fmt.Sprintf("%.6g", v)
}

// jsonFloat marshals NaN and ±Inf, which JSON cannot represent, as null.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(v)
}

// MarshalJSON encodes the report with snake_case keys; undefined values
// (NaN) and an infinite threshold become null.
func (r Report) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		N                  int       `json:"n"`
		Spam               int       `json:"spam"`
		Ham                int       `json:"ham"`
		Threshold          jsonFloat `json:"threshold"`
		FP                 int       `json:"fp"`
		FN                 int       `json:"fn"`
		Accuracy           jsonFloat `json:"accuracy"`
		FPRate             jsonFloat `json:"fp_rate"`
		FNRate             jsonFloat `json:"fn_rate"`
		OneMinusAUCPercent jsonFloat `json:"one_minus_auc_percent"`
		MaxFPR             jsonFloat `json:"max_fpr"`
		FNRateAtFPR        jsonFloat `json:"fn_rate_at_fpr"`
		ThresholdAtFPR     jsonFloat `json:"threshold_at_fpr"`
	}{
		r.N, r.Spam, r.Ham, jsonFloat(r.Threshold), r.FP, r.FN,
		jsonFloat(r.Accuracy), jsonFloat(r.FPRate), jsonFloat(r.FNRate),
		jsonFloat(r.OneMinusAUCPercent), jsonFloat(r.MaxFPR),
		jsonFloat(r.FNRateAtFPR), jsonFloat(r.ThresholdAtFPR),
	})
}

// ROCPoint is one point of the ROC curve.
type ROCPoint struct{ FPR, TPR float64 }

// ROC returns the ROC curve of samples, from (0,0) to (1,1), one point per
// group of equal (Score, Tiebreak), highest scores first.
func ROC(samples []Sample) []ROCPoint {
	pts := make([]point, len(samples))
	var nSpam, nHam int
	for i, s := range samples {
		sc := s.Score
		if math.IsNaN(sc) {
			sc = math.Inf(-1)
		}
		pts[i] = point{sc, s.Tiebreak, s.Spam}
		if s.Spam {
			nSpam++
		} else {
			nHam++
		}
	}
	if nSpam == 0 || nHam == 0 {
		return nil
	}
	slices.SortFunc(pts, func(a, b point) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return cmp.Compare(b.tie, a.tie)
	})
	curve := []ROCPoint{{0, 0}}
	var tp, fp int
	for i := 0; i < len(pts); {
		j := i
		for ; j < len(pts) && pts[j].same(pts[i]); j++ {
			if pts[j].spam {
				tp++
			} else {
				fp++
			}
		}
		curve = append(curve, ROCPoint{float64(fp) / float64(nHam), float64(tp) / float64(nSpam)})
		i = j
	}
	return curve
}
