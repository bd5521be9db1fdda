package main

import (
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
)

func readFixture(t *testing.T) []Verdict {
	t.Helper()
	f, err := os.Open("testdata/milterload.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vs, err := ReadLog(f, "milterload.log")
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

// TestReadLog: the header values the milter added are read from
// milterload's log; deletions of incoming copies ('m' with "") are not
// the milter's verdict; a reject has no header; an error has no verdict.
func TestReadLog(t *testing.T) {
	vs := readFixture(t)
	nan := math.NaN()
	want := []struct {
		action string
		score  float64
		flag   bool
		err    bool
		spam   bool
		rank   float64
	}{
		{"accept", 8, true, false, true, 8},
		{"accept", 2.9, false, false, false, 2.9},
		{"accept", 0, false, false, false, 0},
		{"reject", nan, false, false, true, math.Inf(1)},
		{"accept", nan, false, false, false, nan},
		{"", nan, false, true, false, nan},
		{"accept", 5, false, false, false, 5},
	}
	if len(vs) != len(want) {
		t.Fatalf("%d verdicts, want %d", len(vs), len(want))
	}
	same := func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
	for i, w := range want {
		v := vs[i]
		if v.Action != w.action || !same(v.Score, w.score) || v.Flag != w.flag || (v.Err != "") != w.err ||
			v.Spam() != w.spam || !same(v.Rank(), w.rank) {
			t.Errorf("line %d: %+v (spam %v, rank %v), want %+v", i, v, v.Spam(), v.Rank(), w)
		}
	}
}

func TestReadLogRefuses(t *testing.T) {
	for _, tc := range []struct{ name, line string }{
		{"fields", "0\t/p\taccept\teom\t1\t2\th X-Spam-Score=\"1\""},
		{"score", "0\t/p\taccept\teom\t1\t2\th X-Spam-Score=\"high\"\t"},
		{"nan", "0\t/p\taccept\teom\t1\t2\th X-Spam-Score=\"NaN\"\t"},
		{"quote", "0\t/p\taccept\teom\t1\t2\th X-Spam-Score=\"1\t"},
		{"separator", "0\t/p\taccept\teom\t1\t2\th X-Spam-Score=\"1\" h X-Spam-Flag=\"YES\"\t"},
	} {
		if _, err := ReadLog(strings.NewReader(tc.line+"\n"), tc.name); err == nil {
			t.Errorf("%s: %q read without an error", tc.name, tc.line)
		}
	}
}

func TestParseMods(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Mod
	}{
		{"", nil},
		{`h X-A="1; 2"; i X-B="x"`, []Mod{{'h', "X-A", "1; 2"}, {'i', "X-B", "x"}}},
		{`m X-Spam-Level=""; q "held"; y "550 no"`, []Mod{{'m', "X-Spam-Level", ""}, {'q', "", "held"}, {'y', "", "550 no"}}},
		{`+ rcpt@example.org; b; e <a@b>`, []Mod{{'+', "", "rcpt@example.org"}, {'b', "", ""}, {'e', "", "<a@b>"}}},
	} {
		got, err := ParseMods(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseMods(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

// TestJudge: figures at the default actions count rejects and flags;
// ranking puts rejects above every score and leaves out messages with no
// score; errors and missing messages are counted, not judged.
func TestJudge(t *testing.T) {
	vs := readFixture(t)
	labels := map[string]bool{
		"/c/spam-1/00345.613b": true, "/c/spam-2/00752.c089": true, "/c/easy-ham-2/01120.60d7": false,
		"/c/easy-ham-1/00007.37a8": false, "/c/easy-ham-1/00008.5a1b": false, "/c/spam-2/00900.aaaa": true,
		"/c/spam-2/00901.bbbb": true, "/c/never-sent": false,
	}
	j, samples, err := Judge(labels, vs, 6)
	if err != nil {
		t.Fatal(err)
	}
	want := Judgement{Spam: 4, Ham: 3, FP: 1, FN: 2, Rejected: 1, Flagged: 1, Unscored: 1, Errors: 1, MissingFromLog: 1}
	got := j
	got.Ranking = want.Ranking
	if got != want {
		t.Fatalf("judgement %+v, want %+v", got, want)
	}
	if len(samples) != 5 || j.Ranking.N != 5 {
		t.Fatalf("%d samples ranked (%d in the report), want 5", len(samples), j.Ranking.N)
	}
	// Ranked: ham 0 < spam 2.9 < spam 5 < spam 8 < ham rejected (+Inf):
	// 3 spam, 2 ham; of the 6 pairs, the rejected ham is above all three
	// spam: 1-AUC = 3/6.
	if r := j.Ranking; math.Abs(r.OneMinusAUCPercent-50) > 1e-9 || r.FNRateAtFPR != 1 {
		t.Errorf("ranking (1-AUC)%% %v, FN at FP <= 0.1%% %v; want 50 and 1", r.OneMinusAUCPercent, r.FNRateAtFPR)
	}
	if math.Abs(j.FPRate()-1.0/3) > 1e-12 || j.FNRate() != 0.5 {
		t.Errorf("rates FP %v FN %v", j.FPRate(), j.FNRate())
	}

	if _, _, err := Judge(map[string]bool{}, vs, 6); err == nil {
		t.Error("verdicts of messages not in the list: no error")
	}
	if _, _, err := Judge(labels, append(vs, vs[0]), 6); err == nil {
		t.Error("two verdicts for one message: no error")
	}
}
