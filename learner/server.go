package learner

import (
	"bufio"
	"context"
	"errors"
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
}

// Server serves the learn protocol (see Request) on a unix socket: any
// number of requests per connection, one at a time, each answered once it
// is durable. Accepting, tracking and shutting down are lifecycle's.
type Server struct {
	d    *Daemon
	opts ServerOptions
	log  *slog.Logger
	srv  *lifecycle.Server
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
	s := &Server{d: d, opts: opts, log: opts.Logger}
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
		c.SetBusy(true)
		c.SetDeadline(time.Now().Add(s.opts.RequestTimeout))
		req, err := ReadRequest(br, s.d.MaxMessage())
		var resp *Response
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				s.log.Debug("learner: read request", "err", err)
				return
			}
			resp = &Response{Status: StatusBadRequest, Text: err.Error()}
		} else {
			ctx, cancel := context.WithTimeout(base, s.opts.RequestTimeout)
			out, err := s.d.Learn(ctx, req)
			cancel()
			resp = responseFor(out, err)
		}
		out = AppendResponse(out[:0], resp)
		if _, err := c.Write(out); err != nil {
			s.log.Debug("learner: write response", "err", err)
			return
		}
		if resp.Status == StatusBadRequest {
			return // the stream may be out of step
		}
	}
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
