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

// TestCheckTotals_replicationState: fsck accepts what ApplyEvent writes
// and names what it never would.
func TestCheckTotals_replicationState(t *testing.T) {
	set := func(name string, t mmapstore.Totals) mmapstore.Op {
		return mmapstore.Op{NS: mmapstore.NamespaceOf(name), Name: name, Set: true, Totals: t}
	}
	manyOrigins := func() []mmapstore.Op {
		var ops []mmapstore.Op
		for i := range MaxOrigins + 1 {
			ops = append(ops, set(fmt.Sprintf("%smx%d", originPrefix, i), mmapstore.Totals{Spam: 1}))
		}
		return ops
	}
	tests := []struct {
		name string
		ops  []mmapstore.Op
		want string // in the error; "" none
	}{
		{"events applied", nil, ""},
		{"a mark with a ham total", []mmapstore.Op{set(originPrefix+"mx1", mmapstore.Totals{Spam: 3, Ham: 1})}, "ham total 1"},
		{"a cursor with a ham total", []mmapstore.Op{set(cursorNamespace, mmapstore.Totals{Ham: 9})}, "ham total 9"},
		{"a bad origin name", []mmapstore.Op{set(originPrefix+"mx 1", mmapstore.Totals{Spam: 1})}, "not an origin name"},
		{"too many origins", manyOrigins(), fmt.Sprintf("%d origins, more than %d", MaxOrigins+1, MaxOrigins)},
		{"a learn time with a ham total", []mmapstore.Op{set(seenNamespace("alice"), mmapstore.Totals{Spam: 5, Ham: 5})}, "ham total 5"},
		{"a learn time record misnamed", []mmapstore.Op{set(seenPrefix+"alice", mmapstore.Totals{Spam: 5})}, "not a user learn time record"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "test.statfile")
			w, err := mmapstore.OpenWriter(path, &mmapstore.Options{Params: modelTestParams, NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			l := New(w, Options{UsersEnabled: true, MaxUserNamespaces: 5})
			for i := range 5 {
				ev := synthEvent(modelTestParams, "mx1", uint64(i+1), Spam, "dovecot", "bob", i)
				if _, err := l.ApplyEvent(ev, uint64(i+1)); err != nil {
					t.Fatal(err)
				}
			}
			if len(tc.ops) > 0 {
				if _, err := w.Apply(tc.ops...); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			err = CheckTotals(path)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("CheckTotals: %v", err)
			case tc.want != "" && (!errors.Is(err, ErrBadReplicationState) || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("CheckTotals = %v, want %q", err, tc.want)
			}
		})
	}
}

var modelTestParams = mmapstore.Params{Hash: "xxh64", Seed: 1, Window: 5, Version: 1}
