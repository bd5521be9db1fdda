package learn_test

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/learn/learnmodel"
	"github.com/sluicemail/sluice/mmapstore"
)

var modelParams = mmapstore.Params{Hash: "xxh64", Seed: 42, Window: 5, Version: 3}

// testSeed is the seed of a randomized test: SLUICE_SEED when set (to
// replay a failure), else the time. It is logged.
func testSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SLUICE_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("SLUICE_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("seed %d (replay with SLUICE_SEED=%d)", seed, seed)
	return seed
}

func learnOptions(o learnmodel.Options) learn.Options {
	return learn.Options{UsersEnabled: o.UsersEnabled, LanguagesEnabled: o.LanguagesEnabled, MaxUserNamespaces: o.MaxUserNamespaces}
}

// storeOptions start small, so that applying grows the file, and
// checkpoint often.
func storeOptions() *mmapstore.Options {
	return &mmapstore.Options{Params: modelParams, InitialSlots: 1024, CheckpointBytes: 64 << 10, NoSync: true}
}

// TestApplyEvent_matchesModel applies a random stream (learns, relearns,
// forgets, users and autolearn, redeliveries, resends, gaps, refused
// events) to a statfile and to learnmodel's Model: every outcome, and
// every 50 events the digest (counts per namespace and token, totals,
// learn caches, user learn times, cursor, marks), must agree. The
// learner restarts (a new Writer and Learner) every 150 events.
func TestApplyEvent_matchesModel(t *testing.T) {
	seed := testSeed(t)
	for _, tc := range []struct {
		opts   learnmodel.Options
		groups bool // through ApplyEvents, in groups of 1 to 40
	}{
		{learnmodel.Options{}, false},
		{learnmodel.Options{UsersEnabled: true, LanguagesEnabled: true, MaxUserNamespaces: 3}, false},
		{learnmodel.Options{UsersEnabled: true, LanguagesEnabled: true, MaxUserNamespaces: 3}, true},
	} {
		opts := tc.opts
		t.Run(fmt.Sprintf("users=%v,groups=%v", opts.UsersEnabled, tc.groups), func(t *testing.T) {
			stream := learnmodel.RandomStream(seed, learnmodel.StreamOptions{Params: modelParams, Events: 600,
				Users: []string{"alice", "bob", "carol", "dave", "erin"}, Faults: true})
			path := filepath.Join(t.TempDir(), "stats.db")
			w, err := mmapstore.OpenWriter(path, storeOptions())
			if err != nil {
				t.Fatal(err)
			}
			defer func() { w.Close() }()
			l := learn.New(w, learnOptions(opts))
			m := learnmodel.New(modelParams, opts)
			var refused, gaps, applied int
			if tc.groups {
				applyInGroups(t, seed, path, w, learnOptions(opts), m, stream)
				return
			}
			for i, e := range stream {
				if i%150 == 149 {
					if err := w.Close(); err != nil {
						t.Fatal(err)
					}
					if w, err = mmapstore.OpenWriter(path, storeOptions()); err != nil {
						t.Fatal(err)
					}
					l = learn.New(w, learnOptions(opts))
				}
				out, err := l.ApplyEvent(e.Event, e.StreamSeq)
				want := m.Apply(e.Event, e.StreamSeq)
				if !learn.CursorAdvanced(err) {
					t.Fatalf("event %d: %v", i, err)
				}
				if out != want.Outcome || errors.Is(err, learn.ErrEventRefused) != want.Refused || errors.Is(err, learn.ErrGap) != want.Gap {
					t.Fatalf("event %d (stream %d, %s seq %d, %v by %s for %q): %v, %v; the model: %+v",
						i, e.StreamSeq, e.Event.Origin, e.Event.Seq, e.Event.Label, e.Event.Source, e.Event.User, out, err, want)
				}
				switch {
				case want.Refused:
					refused++
				case want.Gap:
					gaps++
				}
				if out != learn.AlreadyApplied && !want.Refused {
					applied++
				}
				if i%50 == 49 || i == len(stream)-1 {
					got, err := w.Digest()
					if err != nil {
						t.Fatal(err)
					}
					if got != m.Digest() {
						t.Fatalf("after event %d: the statfile's digest differs from the model's", i)
					}
				}
			}
			if c, _ := l.Cursor(); c != m.Cursor() {
				t.Errorf("cursor %d, model %d", c, m.Cursor())
			}
			if marks, _ := l.Marks(); !maps.Equal(marks, m.Marks()) {
				t.Errorf("marks %v, model %v", marks, m.Marks())
			}
			if refused == 0 || gaps == 0 {
				t.Errorf("the stream exercised %d refusals and %d gaps: make it longer", refused, gaps)
			}
			t.Logf("%d deliveries: %d applied, %d refused, %d after a gap", len(stream), applied, refused, gaps)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := mmapstore.Check(path); err != nil {
				t.Error(err)
			}
			if err := learn.CheckTotals(path); err != nil {
				t.Error(err)
			}
		})
	}
}

// applyInGroups applies stream to w through ApplyEvents, in groups of
// random sizes, comparing every result with m's and, after every call,
// the digests.
func applyInGroups(t *testing.T, seed uint64, path string, w *mmapstore.Writer, opts learn.Options, m *learnmodel.Model, stream []learnmodel.Entry) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 3))
	l := learn.New(w, opts)
	for i := 0; i < len(stream); {
		n := min(1+r.IntN(40), len(stream)-i)
		batch := make([]learn.StreamEvent, n)
		for j := range batch {
			batch[j] = learn.StreamEvent{Event: stream[i+j].Event, StreamSeq: stream[i+j].StreamSeq}
		}
		res, err := l.ApplyEvents(batch)
		if err != nil || len(res) != n {
			t.Fatalf("events %d..%d: %d results, %v", i, i+n, len(res), err)
		}
		for j, a := range res {
			e := stream[i+j]
			want := m.Apply(e.Event, e.StreamSeq)
			if a.Outcome != want.Outcome || errors.Is(a.Err, learn.ErrEventRefused) != want.Refused || errors.Is(a.Err, learn.ErrGap) != want.Gap {
				t.Fatalf("event %d (stream %d, %s seq %d, %v by %s for %q): %v, %v; the model: %+v",
					i+j, e.StreamSeq, e.Event.Origin, e.Event.Seq, e.Event.Label, e.Event.Source, e.Event.User, a.Outcome, a.Err, want)
			}
		}
		got, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		if got != m.Digest() {
			t.Fatalf("after events %d..%d: the statfile's digest differs from the model's", i, i+n)
		}
		i += n
	}
	if c, _ := l.Cursor(); c != m.Cursor() {
		t.Errorf("cursor %d, model %d", c, m.Cursor())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := mmapstore.Check(path); err != nil {
		t.Error(err)
	}
}
