package learner

import (
	"github.com/sluicemail/sluice/activity"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicemail/sluice/feed"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/tokenizer"
)

func TestAutolearnDecide(t *testing.T) {
	on := Autolearn{Enabled: true, SpamScore: 8, HamScore: -2, MinProb: 0.95, MinBalance: 0.9}
	toks := feed.Tokens{1, 2, 3}
	rec := func(score, prob float64, mod ...func(*feed.Record)) *feed.Record {
		r := &feed.Record{Score: score, BayesProb: prob, Tokens: toks}
		for _, f := range mod {
			f(r)
		}
		return r
	}
	even := mmapstore.Totals{Spam: 100, Ham: 100}
	tests := []struct {
		name   string
		a      Autolearn
		r      *feed.Record
		totals mmapstore.Totals
		want   Label
		why    string
	}{
		{"off by default", Autolearn{}, rec(20, 0.5), even, 0, SkipDisabled},
		{"spam", on, rec(9, 0.8), even, Spam, ""},
		{"spam at the threshold", on, rec(8, 0.5), even, Spam, ""},
		{"ham", on, rec(-3, 0.2), even, Ham, ""},
		{"ham at the threshold", on, rec(-2, 0.5), even, Ham, ""},
		{"between the thresholds", on, rec(3, 0.5), even, 0, SkipUncertain},
		{"Bayes already sure of spam", on, rec(9, 0.95), even, 0, SkipBayesSure},
		{"Bayes sure of ham does not stop spam", on, rec(9, 0.01), even, Spam, ""},
		{"Bayes already sure of ham", on, rec(-3, 0.05), even, 0, SkipBayesSure},
		{"authenticated", on, rec(9, 0.5, func(r *feed.Record) { r.Authenticated = true }), even, 0, SkipAuthenticated},
		{"trusted", on, rec(9, 0.5, func(r *feed.Record) { r.Trusted = true }), even, 0, SkipTrusted},
		{"local", on, rec(9, 0.5, func(r *feed.Record) { r.Local = true }), even, 0, SkipLocal},
		{"local allowed", Autolearn{Enabled: true, SpamScore: 8, HamScore: -2, Local: true}, rec(9, 0.5, func(r *feed.Record) { r.Local = true }), even, Spam, ""},
		{"trusted even with local allowed", Autolearn{Enabled: true, SpamScore: 8, HamScore: -2, Local: true}, rec(9, 0.5, func(r *feed.Record) { r.Local, r.Trusted = true, true }), even, 0, SkipTrusted},
		{"spam outnumbers ham", on, rec(9, 0.5), mmapstore.Totals{Spam: 113, Ham: 100}, 0, SkipUnbalanced},
		{"spam just within the balance", on, rec(9, 0.5), mmapstore.Totals{Spam: 112, Ham: 101}, Spam, ""},
		{"ham outnumbers spam", on, rec(-3, 0.5), mmapstore.Totals{Spam: 10, Ham: 100}, 0, SkipUnbalanced},
		{"spam when ham outnumbers", on, rec(9, 0.5), mmapstore.Totals{Spam: 10, Ham: 100}, Spam, ""},
		{"first learn on an empty statfile", on, rec(9, 0.5), mmapstore.Totals{}, Spam, ""},
		{"second spam on an otherwise empty statfile", on, rec(9, 0.5), mmapstore.Totals{Spam: 1}, Spam, ""},
		{"third spam with no ham", on, rec(9, 0.5), mmapstore.Totals{Spam: 2}, 0, SkipUnbalanced},
		{"no tokens in the record", on, rec(9, 0.5, func(r *feed.Record) { r.Tokens = nil }), even, 0, SkipNoTokens},
		{"defaults for zero guards", Autolearn{Enabled: true, SpamScore: 8, HamScore: -2}, rec(9, 0.96), even, 0, SkipBayesSure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := tt.a.Decide(tt.r, tt.totals)
			if got != tt.want || why != tt.why {
				t.Fatalf("Decide = %v %q, want %v %q", got, why, tt.want, tt.why)
			}
		})
	}
}

// recordFor builds the scan record the milter would send for m.
func recordFor(t *testing.T, m []byte, score, prob float64) *feed.Record {
	t.Helper()
	res, err := tokenizer.New(tokenizer.Options{}).Tokenize(strings.NewReader(string(m)))
	if err != nil {
		t.Fatal(err)
	}
	r := &feed.Record{Time: time.Now(), QueueID: "Q1", Action: "add header", Score: score, BayesProb: prob, Digest: feed.Digest(res.Digest)}
	for _, tk := range res.Tokens {
		r.Tokens = append(r.Tokens, tk.Hash)
	}
	return r
}

func TestAutolearnFromRecords(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "feed.sock")
	recv, err := feed.Listen(sock, 0o660)
	if err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, Options{Receiver: recv, Autolearn: Autolearn{Enabled: true, SpamScore: 8, HamScore: -2, MinProb: 0.95, MinBalance: 0.9}}, false)
	sender, err := feed.NewSender(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()

	// Over the datagram socket: a spam record is learned with the tokens
	// it carries, and an explicit learn of the same message then finds it.
	if err := sender.Send(recordFor(t, spam(1), 10, 0.6)); err != nil {
		t.Fatal(err)
	}
	waitTotals(t, d, 1, 0)
	mustLearn(t, d.Daemon, Spam, spam(1), "", learn.AlreadyLearned)

	// In process (sluice serve): a ham record, then a guarded one.
	f := d.Feed()
	f.Send(recordFor(t, ham(2), -5, 0.3))
	waitTotals(t, d, 1, 1)
	f.Send(recordFor(t, spam(3), 10, 0.99)) // Bayes already sure
	// Autolearn never overrides what a user learned: ham(4) learned as ham
	// by hand, then scored as spam.
	mustLearn(t, d.Daemon, Ham, ham(4), "", learn.Learned)
	f.Send(recordFor(t, ham(4), 10, 0.5))
	// A verdict an allow or block list decided is shown, never learned.
	listed := recordFor(t, spam(5), 10, 0.6)
	listed.Listed, listed.QueueID = true, "LISTED5"
	if err := f.Send(listed); err != nil {
		t.Fatal(err)
	}
	if h := d.Activity().History(activity.Filter{Text: "LISTED5"}); len(h) != 1 {
		t.Fatalf("the listed verdict is not in the history: %+v", h)
	}
	if got := d.counter(t, "sluice_learner_records_total", map[string]string{"result": "listed"}); got != 1 {
		t.Fatalf("listed records counted %v, want 1", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for d.counter(t, "sluice_learner_autolearn_skipped_total", nil) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := d.counter(t, "sluice_learner_autolearn_skipped_total", map[string]string{"reason": SkipBayesSure}); got != 1 {
		t.Fatalf("bayes_sure skips %v", got)
	}
	if got := d.counter(t, "sluice_learner_autolearn_skipped_total", map[string]string{"reason": SkipLearned}); got != 1 {
		t.Fatalf("already_learned skips %v", got)
	}
	if tot := d.totals(t, mmapstore.Shared); tot.Spam != 1 || tot.Ham != 2 {
		t.Fatalf("totals %+v", tot)
	}
	if got := d.counter(t, "sluice_learner_learns_total", map[string]string{"source": "autolearn", "outcome": "learned"}); got != 2 {
		t.Fatalf("autolearns counted %v, want 2", got)
	}
	if f.Sent() != 4 { // one from the socket, three in process
		t.Fatalf("local feed sent %d", f.Sent())
	}
}
