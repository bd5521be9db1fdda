//go:build unix

package feed

import (
	"errors"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestSendConcurrent: a Sender is safe for concurrent use, as the milter's
// connections use it (run with -race): records sent from many goroutines
// at once arrive whole, or are dropped only because the receive queue is
// full.
func TestSendConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "feed.sock")
	recv, err := Listen(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Close()
	s, err := NewSender(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const goroutines, each = 8, 50
	var received atomic.Uint64
	done := make(chan error, 1)
	go func() {
		for {
			if _, err := recv.Read(); err != nil {
				done <- err
				return
			}
			received.Add(1)
		}
	}()
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				if err := s.Send(sample()); err != nil && !errors.Is(err, syscall.EAGAIN) {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if s.Sent()+s.Dropped() != goroutines*each || s.Sent() == 0 {
		t.Fatalf("sent %d, dropped %d of %d", s.Sent(), s.Dropped(), goroutines*each)
	}
	for deadline := time.Now().Add(10 * time.Second); received.Load() < s.Sent(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			break
		}
	}
	recv.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read: %v", err)
	}
	if received.Load() != s.Sent() {
		t.Fatalf("received %d records, sent %d", received.Load(), s.Sent())
	}
}
