//go:build unix

package feed

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
)

// ErrDropped is returned (wrapping the cause) by Send for a record that was
// not delivered.
var ErrDropped = errors.New("feed: record dropped")

// Sender sends records to a receiver's socket path without ever blocking. It
// is safe for concurrent use.
type Sender struct {
	addr    syscall.SockaddrUnix
	mu      sync.RWMutex // guards fd against Close during a send
	fd      int
	sent    atomic.Uint64
	dropped atomic.Uint64
	names   namesPolicy
}

// NewSender opens a non-blocking datagram socket that sends to path. The
// receiver need not exist yet.
func NewSender(path string) (*Sender, error) {
	if len(path) >= 108 { // sizeof(sun_path)
		return nil, fmt.Errorf("feed: socket path %q is too long", path)
	}
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_DGRAM, 0)
	if err != nil {
		return nil, fmt.Errorf("feed: socket: %w", err)
	}
	syscall.CloseOnExec(fd)
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("feed: socket: %w", err)
	}
	return &Sender{addr: syscall.SockaddrUnix{Name: path}, fd: fd}, nil
}

// Send encodes r and sends it as one datagram. It never waits: when the
// receiver is absent or full the record is dropped, counted, and an error
// wrapping ErrDropped and the errno is returned.
func (s *Sender) Send(r *Record) error {
	withNames := true
	if in := r.Inputs; in != nil && in.Names != nil {
		if withNames = s.names.send(in.Set); !withNames {
			c, ni := *r, *in
			ni.Names = nil
			c.Inputs = &ni
			r = &c
		}
	}
	sent := false
	defer func() {
		if !sent && withNames && r.Inputs != nil && r.Inputs.Names != nil {
			s.names.lost() // the names did not go out: send them again next time
		}
	}()
	b, err := Encode(r)
	if err != nil {
		s.dropped.Add(1)
		return fmt.Errorf("%w: %w", ErrDropped, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.fd < 0 {
		s.dropped.Add(1)
		return fmt.Errorf("%w: sender closed", ErrDropped)
	}
	// Sendto writes the address's raw form into the SockaddrUnix it is
	// given: each send has its own copy, as Send runs in many goroutines.
	addr := s.addr
	if err := syscall.Sendto(s.fd, b, 0, &addr); err != nil {
		s.dropped.Add(1)
		return fmt.Errorf("%w: send to %s: %w", ErrDropped, s.addr.Name, err)
	}
	s.sent.Add(1)
	sent = true
	return nil
}

// Sent is how many records were delivered to the receiver's queue.
func (s *Sender) Sent() uint64 { return s.sent.Load() }

// Dropped is how many records were not.
func (s *Sender) Dropped() uint64 { return s.dropped.Load() }

// Close closes the socket; later sends are dropped.
func (s *Sender) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd < 0 {
		return nil
	}
	err := syscall.Close(s.fd)
	s.fd = -1
	return err
}
