package learner

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluicemail/sluice/mmapstore"
)

// stoppedLearner is a learner stopped with SIGSTOP as its clients see it:
// the kernel accepts connections into the socket's backlog, nothing reads
// them or answers, and the statfile's writer lock stays held.
func stoppedLearner(t *testing.T) (socketPath, statfile string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "sl-") // short: sun_path is 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	socketPath = filepath.Join(dir, "l.sock")
	ln, err := net.Listen("unix", socketPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	statfile = filepath.Join(dir, "bayes.statfile")
	w, err := mmapstore.OpenWriter(statfile, &mmapstore.Options{Params: storeParams(), InitialSlots: 1 << 12, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return socketPath, statfile
}

// TestDoorStoppedLearner: every call of the Door to the daemon has a
// deadline (issue 14, finding 9: `sluice learn spam FILE` waited forever
// for a stopped learner). A single learn falls back to the spool; a bulk
// learn, which has no spool, gives up with ErrUnavailable (exit 75).
func TestDoorStoppedLearner(t *testing.T) {
	socketPath, statfile := stoppedLearner(t)
	spool := NewSpool(filepath.Join(t.TempDir(), "spool"), 10, 1<<20)
	door := NewDoor(DoorOptions{
		Socket: socketPath, Statfile: statfile, Spool: spool, MaxMessage: 1 << 20,
		Writer:  &mmapstore.Options{Params: storeParams(), NoSync: true},
		Timeout: 50 * time.Millisecond, // the limit under test, not a measure of speed
	})
	res, err := door.Learn(context.Background(), &Request{Label: Spam, Source: "test", Message: spam(1)})
	if err != nil || res.Via != ViaSpool {
		t.Fatalf("a learn for a stopped learner: via %v, %v; want the spool", res.Via, err)
	}
	if !errors.Is(res.Detours, context.DeadlineExceeded) && !errors.Is(res.Detours, os.ErrDeadlineExceeded) {
		t.Errorf("detours %v: want the learner's deadline among them", res.Detours)
	}
	walk := func(yield func(string, []byte) error) error {
		for i := range 20 {
			if err := yield("m", spam(i)); err != nil {
				return err
			}
		}
		return nil
	}
	via, err := door.LearnAll(context.Background(), Spam, "", "test", walk, func(string, Outcome, error) {
		t.Error("a bulk learn reported an outcome from a stopped learner")
	})
	if via != ViaLearner || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("a bulk learn for a stopped learner: via %v, %v; want ErrUnavailable", via, err)
	}
}
