package mmapstore

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// testClock is a clock the test moves by hand.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *testClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// writeStatfile makes a closed statfile at path holding hs with spam
// count n each.
func writeStatfile(t *testing.T, path string, hs []uint64, n int) {
	t.Helper()
	w, err := OpenWriter(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		mustApply(t, w, Op{Class: Spam, Delta: 1, Hashes: hs})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func readerCounts(t *testing.T, r *Reader, hs []uint64) ([]Counts, error) {
	t.Helper()
	out := make([]Counts, len(hs))
	_, err := r.Lookup(Shared, hs, out)
	return out, err
}

// TestReader_followsRename: a file renamed over the path without the
// superseded flag (another tool, or a writer that died before setting it)
// is noticed by its inode at the next recheck.
func TestReader_followsRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "stats.db")
	hs := randHashes(rand.New(rand.NewPCG(1, 2)), 20)
	writeStatfile(t, path, hs, 1)
	clock := newTestClock()
	r, err := OpenReader(path, testParams, ReaderClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	other := filepath.Join(dir, "other.db")
	writeStatfile(t, other, hs, 3)
	if err := os.Rename(other, path); err != nil {
		t.Fatal(err)
	}
	out, err := readerCounts(t, r, hs)
	if err != nil || out[0].Spam != 1 {
		t.Fatalf("before the recheck: %+v, %v; want the old file's 1", out[0], err)
	}
	clock.advance(recheckInterval)
	out, err = readerCounts(t, r, hs)
	if err != nil || out[0].Spam != 3 {
		t.Fatalf("after the recheck: %+v, %v; want the new file's 3", out[0], err)
	}
}

// TestReader_learnerKilledBetweenRenameAndFlag: a learner process is
// SIGKILLed by its own fault hook right after a growth renamed the new
// file into place and before it set the old file's superseded flag. A
// reader opened before follows the new file at its next recheck.
func TestReader_learnerKilledBetweenRenameAndFlag(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stats.db")
	old := randHashes(rand.New(rand.NewPCG(3, 4)), 50)
	writeStatfile(t, path, old, 1)
	clock := newTestClock()
	r, err := OpenReader(path, testParams, ReaderClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	gen := r.Generation()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=grow-and-die", childPath+"="+path)
	outb, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child: %v, want killed by SIGKILL; output %s", err, outb)
	}
	if m := r.cur.Load(); m.superseded() {
		t.Fatal("the old file is marked superseded: the kill came too late to test anything")
	}
	if _, err := readerCounts(t, r, old); err != nil || r.Generation() != gen {
		t.Fatalf("before the recheck: generation %d, %v", r.Generation(), err)
	}
	clock.advance(recheckInterval)
	out, err := readerCounts(t, r, grownHashes())
	if err != nil {
		t.Fatal(err)
	}
	if r.Generation() != gen+1 {
		t.Fatalf("generation %d after the recheck, want %d", r.Generation(), gen+1)
	}
	// The growth batch was never acknowledged nor applied to the new
	// file; the old tokens were carried over.
	if out, err := readerCounts(t, r, old); err != nil || out[0].Spam != 1 {
		t.Fatalf("old tokens in the new file: %+v, %v", out[0], err)
	}
	_ = out
}

// grownHashes is the batch childGrowAndDie learns: more tokens than the
// first file holds, so the writer grows first.
func grownHashes() []uint64 { return randHashes(rand.New(rand.NewPCG(5, 6)), 2000) }

// childGrowAndDie opens the writer with a hook that kills the process at
// the directory fsync that follows a growth's rename.
func childGrowAndDie(path string) int {
	o := testOptions()
	o.hooks = &hooks{syncDir: func(string) error {
		return syscall.Kill(os.Getpid(), syscall.SIGKILL)
	}}
	w, err := OpenWriter(path, o)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	_, err = w.Apply(Op{Class: Spam, Delta: 1, Hashes: grownHashes()})
	fmt.Println("survived the kill:", err)
	return 1
}

// TestReader_truncatedUnderReader: a statfile cut short under a reader
// gives errors wrapping ErrTruncated, a log line and a counted fault,
// never SIGBUS; a whole file renamed into place later is followed.
func TestReader_truncatedUnderReader(t *testing.T) {
	for _, tc := range []struct {
		name    string
		size    int64
		recheck bool // the periodic stat sees the size before a lookup faults
	}{
		{"fault in the table", HeaderSize, false},
		{"fault in the header", 0, false},
		{"noticed by the recheck", HeaderSize + 64, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "stats.db")
			hs := randHashes(rand.New(rand.NewPCG(7, 8)), 200)
			writeStatfile(t, path, hs, 2)
			clock := newTestClock()
			r, err := OpenReader(path, testParams, ReaderClock(clock.now))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if out, err := readerCounts(t, r, hs); err != nil || out[0].Spam != 2 {
				t.Fatalf("before: %+v %v", out[0], err)
			}
			if err := os.Truncate(path, tc.size); err != nil {
				t.Fatal(err)
			}
			if tc.recheck {
				clock.advance(recheckInterval)
			}
			for i := range 3 {
				out, err := readerCounts(t, r, hs)
				if !errors.Is(err, ErrTruncated) {
					t.Fatalf("lookup %d after truncation: %v, want ErrTruncated", i, err)
				}
				if out[0] != (Counts{}) {
					t.Fatalf("lookup %d returned counts %+v with its error", i, out[0])
				}
			}
			if r.Faults() != 1 {
				t.Errorf("Faults() = %d, want 1", r.Faults())
			}
			// A good file renamed into place brings Bayes back.
			other := filepath.Join(dir, "other.db")
			writeStatfile(t, other, hs, 5)
			if err := os.Rename(other, path); err != nil {
				t.Fatal(err)
			}
			clock.advance(recheckInterval)
			if out, err := readerCounts(t, r, hs); err != nil || out[0].Spam != 5 {
				t.Fatalf("after a good file came back: %+v %v", out[0], err)
			}
		})
	}
}
