package learn

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/tokenizer"
)

// TestLegacyStatfile opens testdata/legacy.statfile, written by the
// learn package before cache entries kept their source and before
// events (commit 175f658: spam learned with no user, ham for alice, the
// spam again for bob). Its cache entries read as a user's, so autolearn
// does not overturn them; it has no cursor or marks; events and local
// learns go on from it, and it passes fsck throughout.
func TestLegacyStatfile(t *testing.T) {
	b, err := os.ReadFile("testdata/legacy.statfile")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "legacy.statfile")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := mmapstore.Check(path); err != nil {
		t.Fatal(err)
	}
	p := tokenizer.New(tokenizer.Options{}).Params()
	w, err := mmapstore.OpenWriter(path, &mmapstore.Options{
		Params: mmapstore.Params{Hash: p.Hash, Seed: p.Seed, Window: p.Window, Version: p.Version}, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	l := New(w, Options{UsersEnabled: true, MaxUserNamespaces: 2})
	read := func(name string) *tokenizer.Result {
		f, err := os.Open(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		res, err := l.tok.Tokenize(f)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	spam, ham := read("legacy-spam.eml"), read("legacy-ham.eml")
	if c, _ := l.Cursor(); c != 0 {
		t.Errorf("cursor %d in a statfile that never applied an event", c)
	}
	if m, _ := l.Marks(); len(m) != 0 {
		t.Errorf("marks %v", m)
	}
	if c, _ := l.Class(spam); c != Spam {
		t.Fatalf("legacy spam reads as %v", c)
	}
	steps := []struct {
		res    *tokenizer.Result
		label  Label
		user   string
		source string
		want   Outcome
	}{
		{spam, Ham, "", SourceAutolearn, AlreadyLearned}, // a legacy entry is a user's
		{ham, Spam, "alice", SourceAutolearn, AlreadyLearned},
		{spam, Spam, "bob", "", AlreadyLearned},
		{ham, Spam, "alice", "dovecot", Relearned},
		{ham, Ham, "carol", "dovecot", AlreadyLearned}, // carol's part is new: the cap (2) expires one
	}
	for i, s := range steps {
		out, err := l.LearnTokensFrom(s.res, s.label, s.user, s.source)
		if err != nil || (i < 4 && out != s.want) {
			t.Fatalf("step %d: %v %v, want %v", i, out, err, s.want)
		}
	}
	// alice's relearn gave her a learn time; bob has none (learned
	// before times were kept): he is the least recent.
	if tot := totals(t, w, mmapstore.NamespaceOf("user:bob")); tot != (mmapstore.Totals{}) {
		t.Errorf("bob %+v: want expired first (no learn time)", tot)
	}
	if tot := totals(t, w, mmapstore.NamespaceOf("user:alice")); tot != (mmapstore.Totals{Spam: 1}) {
		t.Errorf("alice %+v: want spam 1", tot)
	}
	ev := EventOf(spam, Ham, "", "dovecot", w.Params())
	ev.Origin, ev.Seq = "mx1", 1
	if out, err := l.ApplyEvent(ev, 1); err != nil || out != Relearned {
		t.Fatalf("an event on a legacy statfile: %v %v", out, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := mmapstore.Check(path); err != nil {
		t.Error(err)
	}
	if err := CheckTotals(path); err != nil {
		t.Error(err)
	}
}
