package scan

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/bayes"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/tokenizer"
)

var (
	spamWords = strings.Fields("viagra casino winner prize claim cash offer free pills cheap loan bonus guaranteed click unsubscribe million")
	hamWords  = strings.Fields("meeting agenda kernel patch review thursday lunch project deadline minutes draft build release branch merge")
)

// message builds a deterministic message of words drawn from pool.
func message(i int, subject string, pool []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: sender%d@example.org\r\nTo: rcpt@example.org\r\nSubject: %s %d\r\nMessage-ID: <%d.%s@example.org>\r\n\r\n", i, subject, i, i, subject)
	for j := 0; j < 40; j++ {
		b.WriteString(pool[(i*7+j*3)%len(pool)])
		b.WriteByte(' ')
	}
	fmt.Fprintf(&b, "\r\nref %d\r\n", i)
	return b.String()
}

type fixture struct {
	w *mmapstore.Writer
	l *learn.Learner
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "scan.statfile")
	p := tokenizer.New(tokenizer.Options{}).Params()
	w, err := mmapstore.OpenWriter(path, &mmapstore.Options{
		Params: mmapstore.Params{Hash: p.Hash, Seed: p.Seed, Window: p.Window, Version: p.Version}, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		w.Close()
		if err := mmapstore.Check(path); err != nil {
			t.Error(err)
		}
	})
	return &fixture{w: w, l: learn.New(w, learn.Options{UsersEnabled: true})}
}

func (f *fixture) learn(t *testing.T, n int, spam, ham []string, user string) {
	t.Helper()
	for i := 0; i < n; i++ {
		for _, c := range []struct {
			pool  []string
			class learn.Label
		}{{spam, learn.Spam}, {ham, learn.Ham}} {
			m := message(i, user+"x", c.pool)
			if _, err := f.l.Learn(strings.NewReader(m), c.class, user); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func opts() Options {
	return Options{Bayes: bayes.DefaultConfig(), Actions: Thresholds{AddHeader: 0.4, Reject: 40}, UsersEnabled: true, TopTokens: 5}
}

func TestScanVerdicts(t *testing.T) {
	f := newFixture(t)
	f.learn(t, 30, spamWords, hamWords, "")
	s := New(f.w, opts())
	tests := []struct {
		name   string
		msg    string
		symbol string
		action Action
	}{
		{"spam", message(1000, "offer", spamWords), bayes.SymbolSpam, AddHeader},
		{"ham", message(1001, "notes", hamWords), bayes.SymbolHam, NoAction},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := s.Scan(context.Background(), strings.NewReader(tt.msg), Request{Explain: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(v.Symbols) != 1 || v.Symbols[0].Name != tt.symbol || v.Action != tt.action {
				t.Fatalf("verdict %+v, want %s and %v", v, tt.symbol, tt.action)
			}
			if len(v.Top) == 0 || v.Top[0].Text == "" {
				t.Fatalf("explained verdict lists no weighty tokens: %+v", v.Top)
			}
		})
	}
}

func TestScanSilentBeforeLearning(t *testing.T) {
	f := newFixture(t)
	s := New(f.w, opts())
	v, err := s.Scan(context.Background(), strings.NewReader(message(1, "x", spamWords)), Request{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Silent == "" || len(v.Symbols) != 0 || v.Action != NoAction {
		t.Fatalf("Bayes spoke without learns: %+v", v)
	}
}

// A user's own statistics are used once they have min_learns of each
// class; before that the shared statistics answer.
func TestScanNamespaceFallback(t *testing.T) {
	f := newFixture(t)
	// Shared: the usual. Carol (a pharmacist) gets "pills" and "offer"
	// words as ham and meeting words as spam: the opposite.
	f.learn(t, 30, spamWords, hamWords, "")
	s := New(f.w, opts())
	probe := message(2000, "weekly", spamWords)

	scanAs := func(user string) *Verdict {
		t.Helper()
		v, err := s.Scan(context.Background(), strings.NewReader(probe), Request{User: user})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := scanAs("carol@example.org"); v.Namespace != "" || v.Prob < 0.9 {
		t.Fatalf("without her own learns carol should get the shared verdict: ns %q prob %v", v.Namespace, v.Prob)
	}
	f.learn(t, 5, hamWords, spamWords, "carol@example.org") // below min_learns (10)
	if v := scanAs("carol@example.org"); v.Namespace != "" {
		t.Fatalf("5 learns should not be enough: ns %q", v.Namespace)
	}
	f.learn(t, 12, hamWords, spamWords, "carol@example.org") // 12 >= min_learns
	v := scanAs("carol@example.org")
	if v.Namespace != "user:carol@example.org" || v.Prob > 0.1 {
		t.Fatalf("with enough learns carol's own statistics decide: ns %q prob %v", v.Namespace, v.Prob)
	}
	if v := scanAs("dave@example.org"); v.Namespace != "" {
		t.Fatalf("dave has no statistics of his own: ns %q prob %v", v.Namespace, v.Prob)
	}
	sNoUsers := opts()
	sNoUsers.UsersEnabled = false
	v2, err := New(f.w, sNoUsers).Scan(context.Background(), strings.NewReader(probe), Request{User: "carol@example.org"})
	if err != nil || v2.Namespace != "" {
		t.Fatalf("users_enabled off must use shared statistics: %+v %v", v2, err)
	}
}

func TestThresholds(t *testing.T) {
	th := Thresholds{AddHeader: 6, RewriteSubject: 8, Reject: 15}
	for _, c := range []struct {
		score float64
		want  Action
	}{{-3, NoAction}, {5.99, NoAction}, {6, AddHeader}, {9, RewriteSubject}, {14.9, RewriteSubject}, {15, Reject}, {100, Reject}} {
		if got := th.Decide(c.score); got != c.want {
			t.Errorf("Decide(%v) = %v, want %v", c.score, got, c.want)
		}
	}
}

// With languages_enabled, a language's own statistics decide once they
// have enough learns; a message in another language uses the shared ones.
func TestScanLanguageNamespace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lang.statfile")
	p := tokenizer.New(tokenizer.Options{}).Params()
	w, err := mmapstore.OpenWriter(path, &mmapstore.Options{
		Params: mmapstore.Params{Hash: p.Hash, Seed: p.Seed, Window: p.Window, Version: p.Version}, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	l := learn.New(w, learn.Options{LanguagesEnabled: true})
	de := func(i int, words string) string {
		tag := hamWords[i%len(hamWords)] + " " + spamWords[i%len(spamWords)] // distinct bodies: numbers fold
		return fmt.Sprintf("From: a%d@example.de\r\nSubject: Nachricht\r\n\r\nWir sind nicht sicher, ob die Sache mit der Post auf den Weg ist. %s %s\r\n", i, words, tag)
	}
	for i := 0; i < 12; i++ {
		for _, c := range []struct {
			words string
			class learn.Label
		}{{"gewinn gratis sofort klicken bonus", learn.Spam}, {"besprechung protokoll termin projekt", learn.Ham}} {
			if _, err := l.Learn(strings.NewReader(de(i, c.words)), c.class, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	o := opts()
	o.LanguagesEnabled = true
	v, err := New(w, o).Scan(context.Background(), strings.NewReader(de(99, "gewinn gratis sofort")), Request{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Namespace != "lang:de" || v.Prob < 0.9 {
		t.Fatalf("German message: namespace %q prob %v, want lang:de and spam", v.Namespace, v.Prob)
	}
	v, err = New(w, o).Scan(context.Background(), strings.NewReader(message(1, "x", spamWords)), Request{})
	if err != nil || v.Namespace != "" {
		t.Fatalf("English message: namespace %q (%v), want the shared statistics", v.Namespace, err)
	}
}
