package learn

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/tokenizer"
)

// newLearner returns a Learner on a fresh statfile; the statfile is checked
// when the test ends.
func newLearner(t *testing.T, opts Options) (*Learner, *mmapstore.Writer) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.statfile")
	p := tokenizer.New(opts.Tokenizer).Params()
	w, err := mmapstore.OpenWriter(path, &mmapstore.Options{
		Params: mmapstore.Params{Hash: p.Hash, Seed: p.Seed, Window: p.Window, Version: p.Version},
		NoSync: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Error(err)
		}
		if err := mmapstore.Check(path); err != nil {
			t.Errorf("statfile fails its check after the test: %v", err)
		}
		if err := CheckTotals(path); err != nil {
			t.Errorf("after the test: %v", err)
		}
	})
	return New(w, opts), w
}

func msg(subject, body string) string {
	return fmt.Sprintf("From: a@example.org\r\nTo: b@example.org\r\nSubject: %s\r\nMessage-ID: <%s@x>\r\n\r\n%s\r\n", subject, subject, body)
}

func totals(t *testing.T, w *mmapstore.Writer, ns mmapstore.Namespace) mmapstore.Totals {
	t.Helper()
	tot, err := w.Lookup(ns, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tot
}

// counts returns the shared counts of a message's tokens, summed.
func counts(t *testing.T, l *Learner, w *mmapstore.Writer, m string) (spam, ham uint64) {
	t.Helper()
	res, err := l.tok.Tokenize(strings.NewReader(m))
	if err != nil {
		t.Fatal(err)
	}
	hashes := make([]uint64, len(res.Tokens))
	for i, tk := range res.Tokens {
		hashes[i] = tk.Hash
	}
	out := make([]mmapstore.Counts, len(hashes))
	if _, err := w.Lookup(mmapstore.Shared, hashes, out); err != nil {
		t.Fatal(err)
	}
	for _, c := range out {
		spam += uint64(c.Spam)
		ham += uint64(c.Ham)
	}
	return spam, ham
}

func TestLearnRelearn(t *testing.T) {
	l, w := newLearner(t, Options{})
	m := msg("cheap watches", "replica watches at the lowest prices, buy now")
	ntok := func() uint64 {
		res, _ := l.tok.Tokenize(strings.NewReader(m))
		return uint64(len(res.Tokens))
	}()
	steps := []struct {
		class     Label
		want      Outcome
		spam, ham uint64 // totals afterwards
	}{
		{Spam, Learned, 1, 0},
		{Spam, AlreadyLearned, 1, 0},
		{Ham, Relearned, 0, 1},
		{Ham, AlreadyLearned, 0, 1},
		{Spam, Relearned, 1, 0},
	}
	for i, s := range steps {
		got, err := l.Learn(strings.NewReader(m), s.class, "")
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got != s.want {
			t.Fatalf("step %d: outcome %v, want %v", i, got, s.want)
		}
		if tot := totals(t, w, mmapstore.Shared); tot.Spam != s.spam || tot.Ham != s.ham {
			t.Fatalf("step %d: totals %+v, want spam %d ham %d", i, tot, s.spam, s.ham)
		}
		// Every token counted exactly once, in the current class only.
		sp, hm := counts(t, l, w, m)
		if sp != s.spam*ntok || hm != s.ham*ntok {
			t.Fatalf("step %d: token counts spam %d ham %d, want %d and %d", i, sp, hm, s.spam*ntok, s.ham*ntok)
		}
	}
}

func TestLearnRedeliveryIsAlreadyLearned(t *testing.T) {
	l, _ := newLearner(t, Options{})
	body := "the same message delivered twice with other relay headers"
	a := "Received: from a.example by mx1\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n" + msg("hello", body)
	b := "Received: from b.example by mx2\r\nDate: Tue, 2 Jan 2024 11:00:00 +0000\r\n" + msg("hello", body)
	if out, err := l.Learn(strings.NewReader(a), Ham, ""); err != nil || out != Learned {
		t.Fatalf("first learn: %v %v", out, err)
	}
	if out, err := l.Learn(strings.NewReader(b), Ham, ""); err != nil || out != AlreadyLearned {
		t.Fatalf("re-delivered copy: %v %v, want already learned", out, err)
	}
}

func TestLearnPerUser(t *testing.T) {
	l, w := newLearner(t, Options{UsersEnabled: true})
	m := msg("meeting", "the meeting moved to thursday afternoon")
	for _, user := range []string{"alice@example.org", "bob@example.org"} {
		if out, err := l.Learn(strings.NewReader(m), Ham, user); err != nil || out != Learned {
			t.Fatalf("learn for %s: %v %v", user, out, err)
		}
	}
	if tot := totals(t, w, mmapstore.Shared); tot.Ham != 1 {
		t.Fatalf("shared totals %+v, want ham 1 (once, whoever taught it)", tot)
	}
	if tot := totals(t, w, mmapstore.NamespaceOf("user:alice@example.org")); tot.Ham != 1 || tot.Spam != 0 {
		t.Fatalf("alice's totals %+v, want ham 1", tot)
	}
	if out, _ := l.Learn(strings.NewReader(m), Spam, "alice@example.org"); out != Relearned {
		t.Fatalf("alice relearning as spam: %v", out)
	}
	if tot := totals(t, w, mmapstore.NamespaceOf("user:bob@example.org")); tot.Ham != 1 || tot.Spam != 0 {
		t.Fatalf("bob's totals changed by alice's relearn: %+v", tot)
	}
}

func TestLearnNotMessage(t *testing.T) {
	l, w := newLearner(t, Options{})
	for _, in := range []string{"", "just some words without any header\n", "\x00\x01\x02"} {
		_, err := l.Learn(strings.NewReader(in), Spam, "")
		if !errors.Is(err, ErrNotMessage) {
			t.Errorf("Learn(%q) error = %v, want ErrNotMessage", in, err)
		}
	}
	if tot := totals(t, w, mmapstore.Shared); tot.Spam != 0 {
		t.Fatalf("non-messages were counted: %+v", tot)
	}
}

func TestBatch(t *testing.T) {
	l, w := newLearner(t, Options{})
	b := l.NewBatch(3)
	msgs := []struct {
		m     string
		class Label
		want  Outcome
	}{
		{msg("a", "first message about apples"), Spam, Learned},
		{msg("b", "second message about pears"), Ham, Learned},
		{msg("a", "first message about apples"), Spam, AlreadyLearned}, // pending in the batch
		{msg("a", "first message about apples"), Ham, Relearned},       // flushes, then relearns
		{msg("c", "third message about plums"), Ham, Learned},
	}
	for i, c := range msgs {
		got, err := b.Add(strings.NewReader(c.m), c.class, "")
		if err != nil || got != c.want {
			t.Fatalf("message %d: %v %v, want %v", i, got, err, c.want)
		}
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if tot := totals(t, w, mmapstore.Shared); tot.Spam != 0 || tot.Ham != 3 {
		t.Fatalf("totals %+v, want 0 spam, 3 ham", tot)
	}
}

func TestLearnPerLanguage(t *testing.T) {
	l, w := newLearner(t, Options{LanguagesEnabled: true})
	de := msg("Hallo", "Wir sind nicht sicher, ob die Sache mit der Post auf den Weg ist.")
	en := msg("short", "buy now")
	for _, m := range []string{de, en} {
		if _, err := l.Learn(strings.NewReader(m), Spam, ""); err != nil {
			t.Fatal(err)
		}
	}
	if tot := totals(t, w, mmapstore.NamespaceOf("lang:de")); tot.Spam != 1 {
		t.Fatalf("lang:de totals %+v, want spam 1", tot)
	}
	if tot := totals(t, w, mmapstore.Shared); tot.Spam != 2 {
		t.Fatalf("shared totals %+v, want spam 2", tot)
	}
	if out, _ := l.Learn(strings.NewReader(de), Ham, ""); out != Relearned {
		t.Fatalf("relearn: %v", out)
	}
	if tot := totals(t, w, mmapstore.NamespaceOf("lang:de")); tot.Spam != 0 || tot.Ham != 1 {
		t.Fatalf("lang:de totals after relearn %+v, want ham 1", tot)
	}
}
