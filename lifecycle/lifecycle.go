// Package lifecycle runs the connections of a network service: the one
// accept / track / shutdown loop that the milter, the spamd listener and
// the learner share.
//
// It accepts on any number of listeners and retries every temporary
// accept error with a growing pause (EMFILE and ENFILE included: running
// out of descriptors is pressure that passes, never a reason to stop
// listening for good); it caps the connections served at once, in total
// and per client address, and refuses the excess at once (counted, logged,
// optionally with a protocol reply) rather than leaving it in the listen
// backlog where it would wait behind idle clients; it recovers a panic in
// one connection's handler; and it shuts down in two steps: drain (stop
// accepting, end idle connections, let busy ones finish) and, when the
// caller's deadline passes, close what is left and cancel the handlers'
// context.
//
// The protocol is the handler's business: it marks its connection busy
// while a request is in flight (Conn.SetBusy) and arms its read deadline
// through Conn.ArmRead before it waits for a new request, so that a drain
// ends an idle connection at once and a busy one after its request.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("server closed")

// Handler serves one connection; the connection is closed when it returns.
// ctx is cancelled when the server closes (Close, or Shutdown's deadline).
type Handler func(ctx context.Context, c *Conn)

// Refusal says why a connection was refused.
type Refusal uint8

const (
	RefusedFull   Refusal = iota + 1 // MaxConns connections are being served
	RefusedClient                    // the client has MaxPerClient of them
)

func (r Refusal) String() string {
	if r == RefusedClient {
		return "too many connections from this client"
	}
	return "too many connections"
}

// Options configure a Server. Zero values take the defaults named.
type Options struct {
	Name   string       // the service, in logs ("milter", "spamd", "learner")
	Logger *slog.Logger // default: discard
	// MaxConns bounds the connections served at once; one more is
	// refused at once. 0: no bound.
	MaxConns int
	// MaxPerClient bounds the connections from one client IP address;
	// unix socket clients have none and are not counted. 0: no bound.
	MaxPerClient int
	// Exempt, when set, names client addresses that MaxPerClient does not
	// apply to (the spamd listener exempts loopback: every local client,
	// the MTA included, shares 127.0.0.1).
	Exempt func(netip.Addr) bool
	// Refuse, when set, writes a short reply to a refused connection
	// before it is closed (under a write deadline of RefuseTimeout).
	Refuse func(c net.Conn, why Refusal)
	// MaxBackoff is the longest pause between accept retries (1s).
	MaxBackoff time.Duration
}

// RefuseTimeout bounds the write of a refusal's reply.
const RefuseTimeout = 100 * time.Millisecond

// Counters are a server's totals since it started.
type Counters struct {
	Accepted      uint64 `json:"accepted"`
	Active        int    `json:"active"`         // served now
	RefusedFull   uint64 `json:"refused_full"`   // over MaxConns
	RefusedClient uint64 `json:"refused_client"` // over MaxPerClient
	AcceptErrors  uint64 `json:"accept_errors"`  // temporary, retried
	Panics        uint64 `json:"panics"`         // recovered
}

// Server accepts and tracks connections for a Handler. It is safe for
// concurrent use.
type Server struct {
	h    Handler
	opts Options
	log  *slog.Logger

	base   context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // one per connection

	accepted, refusedFull, refusedClient, acceptErrors, panics atomic.Uint64
	lastRefusalLog                                             atomic.Int64 // unix nanoseconds

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*Conn]struct{}
	perClient map[netip.Addr]int
	closing   bool
}

// New returns a server that serves each connection with h.
func New(h Handler, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = time.Second
	}
	base, cancel := context.WithCancel(context.Background())
	return &Server{
		h: h, opts: opts, log: opts.Logger, base: base, cancel: cancel,
		listeners: make(map[net.Listener]struct{}), conns: make(map[*Conn]struct{}),
		perClient: make(map[netip.Addr]int),
	}
}

// Serve accepts connections on ln until Shutdown or Close (then it
// returns ErrServerClosed) or a permanent accept error (ln closed by
// someone else, for one). Temporary errors are retried after a pause that
// doubles from 5ms up to MaxBackoff, and resets on the next success.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		ln.Close()
	}()
	var pause time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isClosing() {
				return ErrServerClosed
			}
			if !Temporary(err) {
				return fmt.Errorf("%s: accept: %w", s.opts.Name, err)
			}
			s.acceptErrors.Add(1)
			pause = min(max(2*pause, 5*time.Millisecond), s.opts.MaxBackoff)
			s.log.Warn("accept failed, retrying", "service", s.opts.Name, "err", err, "pause", pause)
			t := time.NewTimer(pause)
			select {
			case <-t.C:
			case <-s.base.Done():
				t.Stop()
			}
			continue
		}
		pause = 0
		c, why := s.track(nc)
		if c == nil {
			if why == 0 { // closing
				nc.Close()
				continue
			}
			s.refuse(nc, why)
			continue
		}
		s.accepted.Add(1)
		go s.serve(c)
	}
}

// Temporary reports accept errors worth retrying: a timeout, running out
// of descriptors, buffers or memory, an aborted or reset handshake, an
// interrupted call.
func Temporary(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EINTR, syscall.EAGAIN, syscall.EPROTO, syscall.EPERM} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Closing reports whether Shutdown or Close was called.
func (s *Server) Closing() bool { return s.isClosing() }

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// clientOf is the IP address a connection counts against, if any.
func (s *Server) clientOf(nc net.Conn) (netip.Addr, bool) {
	if s.opts.MaxPerClient <= 0 {
		return netip.Addr{}, false
	}
	ta, ok := nc.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return netip.Addr{}, false
	}
	a := ta.AddrPort().Addr().Unmap()
	if !a.IsValid() || s.opts.Exempt != nil && s.opts.Exempt(a) {
		return netip.Addr{}, false
	}
	return a, true
}

// track registers a new connection, or says why it may not be served (0:
// the server is closing).
func (s *Server) track(nc net.Conn) (*Conn, Refusal) {
	client, counted := s.clientOf(nc)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closing:
		return nil, 0
	case s.opts.MaxConns > 0 && len(s.conns) >= s.opts.MaxConns:
		return nil, RefusedFull
	case counted && s.perClient[client] >= s.opts.MaxPerClient:
		return nil, RefusedClient
	}
	c := &Conn{Conn: nc, client: client, counted: counted}
	s.conns[c] = struct{}{}
	if counted {
		s.perClient[client]++
	}
	s.wg.Add(1)
	return c, 0
}

func (s *Server) untrack(c *Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if c.counted {
		if s.perClient[c.client]--; s.perClient[c.client] <= 0 {
			delete(s.perClient, c.client)
		}
	}
}

// refuse answers and closes a connection over a cap; the log says so at
// most once a second, with the totals.
func (s *Server) refuse(nc net.Conn, why Refusal) {
	if why == RefusedClient {
		s.refusedClient.Add(1)
	} else {
		s.refusedFull.Add(1)
	}
	if s.opts.Refuse != nil {
		_ = nc.SetWriteDeadline(time.Now().Add(RefuseTimeout))
		s.opts.Refuse(nc, why)
	}
	nc.Close()
	now := time.Now().UnixNano()
	last := s.lastRefusalLog.Load()
	if now-last >= int64(time.Second) && s.lastRefusalLog.CompareAndSwap(last, now) {
		s.log.Warn("connection refused", "service", s.opts.Name, "reason", why.String(), "remote", nc.RemoteAddr().String(),
			"max_connections", s.opts.MaxConns, "max_per_client", s.opts.MaxPerClient,
			"refused_full", s.refusedFull.Load(), "refused_client", s.refusedClient.Load())
	}
}

// serve runs the handler for one connection; a panic ends only this
// connection, logged with its stack and counted.
func (s *Server) serve(c *Conn) {
	defer s.wg.Done()
	defer s.untrack(c)
	defer c.Close()
	defer func() {
		if v := recover(); v != nil {
			s.panics.Add(1)
			s.log.Error("panic serving a connection", "service", s.opts.Name, "remote", c.RemoteAddr().String(),
				"panic", v, "stack", string(debug.Stack()))
		}
	}()
	s.h(s.base, c)
}

// Shutdown stops accepting, ends idle connections at once and lets busy
// ones finish until ctx ends; then it closes the rest, cancels the
// handlers' context, and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stop((*Conn).drain)
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.cancel()
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	n := len(s.conns)
	s.mu.Unlock()
	s.log.Warn("shutdown deadline reached, closing connections still busy", "service", s.opts.Name, "connections", n)
	s.Close()
	<-done
	return fmt.Errorf("%s: shutdown: %w", s.opts.Name, ctx.Err())
}

// Close stops at once: listeners and connections are closed and the
// handlers' context is cancelled. It does not wait for the handlers.
func (s *Server) Close() error {
	s.stop(func(c *Conn) { c.Close() })
	s.cancel()
	return nil
}

// stop marks the server closing, closes its listeners and applies end to
// every connection.
func (s *Server) stop(end func(*Conn)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = true
	for ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		end(c)
	}
}

// Counters returns the totals so far.
func (s *Server) Counters() Counters {
	s.mu.Lock()
	active := len(s.conns)
	s.mu.Unlock()
	return Counters{
		Accepted: s.accepted.Load(), Active: active,
		RefusedFull: s.refusedFull.Load(), RefusedClient: s.refusedClient.Load(),
		AcceptErrors: s.acceptErrors.Load(), Panics: s.panics.Load(),
	}
}

// Conn is one connection being served.
type Conn struct {
	net.Conn
	client  netip.Addr
	counted bool

	mu       sync.Mutex
	busy     bool // a request is in flight
	draining bool // the server is shutting down
}

// SetBusy marks a request in flight (true) or done (false). A drain
// waits for a busy connection and ends an idle one.
func (c *Conn) SetBusy(busy bool) {
	c.mu.Lock()
	c.busy = busy
	c.mu.Unlock()
}

// ArmRead sets the read deadline before the handler waits for a new
// request. When the server is draining and the connection is not busy it
// sets nothing and returns false: the handler should end the connection.
func (c *Conn) ArmRead(deadline time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.draining && !c.busy {
		return false
	}
	return c.Conn.SetReadDeadline(deadline) == nil
}

// Draining reports whether the server is shutting down.
func (c *Conn) Draining() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.draining
}

// drain marks the server shutting down and wakes an idle connection's
// blocked read with a past deadline.
func (c *Conn) drain() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.draining = true
	if !c.busy {
		_ = c.Conn.SetReadDeadline(time.Unix(1, 0))
	}
}
