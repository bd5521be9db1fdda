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
	"runtime/debug"
	"sync"
	"time"

	"github.com/sluicemail/sluice/learn"
)

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("learner: server closed")

// ServerOptions configure a Server.
type ServerOptions struct {
	Logger         *slog.Logger  // default: discard
	IdleTimeout    time.Duration // wait for the next request on a connection (1 min)
	RequestTimeout time.Duration // read one request, learn it, reply (1 min)
}

// Server serves the learn protocol (see Request) on a unix socket: any
// number of requests per connection, one at a time, each answered once it
// is durable.
type Server struct {
	d    *Daemon
	opts ServerOptions
	log  *slog.Logger

	base   context.Context // cancelled by a forced shutdown
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	ln      net.Listener
	conns   map[net.Conn]bool // value: a request is in progress
	closing bool
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
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{d: d, opts: opts, log: opts.Logger, base: ctx, cancel: cancel, conns: make(map[net.Conn]bool)}
}

// Serve accepts connections until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.ln = ln
	s.mu.Unlock()
	backoff := 5 * time.Millisecond
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("learner: accept: %w", err)
			}
			s.log.Warn("learner: accept", "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			c.Close()
			continue
		}
		s.conns[c] = false
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(c)
	}
}

// Shutdown stops accepting, closes idle connections at once, lets
// requests in progress finish until ctx ends, then closes the rest.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	if s.ln != nil {
		s.ln.Close()
	}
	for c, busy := range s.conns {
		if !busy {
			c.SetReadDeadline(time.Now())
		}
	}
	s.mu.Unlock()
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
		s.cancel()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		<-done
		return fmt.Errorf("learner: shutdown: %w", ctx.Err())
	}
}

func (s *Server) setBusy(c net.Conn, busy bool) (closing bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns[c] = busy
	return s.closing
}

func (s *Server) serveConn(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("learner: panic serving a connection", "panic", p, "stack", string(debug.Stack()))
		}
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	br := bufio.NewReaderSize(c, 64<<10)
	var out []byte
	for {
		if s.setBusy(c, false) {
			return
		}
		c.SetReadDeadline(time.Now().Add(s.opts.IdleTimeout))
		if _, err := br.Peek(1); err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, net.ErrClosed) {
				s.log.Debug("learner: connection", "err", err)
			}
			return
		}
		if s.setBusy(c, true) {
			return
		}
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
			ctx, cancel := context.WithTimeout(s.base, s.opts.RequestTimeout)
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
