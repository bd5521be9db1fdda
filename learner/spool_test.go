package learner

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
)

func TestSpoolPutDrain(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	s := NewSpool(dir, 3, 1<<20)
	if err := s.Init(0o660, -1); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o770 {
		t.Fatalf("spool mode %v", fi.Mode())
	}
	reqs := []*Request{
		{Label: Spam, User: "a@example.org", Source: "dovecot", Message: spam(1)},
		{Label: Ham, Source: "dovecot", Message: []byte("garbage")},
		{Label: Ham, Source: "dovecot", Message: ham(2)},
	}
	for _, r := range reqs {
		if err := s.Put(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put(reqs[0]); !errors.Is(err, ErrSpoolFull) {
		t.Fatalf("put past the maximum: %v", err)
	}
	// A temporary file of a writer that died is not a request.
	os.WriteFile(filepath.Join(dir, ".123.req.tmp"), []byte("SLRQ"), 0o600)
	var got []*Request
	drained, rejected, err := s.Drain(context.Background(), func(r *Request) error {
		got = append(got, r)
		if string(r.Message) == "garbage" {
			return learn.ErrNotMessage
		}
		return nil
	})
	if err != nil || drained != 2 || rejected != 1 || len(got) != 3 {
		t.Fatalf("drain: %d drained, %d rejected, %v", drained, rejected, err)
	}
	if got[0].User != "a@example.org" || got[2].Label != Ham {
		t.Fatalf("drained out of order: %+v", got)
	}
	if n, _ := s.Len(); n != 0 {
		t.Fatalf("%d left in the spool", n)
	}
	if bad, _ := filepath.Glob(filepath.Join(dir, "*.bad")); len(bad) != 1 {
		t.Fatalf("bad files: %v", bad)
	}
	// A temporary failure keeps the request.
	s.Put(reqs[0])
	if _, _, err := s.Drain(context.Background(), func(*Request) error { return ErrTempFail }); !errors.Is(err, ErrTempFail) {
		t.Fatalf("drain with a failing learner: %v", err)
	}
	if n, _ := s.Len(); n != 1 {
		t.Fatalf("%d in the spool after a failed drain, want 1", n)
	}
}

// TestDaemonDrainsSpool: messages spooled while no learner ran are learned
// when it starts, and then periodically.
func TestDaemonDrainsSpool(t *testing.T) {
	s := NewSpool(filepath.Join(t.TempDir(), "spool"), 100, 1<<20)
	if err := s.Init(0o660, -1); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := s.Put(&Request{Label: Spam, Source: "dovecot", Message: spam(i)}); err != nil {
			t.Fatal(err)
		}
	}
	d := startDaemon(t, Options{Spool: s, SpoolInterval: 20 * time.Millisecond}, false)
	waitTotals(t, d, 5, 0)
	s.Put(&Request{Label: Ham, Source: "dovecot", Message: ham(9)})
	waitTotals(t, d, 5, 1)
	if got := d.counter(t, "sluice_learner_learns_total", map[string]string{"source": "spool"}); got != 6 {
		t.Fatalf("spool learns counted %v, want 6", got)
	}
}

func waitTotals(t *testing.T, d *testDaemon, spam, ham uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		tot := d.totals(t, mmapstore.Shared)
		if tot.Spam == spam && tot.Ham == ham {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("totals %+v, want spam %d ham %d", tot, spam, ham)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
