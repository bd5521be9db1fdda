package milter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emersion/go-milter"

	"github.com/sluicemail/sluice/feed"
	"github.com/sluicemail/sluice/scan"
)

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("milter: server closed")

// Scanner is the scan pipeline; *scan.Scanner implements it.
type Scanner interface {
	Scan(ctx context.Context, r io.Reader, req scan.Request) (*scan.Verdict, error)
}

// InputNamer names the network inputs of Verdict.Inputs; *scan.Scanner
// implements it. With a Feed, a scanner that does sends each record with
// the input vector, for the learner to train the network.
type InputNamer interface {
	InputNames() []string
}

// ProfileMatcher maps recipients to a settings profile name ("" none);
// *profile.Matcher implements it.
type ProfileMatcher interface {
	Match(recipients ...string) string
}

// RecordSender takes scan records without blocking; *feed.Sender
// implements it.
type RecordSender interface {
	Send(r *feed.Record) error
	Sent() uint64
	Dropped() uint64
}

// DefaultAction is the verdict given when Sluice itself fails.
type DefaultAction uint8

const (
	DefaultAccept   DefaultAction = iota // fail-open: deliver unscanned
	DefaultTempFail                      // 451: the client retries later
	DefaultReject                        // 550
)

// ParseDefaultAction reads accept, tempfail or reject.
func ParseDefaultAction(s string) (DefaultAction, error) {
	switch s {
	case "accept":
		return DefaultAccept, nil
	case "tempfail":
		return DefaultTempFail, nil
	case "reject":
		return DefaultReject, nil
	}
	return 0, fmt.Errorf("milter: default action %q is not accept, tempfail or reject", s)
}

// Options configure a Server. Zero durations and sizes take the defaults
// noted; Scanner is required.
type Options struct {
	Scanner         Scanner
	Logger          *slog.Logger  // default: discard
	MaxSize         int64         // largest message scanned (10 MiB)
	IdleTimeout     time.Duration // wait for the next command (10 min)
	ReadTimeout     time.Duration // finish a command, write a reply (1 min)
	DefaultAction   DefaultAction
	RejectReply     string // "550 5.7.1 Message rejected as spam"
	GreylistReply   string // "451 4.7.1 Try again later"
	SubjectTemplate string // "***SPAM*** %s"
	Quarantine      bool   // quarantine instead of reject
	SkipAuth        bool   // accept authenticated senders unscanned
	TrustedNetworks []netip.Prefix
	UserHeader      string // header naming the user; "" = first recipient
	// Profiles choose a message's settings profile from the user header
	// (when set and matched) or the first envelope recipient that has
	// one; nil: no profiles.
	Profiles ProfileMatcher
	Feed     RecordSender // nil: no scan records
	Now      func() time.Time
}

func (o *Options) withDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxSize <= 0 {
		o.MaxSize = 10 << 20
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 10 * time.Minute
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = time.Minute
	}
	if o.RejectReply == "" {
		o.RejectReply = "550 5.7.1 Message rejected as spam"
	}
	if o.GreylistReply == "" {
		o.GreylistReply = "451 4.7.1 Try again later"
	}
	if o.SubjectTemplate == "" {
		o.SubjectTemplate = "***SPAM*** %s"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Actions is what the server asks the MTA to allow: add and change
// headers, quarantine. It stays within the mask a protocol-2 peer offers.
const Actions = milter.OptAddHeader | milter.OptChangeHeader | milter.OptQuarantine

// Server serves the milter protocol to any number of MTA connections.
type Server struct {
	opts   Options
	inputs []string // the scanner's network input names, for scan records
	log    *slog.Logger
	m      metrics
	ids    atomic.Uint64
	bufs   sync.Pool // *bytes.Buffer for message contents

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	draining  bool
	wg        sync.WaitGroup // one per connection
}

// New returns a server; call Serve with a listener from Listen.
func New(opts Options) *Server {
	opts.withDefaults()
	var inputs []string
	if in, ok := opts.Scanner.(InputNamer); ok && opts.Feed != nil {
		inputs = in.InputNames()
	}
	return &Server{
		opts:      opts,
		inputs:    inputs,
		log:       opts.Logger,
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*conn]struct{}),
	}
}

// Serve accepts connections on ln until Shutdown (then it returns
// ErrServerClosed) or a permanent accept error.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.draining {
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
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isDraining() {
				return ErrServerClosed
			}
			if temporary(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log.Warn("milter accept failed, retrying", "err", err, "delay", delay)
				time.Sleep(delay)
				continue
			}
			return fmt.Errorf("milter: accept: %w", err)
		}
		delay = 0
		c := s.track(nc)
		if c == nil {
			nc.Close()
			continue
		}
		go s.handle(c)
	}
}

// temporary reports accept errors worth retrying (out of descriptors or
// memory, an aborted handshake).
func temporary(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func (s *Server) isDraining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}

// track registers a new connection, or returns nil while shutting down.
func (s *Server) track(nc net.Conn) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return nil
	}
	c := newConn(nc, s, s.ids.Add(1))
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.m.connections.Add(1)
	return c
}

// handle serves one connection with its own go-milter Server, whose
// backend factory closes over the connection.
func (s *Server) handle(c *conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	defer func() {
		if v := recover(); v != nil {
			s.m.errors.Add(1)
			s.log.Error("milter connection panicked", "conn", c.id, "panic", v, "stack", string(debug.Stack()))
		}
	}()
	ms := &milter.Server{
		NewMilter: func() milter.Milter { return newSession(s, c) },
		Actions:   Actions,
	}
	_ = ms.Serve(&oneConn{c: c}) // returns when the connection is closed
}

// Shutdown stops accepting, closes idle connections, and waits for the
// messages in flight; when ctx ends first it closes the rest and returns
// ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	for ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.drain()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	n := len(s.conns)
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.log.Warn("milter shutdown deadline reached, closed connections with messages in flight", "connections", n)
	<-done
	return ctx.Err()
}

// Counters returns a snapshot of the counters.
func (s *Server) Counters() Counters {
	c := s.m.snapshot()
	if s.opts.Feed != nil {
		c.RecordsSent, c.RecordsDropped = s.opts.Feed.Sent(), s.opts.Feed.Dropped()
	}
	return c
}
