//go:build linux

package filewatch

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestWatch: a watched file renamed into place or written and closed
// calls back; another file of the same directory does not.
func TestWatch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "list")
	changed := make(chan struct{}, 16)
	ready := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Watch(ctx, []string{path}, func() { changed <- struct{}{} }, func() { close(ready) })
	}()
	<-ready
	wait := func(what string) {
		t.Helper()
		select {
		case <-changed:
		case <-time.After(time.Minute): // a deadline on the wait, not a timing
			t.Fatalf("no call back for %s", what)
		}
	}
	wait("the start") // a file may have changed before the watch was set

	if err := os.WriteFile(filepath.Join(dir, "other"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".tmp", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
	wait("a rename into place")
	// The events of "other" and "list.tmp" came before the rename's, in
	// the same or an earlier read: had they called back, there would be
	// a call pending now, and a write in place must make exactly one more.
	if err := os.WriteFile(path, []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	wait("a write in place")
	select {
	case <-changed:
		t.Fatal("a call back for another file")
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Watch returned %v", err)
	}
}

func TestSplit(t *testing.T) {
	got := Split([]string{"/a/b", "/a/c", "d"})
	if len(got) != 2 || !got["/a"]["b"] || !got["/a"]["c"] || !got["."]["d"] {
		t.Fatalf("Split: %v", got)
	}
}
