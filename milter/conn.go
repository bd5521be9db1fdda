package milter

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"
)

// conn wraps one MTA connection. It sets deadlines by where the reader is in
// the milter framing, tells the server whether a message is in flight, and
// keeps the facts of the SMTP session that outlive go-milter's backends.
type conn struct {
	net.Conn
	srv *Server
	id  uint64

	// Framing position; only the reading goroutine touches these.
	hdr       [4]byte
	hdrN      int
	remaining uint32

	mu        sync.Mutex
	inMessage bool // between MAIL FROM and the final reply or abort
	draining  bool // the server is shutting down

	closeOnce sync.Once
	done      chan struct{} // closed by Close

	// SMTP session facts, set in Connect; only the session goroutine
	// (go-milter calls callbacks one at a time) reads and writes them.
	client  netip.Addr
	family  string
	host    string
	local   bool
	trusted bool
}

func newConn(nc net.Conn, s *Server, id uint64) *conn {
	return &conn{Conn: nc, srv: s, id: id, done: make(chan struct{})}
}

// Read reads with the idle timeout when waiting for a new command and the
// read timeout within one. Every error reaches go-milter as io.EOF, after
// being logged here: the library would log it through the global logger.
func (c *conn) Read(p []byte) (int, error) {
	boundary := c.hdrN == 0 && c.remaining == 0
	timeout := c.srv.opts.ReadTimeout
	if boundary {
		timeout = c.srv.opts.IdleTimeout
	}
	c.mu.Lock()
	if c.draining && !c.inMessage && boundary {
		c.mu.Unlock()
		return 0, io.EOF
	}
	err := c.Conn.SetReadDeadline(time.Now().Add(timeout))
	c.mu.Unlock()
	if err != nil {
		return 0, io.EOF
	}
	n, err := c.Conn.Read(p)
	c.track(p[:n])
	if err != nil {
		c.readError(err, boundary)
		return n, io.EOF
	}
	return n, nil
}

// track follows the framing over the bytes just read.
func (c *conn) track(b []byte) {
	for len(b) > 0 {
		if c.remaining > 0 {
			k := min(uint32(len(b)), c.remaining)
			c.remaining -= k
			b = b[k:]
			continue
		}
		k := copy(c.hdr[c.hdrN:], b)
		c.hdrN += k
		b = b[k:]
		if c.hdrN == 4 {
			c.remaining = binary.BigEndian.Uint32(c.hdr[:])
			c.hdrN = 0
		}
	}
}

func (c *conn) readError(err error, boundary bool) {
	c.mu.Lock()
	draining := c.draining
	c.mu.Unlock()
	log := c.srv.log.With("conn", c.id)
	switch {
	case draining || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed):
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.srv.m.timeouts.Add(1)
		if boundary {
			log.Info("milter connection idle too long, closing", "idle_timeout", c.srv.opts.IdleTimeout)
		} else {
			log.Warn("milter command not completed in time, closing", "read_timeout", c.srv.opts.ReadTimeout)
		}
	default:
		log.Info("milter connection read failed", "err", err)
	}
}

// Write writes with the read timeout as deadline.
func (c *conn) Write(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.srv.opts.ReadTimeout)); err != nil {
		return 0, err
	}
	n, err := c.Conn.Write(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.srv.m.timeouts.Add(1)
		c.srv.log.Warn("milter reply not written in time, closing", "conn", c.id)
	}
	return n, err
}

// Close closes the connection once.
func (c *conn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		err = c.Conn.Close()
		close(c.done)
	})
	return err
}

// beginMessage marks a message in flight.
func (c *conn) beginMessage() {
	c.mu.Lock()
	c.inMessage = true
	c.mu.Unlock()
}

// endMessage marks the message done; a draining connection will close at
// its next read.
func (c *conn) endMessage() {
	c.mu.Lock()
	c.inMessage = false
	c.mu.Unlock()
}

// drain asks the connection to close once no message is in flight: at
// once when it is idle (its blocked read is woken by a past deadline).
func (c *conn) drain() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.draining = true
	if !c.inMessage {
		_ = c.Conn.SetReadDeadline(time.Unix(1, 0))
	}
}

// setClient records the SMTP client of the session.
func (c *conn) setClient(host, family string, ip net.IP) {
	c.host, c.family = host, family
	if a, ok := netip.AddrFromSlice(ip); ok {
		c.client = a.Unmap()
	}
	c.classify()
}

// classify derives local and trusted from the client address.
func (c *conn) classify() {
	c.local = c.family == "unix" || c.family == "unknown" || (c.client.IsValid() && c.client.IsLoopback())
	c.trusted = false
	if c.client.IsValid() {
		for _, p := range c.srv.opts.TrustedNetworks {
			if p.Contains(c.client) {
				c.trusted = true
				break
			}
		}
	}
}

// oneConn is a listener that yields one connection, then blocks until that
// connection is closed: it lets each connection have its own go-milter
// Server and so its own backend factory.
type oneConn struct {
	c    *conn
	used bool
}

func (l *oneConn) Accept() (net.Conn, error) {
	if !l.used {
		l.used = true
		return l.c, nil
	}
	<-l.c.done
	return nil, net.ErrClosed
}

func (l *oneConn) Close() error   { return nil }
func (l *oneConn) Addr() net.Addr { return l.c.LocalAddr() }
