package milter

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/sluicemail/sluice/lifecycle"
)

// conn wraps one MTA connection. It reads through a buffer (one system
// call brings in many small milter packets, where go-milter alone makes two
// per packet), sets deadlines by where the reader is in the milter framing,
// hands header packets to the session itself (so that go-milter, which
// keeps every header of a connection in a map until an abort, stores none),
// and keeps the facts of the SMTP session that outlive go-milter's
// backends.
//
// Deadlines with a buffer: the underlying socket is read only when the
// buffer is empty, that is when every byte received has been handed on, so
// the framing position of the bytes handed on is the socket's too: at a
// packet boundary the read waits up to the idle timeout, inside a packet
// the read timeout.
type conn struct {
	lc  *lifecycle.Conn
	srv *Server
	id  uint64
	br  *bufio.Reader

	// Framing position of the bytes handed on; only the reading goroutine
	// touches these (go-milter reads and calls back on one goroutine).
	hdr       [4]byte
	hdrN      int
	remaining uint32
	skipping  bool   // reading a header packet for the session
	pending   []byte // a packet made here, handed on before the socket's
	pkt       []byte // a header packet's payload

	sess *session // the current message's backend

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

// readBuffer is the per-connection read buffer. A Postfix macro or header
// packet is tens to hundreds of bytes; a body chunk (64 KiB) is larger than
// the buffer and so is read straight into go-milter's packet, as before.
// Postfix opens a connection per SMTP session: the buffer is allocated
// that often, so it stays small.
const readBuffer = 4 << 10

// maxPacket is go-milter's bound on a packet's length (its maxPacketSize):
// a header packet longer than that is left for go-milter to refuse.
const maxPacket = 1 << 20

// dataPacket is SMFIC_DATA with no payload: go-milter answers it with
// "continue", which is the reply a header packet gets, and calls nothing.
var dataPacket = []byte{0, 0, 0, 1, 'T'}

func newConn(lc *lifecycle.Conn, s *Server, id uint64) *conn {
	c := &conn{lc: lc, srv: s, id: id, done: make(chan struct{})}
	c.br = bufio.NewReaderSize(socketReader{c}, readBuffer)
	return c
}

// Read hands go-milter the next bytes. At a packet boundary, a draining
// server with no message in flight ends the connection (io.EOF), and a
// header packet is given to the session and replaced by dataPacket. Every
// error reaches go-milter as io.EOF, after being logged here: the library
// would log it through the global logger.
func (c *conn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	if c.atBoundary() {
		if !c.lc.ArmRead(time.Now().Add(c.srv.opts.IdleTimeout)) {
			return 0, io.EOF
		}
		if ok, err := c.headerPacket(); err != nil {
			return 0, io.EOF
		} else if ok {
			n := copy(p, dataPacket)
			c.pending = dataPacket[n:]
			return n, nil
		}
	}
	n, err := c.br.Read(p)
	c.track(p[:n])
	if err != nil {
		return n, io.EOF
	}
	return n, nil
}

func (c *conn) atBoundary() bool { return c.hdrN == 0 && c.remaining == 0 }

// headerPacket reads a header packet (SMFIC_HEADER) whole, if one is next,
// and gives it to the current session.
func (c *conn) headerPacket() (bool, error) {
	b, err := c.br.Peek(5)
	if err != nil {
		if len(b) > 0 {
			return false, nil // let go-milter read the short rest
		}
		return false, err
	}
	length := binary.BigEndian.Uint32(b)
	if b[4] != 'L' || length == 0 || length > maxPacket || c.sess == nil {
		return false, nil
	}
	c.skipping = true
	defer func() { c.skipping = false }()
	if _, err := c.br.Discard(5); err != nil {
		return false, err
	}
	n := int(length - 1)
	if cap(c.pkt) < n {
		c.pkt = make([]byte, n)
	}
	pkt := c.pkt[:n]
	if _, err := io.ReadFull(c.br, pkt); err != nil {
		return false, err
	}
	c.sess.headerPacket(pkt)
	if cap(c.pkt) > readBuffer {
		c.pkt = nil // keep no large buffer for an idle connection
	}
	return true, nil
}

// socketReader is what the buffer reads from: the socket, with the
// deadline the framing position asks for.
type socketReader struct{ c *conn }

func (r socketReader) Read(p []byte) (int, error) {
	c := r.c
	boundary := c.atBoundary() && !c.skipping
	if boundary {
		if !c.lc.ArmRead(time.Now().Add(c.srv.opts.IdleTimeout)) {
			return 0, io.EOF
		}
	} else if err := c.lc.SetReadDeadline(time.Now().Add(c.srv.opts.ReadTimeout)); err != nil {
		return 0, err
	}
	n, err := c.lc.Read(p)
	if err != nil {
		c.readError(err, boundary)
	}
	return n, err
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
	log := c.srv.log.With("conn", c.id)
	switch {
	case c.lc.Draining() || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed):
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.srv.m.timeouts.Inc()
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
	if err := c.lc.SetWriteDeadline(time.Now().Add(c.srv.opts.ReadTimeout)); err != nil {
		return 0, err
	}
	n, err := c.lc.Write(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.srv.m.timeouts.Inc()
		c.srv.log.Warn("milter reply not written in time, closing", "conn", c.id)
	}
	return n, err
}

// Close closes the connection once.
func (c *conn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		err = c.lc.Close()
		close(c.done)
	})
	return err
}

// beginMessage marks a message in flight: a drain waits for it.
func (c *conn) beginMessage() { c.lc.SetBusy(true) }

// endMessage marks the message done; a draining connection will close at
// its next read.
func (c *conn) endMessage() { c.lc.SetBusy(false) }

// The rest of net.Conn, for go-milter.
func (c *conn) LocalAddr() net.Addr                { return c.lc.LocalAddr() }
func (c *conn) RemoteAddr() net.Addr               { return c.lc.RemoteAddr() }
func (c *conn) SetDeadline(t time.Time) error      { return nil }
func (c *conn) SetReadDeadline(t time.Time) error  { return nil }
func (c *conn) SetWriteDeadline(t time.Time) error { return nil }

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
