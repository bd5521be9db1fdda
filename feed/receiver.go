package feed

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"time"
)

// Receiver is the learner's end: a unix datagram socket bound to a path.
// Read is meant for one goroutine.
type Receiver struct {
	conn *net.UnixConn
	path string
	buf  []byte
}

// Listen binds a datagram socket at path with the given permissions
// (senders need write access). A stale socket file at path is removed; any
// other kind of file there is an error.
func Listen(path string, mode fs.FileMode) (*Receiver, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("feed: %s exists and is not a socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("feed: remove stale socket: %w", err)
		}
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("feed: listen: %w", err)
	}
	if err := os.Chmod(path, mode); err != nil {
		conn.Close()
		return nil, fmt.Errorf("feed: %w", err)
	}
	return &Receiver{conn: conn, path: path, buf: make([]byte, MaxRecordSize+1)}, nil
}

// Read waits for the next datagram and decodes it. A datagram that is not a
// record gives an error wrapping ErrMalformed; the receiver stays usable.
// After Close, Read returns an error wrapping net.ErrClosed.
func (r *Receiver) Read() (*Record, error) {
	n, _, err := r.conn.ReadFromUnix(r.buf)
	if err != nil {
		return nil, fmt.Errorf("feed: read: %w", err)
	}
	return Decode(r.buf[:n])
}

// SetReadDeadline makes a waiting Read return a timeout error at t.
func (r *Receiver) SetReadDeadline(t time.Time) error { return r.conn.SetReadDeadline(t) }

// Path is the socket's path.
func (r *Receiver) Path() string { return r.path }

// Close closes the socket and removes its file.
func (r *Receiver) Close() error {
	err := r.conn.Close()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("feed: close: %w", err)
	}
	if err == nil {
		if err := os.Remove(r.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("feed: %w", err)
		}
	}
	return nil
}
