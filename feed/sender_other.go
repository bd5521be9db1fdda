//go:build !unix

package feed

import "errors"

// ErrDropped is returned by Send for a record that was not delivered.
var ErrDropped = errors.New("feed: record dropped")

// Sender needs unix datagram sockets; elsewhere NewSender fails.
type Sender struct{}

// NewSender fails: unix datagram sockets are not available.
func NewSender(path string) (*Sender, error) {
	return nil, errors.New("feed: unix datagram sockets are not supported on this platform")
}

// Send drops every record.
func (s *Sender) Send(r *Record) error { return ErrDropped }

// Sent is always 0.
func (s *Sender) Sent() uint64 { return 0 }

// Dropped is always 0.
func (s *Sender) Dropped() uint64 { return 0 }

// Close does nothing.
func (s *Sender) Close() error { return nil }
