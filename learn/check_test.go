package learn

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/tokenizer"
)

// TestCheckTotals: the totals agree with the learn cache after learns, a
// relearn and a forget, with and without users; a shared total changed
// by an op that skipped the cache (what a flipped bit looks like here) is
// found and named.
func TestCheckTotals(t *testing.T) {
	if err := CheckTotals(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("CheckTotals of a missing file passed")
	}
	for _, users := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "test.statfile")
		opts := Options{UsersEnabled: users}
		p := tokenizer.New(opts.Tokenizer).Params()
		w, err := mmapstore.OpenWriter(path, &mmapstore.Options{
			Params: mmapstore.Params{Hash: p.Hash, Seed: p.Seed, Window: p.Window, Version: p.Version},
			NoSync: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckTotals(path); err != nil {
			t.Fatalf("a new file: %v", err)
		}
		l := New(w, opts)
		for i, s := range []string{"one", "two", "three"} {
			class := Spam
			if i == 1 {
				class = Ham
			}
			if _, err := l.Learn(strings.NewReader(msg(s, "body of "+s)), class, "alice"); err != nil {
				t.Fatal(err)
			}
		}
		if out, err := l.Learn(strings.NewReader(msg("one", "body of one")), Ham, "alice"); err != nil || out != Relearned {
			t.Fatalf("relearn: %v %v", out, err)
		}
		if out, err := l.Forget(strings.NewReader(msg("three", "body of three")), "alice"); err != nil || out != Forgotten {
			t.Fatalf("forget: %v %v", out, err)
		}
		if err := w.Checkpoint(); err != nil {
			t.Fatal(err)
		}
		if err := CheckTotals(path); err != nil {
			t.Fatalf("users %v, after learns: %v", users, err)
		}
		if _, err := w.Apply(mmapstore.Op{NS: mmapstore.Shared, Class: mmapstore.Ham, Delta: 1, Hashes: []uint64{1}}); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		err = CheckTotals(path)
		if !errors.Is(err, ErrTotalsMismatch) || !strings.Contains(err.Error(), "ham 3; the learn cache counts spam 0, ham 2") {
			t.Fatalf("users %v, after a shared-only op: %v", users, err)
		}
	}
}
