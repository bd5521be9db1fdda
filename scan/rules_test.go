package scan

import (
	"context"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/bayes"
	"github.com/sluicemail/sluice/rules"
)

func TestScanRules(t *testing.T) {
	f := newFixture(t)
	set, err := rules.New(rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := New(f.w, Options{Bayes: bayes.DefaultConfig(), Actions: Thresholds{AddHeader: 0.4, Reject: 40}, Rules: set})
	// A header bigger than one read, LF line ends, no Message-ID or Date.
	msg := "From: a@example.org\nX-Pad: " + strings.Repeat("x", 70000) + "\nSubject: FREE MONEY NOW FOR YOU\n\nbody text\n"
	v, err := s.Scan(context.Background(), strings.NewReader(msg), Request{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, sym := range v.Symbols {
		got[sym.Name] = sym.Score
	}
	// The rules see the tokenizer's parse: the long field is cut at
	// MaxLineBytes, and the Subject after it is still read.
	if got["MISSING_MID"] != 1 || got["MISSING_DATE"] != 1 || got["SUBJ_ALL_CAPS"] != 1 || len(got) != 3 || v.Score != 3 {
		t.Fatalf("symbols %v score %v", got, v.Score)
	}
	msg = "From: a@example.org\r\nSubject: FREE MONEY NOW FOR YOU\r\n\r\nFROM: not a header\r\n"
	if v, err = s.Scan(context.Background(), strings.NewReader(msg), Request{}); err != nil {
		t.Fatal(err)
	}
	if len(v.Symbols) != 3 || v.Symbols[2].Name != "SUBJ_ALL_CAPS" {
		t.Fatalf("symbols %v", v.Symbols)
	}
}
