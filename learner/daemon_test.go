package learner

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
)

func TestDaemonLearnCache(t *testing.T) {
	d := startDaemon(t, Options{Learn: learn.Options{UsersEnabled: true}}, false)
	m := spam(1)
	steps := []struct {
		label     Label
		want      learn.Outcome
		spam, ham uint64
	}{
		{Spam, learn.Learned, 1, 0},
		{Spam, learn.AlreadyLearned, 1, 0}, // the same message moved to Junk twice
		{Ham, learn.Relearned, 0, 1},       // moved back: unlearned and learned as ham
		{Ham, learn.AlreadyLearned, 0, 1},
		{Forget, learn.Forgotten, 0, 0},
		{Forget, learn.NotLearned, 0, 0},
		{Spam, learn.Learned, 1, 0},
	}
	for i, s := range steps {
		mustLearn(t, d.Daemon, s.label, m, "alice@example.org", s.want)
		if tot := d.totals(t, mmapstore.Shared); tot.Spam != s.spam || tot.Ham != s.ham {
			t.Fatalf("step %d: totals %+v, want %d/%d", i, tot, s.spam, s.ham)
		}
		if tot := d.totals(t, mmapstore.NamespaceOf("user:alice@example.org")); tot.Spam != s.spam || tot.Ham != s.ham {
			t.Fatalf("step %d: user totals %+v", i, tot)
		}
	}
	if got := d.counter(t, "sluice_learner_learns_total", map[string]string{"outcome": "already_learned", "source": "test"}); got != 2 {
		t.Fatalf("already_learned counted %v times, want 2", got)
	}
	if got := d.counter(t, "sluice_learner_learns_total", map[string]string{"outcome": "relearned"}); got != 1 {
		t.Fatalf("relearned counted %v times, want 1", got)
	}
}

func TestDaemonNotMessage(t *testing.T) {
	d := startDaemon(t, Options{}, false)
	for _, in := range [][]byte{nil, []byte("no header here\n"), {0, 1, 2}} {
		_, err := d.Learn(context.Background(), &Request{Label: Spam, Source: "test", Message: in})
		if !errors.Is(err, learn.ErrNotMessage) {
			t.Errorf("Learn(%q) = %v, want ErrNotMessage", in, err)
		}
	}
	if _, err := d.Learn(context.Background(), &Request{Label: 9, Message: spam(1)}); !errors.Is(err, ErrProtocol) {
		t.Errorf("op 9: %v", err)
	}
}

// TestGroupCommit: concurrent learns share commits (fsyncs), and every one
// of them is counted once.
func TestGroupCommit(t *testing.T) {
	// A commit takes at least 2ms, as on a disk (tmpfs fsyncs at once).
	slow := func() { time.Sleep(2 * time.Millisecond) }
	d := startDaemon(t, Options{MaxBatch: 64, beforeCommit: slow}, true)
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			m, op := spam(i), Spam
			if i%2 == 1 {
				m, op = ham(i), Ham
			}
			out, err := d.Learn(context.Background(), &Request{Label: op, Source: "test", Message: m})
			if err == nil && out != learn.Learned {
				err = errors.New(out.String())
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if tot := d.totals(t, mmapstore.Shared); tot.Spam != n/2 || tot.Ham != n/2 {
		t.Fatalf("totals %+v, want %d each", tot, n/2)
	}
	commits := d.counter(t, "sluice_learner_commit_messages", nil)
	if commits >= n {
		t.Fatalf("%v commits for %d concurrent learns: no group commit", commits, n)
	}
	t.Logf("%d concurrent learns in %v commits", n, commits)
}

func TestDaemonStops(t *testing.T) {
	d := startDaemon(t, Options{}, false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Learn(ctx, &Request{Label: Spam, Message: spam(1)}); err == nil {
		t.Fatal("learn with a cancelled context succeeded")
	}
}
