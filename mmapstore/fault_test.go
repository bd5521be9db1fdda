package mmapstore

import (
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

var errInjected = errors.New("injected fault")

// TestFault_growth makes each I/O step of a growth fail in turn. The
// writer reports the error; the file on disk still opens, passes Check
// and holds every acknowledged learn.
func TestFault_growth(t *testing.T) {
	for _, step := range []string{"sync", "msync", "rename", "syncDir"} {
		t.Run(step, func(t *testing.T) {
			h := &hooks{}
			o := testOptions()
			o.hooks = h
			w, path := mustOpenWriter(t, o)
			r := rand.New(rand.NewPCG(5, 5))
			var acked [][]uint64
			// Fill close to the load limit without growing.
			for range 2 {
				hs := randHashes(r, 300)
				mustApply(t, w, Op{Class: Spam, Delta: 1, Hashes: hs})
				acked = append(acked, hs)
			}
			armed := true
			fail := func(name string) error {
				if armed && name == step {
					armed = false
					return errInjected
				}
				return nil
			}
			h.sync = func(f *os.File) error {
				if strings.HasSuffix(f.Name(), ".tmp") {
					return fail("sync")
				}
				return nil
			}
			h.msync = func(b []byte) error {
				if len(b) > HeaderSize && &b[0] != &w.m.data[0] {
					return fail("msync")
				}
				return nil
			}
			h.rename = func(string, string) error { return fail("rename") }
			h.syncDir = func(string) error { return fail("syncDir") }

			hs := randHashes(r, 300) // passes the load limit: growth
			_, err := w.Apply(Op{Class: Spam, Delta: 1, Hashes: hs})
			if !errors.Is(err, errInjected) {
				t.Fatalf("Apply during failing growth: %v", err)
			}
			if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("temp file left behind: %v", err)
			}
			mustCheck(t, path)
			// After a failure before the rename the writer goes on (the
			// growth is retried); after the rename it must be reopened.
			if _, err := w.Apply(Op{Class: Spam, Delta: 1, Hashes: hs}); err == nil {
				acked = append(acked, hs)
			} else if !errors.Is(err, ErrFailed) {
				t.Fatalf("second Apply: %v", err)
			}
			w.Close()
			mustCheck(t, path)
			w2, err := OpenWriter(path, testOptions())
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			defer w2.Close()
			for _, hs := range acked {
				out := make([]Counts, len(hs))
				w2.Lookup(Shared, hs, out)
				for i, c := range out {
					if c.Spam != 1 {
						t.Fatalf("acknowledged token %d lost: %+v", i, c)
					}
				}
			}
		})
	}
}

// TestFault_journalSync: a failed journal fsync is not acknowledged and
// makes the writer refuse further work until reopened.
func TestFault_journalSync(t *testing.T) {
	h := &hooks{}
	o := testOptions()
	o.hooks = h
	w, path := mustOpenWriter(t, o)
	mustApply(t, w, Op{Class: Spam, Delta: 1, Hashes: []uint64{1}})
	h.sync = func(*os.File) error { return errInjected }
	if _, err := w.Apply(Op{Class: Spam, Delta: 1, Hashes: []uint64{2}}); !errors.Is(err, errInjected) {
		t.Fatalf("got %v", err)
	}
	if _, err := w.Apply(Op{Class: Spam, Delta: 1, Hashes: []uint64{3}}); !errors.Is(err, ErrFailed) {
		t.Fatalf("got %v, want ErrFailed", err)
	}
	h.sync = nil
	w.Close()
	mustCheck(t, path)
	w2, err := OpenWriter(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	if c := lookupOne(t, w2, Shared, 1); c.Spam != 1 {
		t.Errorf("acknowledged learn lost: %+v", c)
	}
}
