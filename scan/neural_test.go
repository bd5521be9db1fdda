package scan

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/bayes"
	"github.com/sluicemail/sluice/nn"
	"github.com/sluicemail/sluice/rules"
)

type staticNet struct{ n *nn.Network }

func (s staticNet) Network() *nn.Network { return s.n }

func TestScanNeural(t *testing.T) {
	f := newFixture(t)
	set, err := rules.New(rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Bayes: bayes.DefaultConfig(), Actions: Thresholds{AddHeader: 0.4, Reject: 40}, Rules: set}
	plain := New(f.w, opts)
	names := plain.InputNames()
	if !slices.Contains(names, "MISSING_MID") || !slices.Contains(names, InputBayesProb) || !slices.Contains(names, "meta:urls") {
		t.Fatalf("input names %v", names)
	}
	// A network that says spam exactly when MISSING_MID fired: one hidden
	// unit reading that input, a big output weight.
	// NOT_HERE is unknown to the scanner (0); 3 of 4 names known is enough.
	in := []string{"MISSING_MID", InputBayesProb, "meta:urls", "NOT_HERE"}
	net := &nn.Network{Inputs: in, Digest: nn.InputDigest(in), Hidden: 1, HiddenAct: nn.ReLU, OutAct: nn.Tanh,
		Offset: make([]float32, 4), Scale: []float32{1, 1, 1, 1}, W1: []float32{10, 0, 0, 5}, B1: []float32{0}, W2: []float32{1}, B2: -1}
	net, err = roundTrip(net)
	if err != nil {
		t.Fatal(err)
	}
	opts.Neural = Neural{Source: staticNet{net}, SpamWeight: 4, HamWeight: -3}
	s := New(f.w, opts)
	for _, c := range []struct {
		msg  string
		want string
	}{
		{"From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n", SymbolNeuralSpam},
		{"From: a@example.org\r\nMessage-ID: <x@example.org>\r\nSubject: hi\r\n\r\nbody\r\n", SymbolNeuralHam},
	} {
		v, err := s.Scan(context.Background(), strings.NewReader(c.msg), Request{})
		if err != nil {
			t.Fatal(err)
		}
		last := v.Symbols[len(v.Symbols)-1]
		if last.Name != c.want || len(v.Inputs) != len(names) {
			t.Fatalf("symbols %+v, %d inputs", v.Symbols, len(v.Inputs))
		}
		var sum float64
		for _, sym := range v.Symbols {
			sum += sym.Score
		}
		if sum != v.Score || (c.want == SymbolNeuralSpam) != (v.Neural > 0) {
			t.Errorf("score %v, symbols sum to %v, neural %v", v.Score, sum, v.Neural)
		}
	}
	// No network in service: no symbol, no vector unless asked.
	s = New(f.w, Options{Bayes: bayes.DefaultConfig(), Rules: set, Neural: Neural{Source: staticNet{}}})
	v, err := s.Scan(context.Background(), strings.NewReader("From: a@example.org\r\n\r\nx\r\n"), Request{})
	if err != nil || v.Neural != 0 || strings.Contains(symbolNames(v), "NEURAL") {
		t.Fatalf("%v %+v", err, v.Symbols)
	}
}

func symbolNames(v *Verdict) string {
	var b strings.Builder
	for _, s := range v.Symbols {
		b.WriteString(s.Name + " ")
	}
	return b.String()
}

func roundTrip(n *nn.Network) (*nn.Network, error) {
	b, err := n.Marshal()
	if err != nil {
		return nil, err
	}
	return nn.Unmarshal(b)
}

// constNet is a network whose output is tanh(b) for every message.
func constNet(t *testing.T, b float32) *nn.Network {
	t.Helper()
	in := []string{InputBayesProb}
	n, err := roundTrip(&nn.Network{Inputs: in, Digest: nn.InputDigest(in), Hidden: 1, HiddenAct: nn.ReLU, OutAct: nn.Tanh,
		Offset: []float32{0}, Scale: []float32{1}, W1: []float32{0}, B1: []float32{0}, W2: []float32{0}, B2: b})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestScanProfiles: a request's settings profile picks its thresholds and
// its own network; a profile without a network yet, or without its own
// thresholds, falls back to the defaults.
func TestScanProfiles(t *testing.T) {
	f := newFixture(t)
	opts := Options{
		Bayes:    bayes.DefaultConfig(),
		Actions:  Thresholds{AddHeader: 0.4, Reject: 40},
		Profiles: map[string]Thresholds{"strict": {AddHeader: 1, Reject: 2}},
		Neural: Neural{
			Source:     staticNet{constNet(t, -3)}, // ham
			Profiles:   map[string]NetworkSource{"strict": staticNet{constNet(t, 3)}, "fresh": staticNet{}},
			SpamWeight: 4, HamWeight: -4,
		},
	}
	s := New(f.w, opts)
	msg := "From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n"
	tests := []struct {
		profile    string
		wantSym    string
		wantAction Action
		required   float64
	}{
		{"", SymbolNeuralHam, NoAction, 0.4},
		{"strict", SymbolNeuralSpam, Reject, 1},     // its network says spam (4 × log-odds 6), its reject is 2
		{"fresh", SymbolNeuralHam, NoAction, 0.4},   // no network of its own yet: the default one
		{"unknown", SymbolNeuralHam, NoAction, 0.4}, // not configured: the defaults
	}
	for _, tt := range tests {
		t.Run(tt.profile, func(t *testing.T) {
			v, err := s.Scan(context.Background(), strings.NewReader(msg), Request{Profile: tt.profile})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(symbolNames(v), tt.wantSym) || v.Action != tt.wantAction || v.Required != tt.required || v.Profile != tt.profile {
				t.Fatalf("profile %q: symbols %s, action %v, required %v, verdict profile %q", tt.profile, symbolNames(v), v.Action, v.Required, v.Profile)
			}
		})
	}
}

// TestNonFiniteSkipped: a network in service whose output is NaN (a NaN
// weight set in memory; no valid file can carry one) is left out of the
// verdict, named in Skipped and counted, and the score stays finite.
func TestNonFiniteSkipped(t *testing.T) {
	f := newFixture(t)
	net := constNet(t, 1)
	opts := Options{Bayes: bayes.DefaultConfig(), Actions: Thresholds{AddHeader: 0.4, Reject: 40},
		Neural: Neural{Source: staticNet{net}, SpamWeight: 4, HamWeight: -3}}
	s := New(f.w, opts)
	msg := "From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n"
	v, err := s.Scan(context.Background(), strings.NewReader(msg), Request{})
	if err != nil || !strings.Contains(symbolNames(v), SymbolNeuralSpam) || v.Skipped != "" || s.NonFinite() != 0 {
		t.Fatalf("finite network: %v, symbols %+v, skipped %q", err, v.Symbols, v.Skipped)
	}
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1))} {
		net.B1[0] = bad
		before := s.NonFinite()
		v, err := s.Scan(context.Background(), strings.NewReader(msg), Request{Explain: true})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(symbolNames(v), "NEURAL") || v.Skipped != "neural" || s.NonFinite() != before+1 ||
			math.IsNaN(v.Score) || math.IsInf(v.Score, 0) || v.Neural != 0 {
			t.Fatalf("B1 %v: symbols %+v, skipped %q, score %v, neural %v, counted %d", bad, v.Symbols, v.Skipped, v.Score, v.Neural, s.NonFinite()-before)
		}
	}
}
