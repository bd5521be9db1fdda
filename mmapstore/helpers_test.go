package mmapstore

import (
	"errors"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

var testParams = Params{Hash: "xxh64", Seed: 0xdeadbabe, Window: 5, Version: 1}

// testOptions are small and unsynced unless the test says otherwise.
func testOptions() *Options {
	return &Options{Params: testParams, InitialSlots: minSlots, NoSync: true}
}

// mustOpenWriter opens a writer on a new file in t.TempDir. Its cleanup
// closes the writer (if the test did not) and runs Check, as bbolt's
// MustCreateDB does: every test ends with a consistency check.
func mustOpenWriter(t testing.TB, opts *Options) (*Writer, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stats.db")
	w, err := OpenWriter(path, opts)
	if err != nil {
		t.Fatalf("OpenWriter: %v", err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("Close: %v", err)
		}
		mustCheck(t, path)
	})
	return w, path
}

func mustCheck(t testing.TB, path string) {
	t.Helper()
	if err := Check(path); err != nil {
		t.Errorf("Check: %v", err)
	}
}

func randHashes(r *rand.Rand, n int) []uint64 {
	hs := make([]uint64, n)
	for i := range hs {
		hs[i] = r.Uint64()
	}
	return hs
}

func mustApply(t testing.TB, w *Writer, ops ...Op) uint64 {
	t.Helper()
	seq, err := w.Apply(ops...)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return seq
}

func lookupOne(t testing.TB, w *Writer, ns Namespace, h uint64) Counts {
	t.Helper()
	out := make([]Counts, 1)
	if _, err := w.Lookup(ns, []uint64{h}, out); err != nil {
		t.Fatal(err)
	}
	return out[0]
}
