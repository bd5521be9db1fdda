package learner

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/lifecycle"
)

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = lifecycle.ErrServerClosed

// ServerOptions configure a Server.
type ServerOptions struct {
	Logger         *slog.Logger  // default: discard
	IdleTimeout    time.Duration // wait for the next request on a connection (1 min)
	RequestTimeout time.Duration // read one request, learn it, reply (1 min)
	// MaxConns bounds the connections served at once; more are refused
	// at once (256).
	MaxConns int
	// MaxLearns bounds the learns read and served at once
	// (DefaultMaxLearns): a request that finds them all taken is answered
	// StatusTempFail ("busy") before its message is read, and its
	// connection closed.
	MaxLearns int
}

// DefaultMaxLearns is how many learns a listener (the socket, HTTP) reads
// and serves at once by default: with 32 MiB messages, at most 256 MiB of
// messages per listener.
const DefaultMaxLearns = 8

// Server serves the learn protocol (see Request) on a unix socket: any
// number of requests per connection, one at a time, each answered once it
// is durable. Accepting, tracking and shutting down are lifecycle's.
type Server struct {
	d     *Daemon
	opts  ServerOptions
	log   *slog.Logger
	srv   *lifecycle.Server
	slots limiter
}

// NewServer returns a server handing requests to d.
func NewServer(d *Daemon, opts ServerOptions) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = time.Minute
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = time.Minute
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 256
	}
	if opts.MaxLearns <= 0 {
		opts.MaxLearns = DefaultMaxLearns
	}
	s := &Server{d: d, opts: opts, log: opts.Logger, slots: newLimiter(opts.MaxLearns)}
	s.srv = lifecycle.New(s.serveConn, lifecycle.Options{Name: "learner", Logger: opts.Logger, MaxConns: opts.MaxConns})
	return s
}

// Serve accepts connections until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.srv.Serve(ln) }

// Shutdown stops accepting, closes idle connections at once, lets
// requests in progress finish until ctx ends, then closes the rest.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

func (s *Server) serveConn(base context.Context, c *lifecycle.Conn) {
	br := bufio.NewReaderSize(c, 64<<10)
	var out []byte
	for {
		c.SetBusy(false)
		if !c.ArmRead(time.Now().Add(s.opts.IdleTimeout)) {
			return
		}
		if _, err := br.Peek(1); err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, net.ErrClosed) {
				s.log.Debug("learner: connection", "err", err)
			}
			return
		}
		if isAdmin(br) {
			s.serveAdmin(c, br)
			return
		}
		c.SetBusy(true)
		// The whole request must arrive within RequestTimeout: a client
		// that claims a large message and sends it slowly holds a slot no
		// longer than that.
		c.SetDeadline(time.Now().Add(s.opts.RequestTimeout))
		resp, ok := s.serveRequest(base, br)
		if resp == nil {
			return
		}
		out = AppendResponse(out[:0], resp)
		if _, err := c.Write(out); err != nil {
			s.log.Debug("learner: write response", "err", err)
			return
		}
		if !ok {
			return // the stream may be out of step
		}
	}
}

// serveRequest reads and serves one request. A nil response means the
// connection broke; ok false that it must be closed after the response.
func (s *Server) serveRequest(base context.Context, br *bufio.Reader) (resp *Response, ok bool) {
	req, ml, err := readRequestHead(br, s.d.MaxMessage())
	if err != nil {
		if !errors.Is(err, ErrProtocol) {
			s.log.Debug("learner: read request", "err", err)
			return nil, false
		}
		return &Response{Status: StatusBadRequest, Text: err.Error()}, false
	}
	if !s.slots.tryAcquire() {
		s.d.m.busy.WithLabelValues("socket").Inc()
		return &Response{Status: StatusTempFail, Text: fmt.Sprintf("busy: %d learns in progress, try again later", cap(s.slots))}, false
	}
	defer s.slots.release()
	if err := req.readMessage(br, ml, s.d.MaxMessage()); err != nil {
		if !errors.Is(err, ErrProtocol) {
			s.log.Debug("learner: read request", "err", err)
			return nil, false
		}
		return &Response{Status: StatusBadRequest, Text: err.Error()}, false
	}
	ctx, cancel := context.WithTimeout(base, s.opts.RequestTimeout)
	defer cancel()
	out, err := s.d.Learn(ctx, req)
	resp = responseFor(out, err)
	return resp, resp.Status != StatusBadRequest
}

// responseFor maps a learn result to a response.
func responseFor(out learn.Outcome, err error) *Response {
	switch {
	case err == nil:
		return &Response{Status: StatusOK, Outcome: out, Text: out.String()}
	case errors.Is(err, learn.ErrNotMessage):
		return &Response{Status: StatusNotMessage, Text: err.Error()}
	case errors.Is(err, ErrProtocol):
		return &Response{Status: StatusBadRequest, Text: err.Error()}
	}
	return &Response{Status: StatusTempFail, Text: err.Error()}
}
