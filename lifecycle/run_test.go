package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
)

// Run serves until its context ends, then shuts the service down, logs
// its counters and returns nil; WithListeners serves every listener until
// that one Shutdown.
func TestRunWithListeners(t *testing.T) {
	s := New(echo, Options{})
	first, extra := listen(t), listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	counted := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, "test", WithListeners(s, []net.Listener{extra}), first, 10*time.Second,
			func() any { close(counted); return s.Counters() }, slog.New(slog.DiscardHandler))
	}()
	for _, ln := range []net.Listener{first, extra} {
		if got, err := roundTrip(t, ln.Addr(), "ping\n"); err != nil || got != "ping\n" {
			t.Fatalf("%s: %q, %v", ln.Addr(), got, err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after its context ended: %v", err)
	}
	select {
	case <-counted:
	default:
		t.Error("Run did not log the counters")
	}
	if _, err := roundTrip(t, extra.Addr(), "ping\n"); err == nil {
		t.Error("the extra listener still serves after Run returned")
	}
}

// A service that ends on its own ends Run with its error.
func TestRunServeError(t *testing.T) {
	s := New(echo, Options{})
	ln := listen(t)
	ln.Close()
	err := Run(context.Background(), "test", s, ln, time.Second, func() any { return nil }, slog.New(slog.DiscardHandler))
	if err == nil || errors.Is(err, ErrServerClosed) {
		t.Fatalf("Run on a closed listener: %v, want its accept error", err)
	}
}

// Shutdown cuts a request still in flight at its deadline and says so.
func TestShutdownIncomplete(t *testing.T) {
	ln := listen(t)
	s := New(echo, Options{})
	served := start(t, s, ln)
	holdRequest(t, s, ln, 1)
	var logs bytes.Buffer
	Shutdown("test", s, 0, slog.New(slog.NewTextHandler(&logs, nil)))
	if !strings.Contains(logs.String(), "test shutdown incomplete") {
		t.Errorf("log: %q", logs.String())
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) || s.Counters().Active != 0 {
		t.Errorf("after Shutdown: Serve %v, %d active", err, s.Counters().Active)
	}
}
