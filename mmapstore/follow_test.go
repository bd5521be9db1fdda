package mmapstore

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// fakeClock is a clock the test moves.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestFollowStates(t *testing.T) {
	const h = 0x1234
	tests := []struct {
		name   string
		before func(t *testing.T, path string) // what is at path when Follow starts
		want   FollowState
	}{
		{"missing", func(*testing.T, string) {}, NoStatfile},
		{"garbage", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("not a statfile at all, not even close"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, Unusable},
		{"other parameters", func(t *testing.T, path string) {
			o := testOptions()
			o.Params.Seed++
			w, err := OpenWriter(path, o)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		}, Unusable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "stats.db")
			tt.before(t, path)
			clock := &fakeClock{t: time.Unix(1e9, 0)}
			f := Follow(path, testParams, FollowOptions{Retry: time.Second, Now: clock.now})
			defer f.Close()
			if got := f.State(); got != tt.want {
				t.Fatalf("state %v, want %v", got, tt.want)
			}
			out := []Counts{{Spam: 7, Ham: 7}}
			tot, err := f.Lookup(Shared, []uint64{h}, out)
			if err != nil || tot != (Totals{}) || out[0] != (Counts{}) {
				t.Fatalf("lookup without a statfile: %v %v %v", tot, out, err)
			}

			// The learner (re)creates a good file: seen at the first
			// lookup after Retry, not before.
			os.Remove(path)
			w, err := OpenWriter(path, testOptions())
			if err != nil {
				t.Fatal(err)
			}
			mustApply(t, w, Op{NS: Shared, Class: Spam, Delta: 1, Hashes: []uint64{h}})
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			clock.t = clock.t.Add(time.Second - 1)
			if _, err := f.Lookup(Shared, []uint64{h}, out); err != nil || out[0] != (Counts{}) || f.State() == Mapped {
				t.Fatalf("mapped before Retry: %v %v %v", out, err, f.State())
			}
			clock.t = clock.t.Add(1)
			tot, err = f.Lookup(Shared, []uint64{h}, out)
			if err != nil || out[0] != (Counts{Spam: 1}) || tot != (Totals{Spam: 1}) || f.State() != Mapped {
				t.Fatalf("after Retry: %v %v %v %v", tot, out, err, f.State())
			}
		})
	}
}

func TestFollowClosed(t *testing.T) {
	w, path := mustOpenWriter(t, testOptions())
	mustApply(t, w, Op{NS: Shared, Class: Ham, Delta: 1, Hashes: []uint64{9}})
	f := Follow(path, testParams, FollowOptions{})
	if f.State() != Mapped {
		t.Fatalf("state %v", f.State())
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	out := make([]Counts, 1)
	if tot, err := f.Lookup(Shared, []uint64{9}, out); err != nil || tot != (Totals{}) {
		t.Fatalf("lookup after Close: %v %v", tot, err)
	}
}

// A statfile cut short under a scanner: its lookups are answered without
// Bayes (empty counts, no error), counted, and Bayes returns with a whole
// file. The scanner never fails a message because of it.
func TestFollowTruncated(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "stats.db")
	hs := randHashes(rand.New(rand.NewPCG(3, 4)), 100)
	writeStatfile(t, path, hs, 2)
	f := Follow(path, testParams, FollowOptions{})
	defer f.Close()
	out := make([]Counts, len(hs))
	if _, err := f.Lookup(Shared, hs, out); err != nil || out[0].Spam != 2 {
		t.Fatalf("before: %+v %v", out[0], err)
	}
	if err := os.Truncate(path, HeaderSize); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		out[0] = Counts{Spam: 9}
		tot, err := f.Lookup(Shared, hs, out)
		if err != nil || tot != (Totals{}) || out[0] != (Counts{}) {
			t.Fatalf("lookup %d after truncation: %v %+v %v", i, tot, out[0], err)
		}
	}
	if f.Faults() != 3 {
		t.Errorf("Faults() = %d, want 3", f.Faults())
	}
}
