package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestOneMinusAUCPercent(t *testing.T) {
	for _, c := range []struct {
		name  string
		score []float64
		spam  []bool
		want  float64
	}{
		{"perfect", []float64{-2, -1, 1, 2}, []bool{false, false, true, true}, 0},
		{"inverted", []float64{2, 1, -1, -2}, []bool{false, false, true, true}, 100},
		{"all tied", []float64{0, 0, 0, 0}, []bool{false, true, false, true}, 50},
		{"one pair of four wrong", []float64{0, 3, 1, 2}, []bool{false, false, true, true}, 50},
		{"one spam tied with one ham", []float64{-1, 1, 1, 2}, []bool{false, false, true, true}, 12.5},
		{"one class", []float64{1, 2}, []bool{true, true}, 0},
	} {
		if got := oneMinusAUCPercent(c.score, c.spam); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s: %g, want %g", c.name, got, c.want)
		}
	}
}

// offsetSamples: the offset input carries the class with the given
// noise, input "x" carries it with xNoise, "noise" nothing.
func offsetSamples(n int, seed uint64, noise, xNoise float64) []Sample {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([]Sample, 0, n)
	for i := range n {
		spam := i%3 == 0
		y := -1.0
		if spam {
			y = 1
		}
		out = append(out, Sample{Spam: spam, X: []float32{
			float32(3*y + noise*rng.NormFloat64()),
			float32(y + xNoise*rng.NormFloat64()),
			float32(rng.NormFloat64()),
		}})
	}
	return out
}

// TestTrainShrinks: a network that cannot rank its held-out samples better
// than its offset is put out of service (log-odds × 0); one that can keeps
// its log-odds.
func TestTrainShrinks(t *testing.T) {
	names := []string{OffsetInput, "x", "noise"}
	for _, c := range []struct {
		name          string
		noise, xNoise float64
		zero          bool
	}{
		{"offset separates, x is noise", 0.1, 50, true},
		{"offset is weak, x separates", 6, 0.05, false},
	} {
		samples := offsetSamples(600, 1, c.noise, c.xNoise)
		n, rep, err := Train(names, samples, TrainOptions{Seed: 2, Hidden: 8, Members: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %+v", c.name, rep)
		var maxAbs float64
		for _, s := range samples[:50] {
			maxAbs = max(maxAbs, math.Abs(n.LogOdds(s.X)))
		}
		if c.zero {
			if rep.Shrink != 0 || maxAbs != 0 {
				t.Errorf("%s: shrink %g, log-odds up to %g; want 0", c.name, rep.Shrink, maxAbs)
			}
			continue
		}
		if rep.Shrink == 0 || maxAbs == 0 || !(rep.ShrunkAUC < rep.OffsetAUC) {
			t.Errorf("%s: shrink %g, (1-AUC)%% %g -> %g, log-odds up to %g; want the network in service", c.name, rep.Shrink, rep.OffsetAUC, rep.ShrunkAUC, maxAbs)
		}
	}
	// Without an offset input, or with ShrinkFolds < 0, nothing is shrunk.
	samples := offsetSamples(300, 3, 0.1, 50)
	if _, rep, err := Train(names, samples, TrainOptions{Seed: 2, Hidden: 4, Members: 1, ShrinkFolds: -1}); err != nil || rep.Shrink != 1 {
		t.Errorf("ShrinkFolds -1: shrink %g, %v", rep.Shrink, err)
	}
	if _, rep, err := Train([]string{"a", "x", "noise"}, samples, TrainOptions{Seed: 2, Hidden: 4, Members: 1}); err != nil || rep.Shrink != 1 {
		t.Errorf("no offset input: shrink %g, %v", rep.Shrink, err)
	}
}
