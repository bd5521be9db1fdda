package learner

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicemail/sluice/mmapstore"
)

func serviceOptions(t *testing.T) ServiceOptions {
	dir, err := os.MkdirTemp("", "sl-") // short: sun_path is 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return ServiceOptions{
		Statfile:        filepath.Join(dir, "bayes.statfile"),
		Writer:          &mmapstore.Options{Params: storeParams(), InitialSlots: 1 << 12, NoSync: true},
		Daemon:          Options{MaxMessage: 1 << 20},
		Socket:          filepath.Join(dir, "l.sock"),
		SocketMode:      0o660,
		Spool:           NewSpool(filepath.Join(dir, "spool"), 10, 1<<20),
		SpoolGroup:      -1,
		Registry:        prometheus.NewRegistry(),
		RequestTimeout:  time.Minute,
		ShutdownTimeout: 5 * time.Second,
	}
}

// A Service serves the Door over its socket until its context ends, then
// closes the statfile: a second service can take it.
func TestServiceRun(t *testing.T) {
	opts := serviceOptions(t)
	svc, err := OpenService(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenService(opts); !errors.Is(err, mmapstore.ErrLocked) {
		t.Fatalf("second service on the same statfile: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	door := NewDoor(DoorOptions{Socket: opts.Socket, Statfile: opts.Statfile, Writer: opts.Writer, MaxMessage: 1 << 20})
	res, err := door.Learn(context.Background(), &Request{Label: Spam, Source: "test", Message: spam(1)})
	if err != nil || res.Via != ViaLearner || res.Outcome != Learned {
		t.Fatalf("learn through the service: %+v %v", res, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	// Stopped: the Door writes directly, and the learn cache remembers.
	res, err = door.Learn(context.Background(), &Request{Label: Spam, Source: "test", Message: spam(1)})
	if err != nil || res.Via != ViaDirect || res.Outcome != AlreadyLearned {
		t.Fatalf("learn after the service stopped: %+v %v", res, err)
	}
}

// Abort closes everything: the statfile can be opened again.
func TestServiceAbort(t *testing.T) {
	opts := serviceOptions(t)
	svc, err := OpenService(opts)
	if err != nil {
		t.Fatal(err)
	}
	svc.Abort()
	opts.Registry = prometheus.NewRegistry() // the metrics of a new daemon
	svc, err = OpenService(opts)
	if err != nil {
		t.Fatalf("after Abort: %v", err)
	}
	svc.Abort()
}
