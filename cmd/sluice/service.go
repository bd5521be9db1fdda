package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/sluicemail/sluice/socket"
)

// listenFlag applies a --listen style flag: an empty value keeps the
// configured address, anything else must parse as unix:/path or
// inet:host:port (a usage error otherwise) and replaces it.
func listenFlag(value string, dst *string) error {
	if value == "" {
		return nil
	}
	if _, _, err := socket.ParseAddr(value); err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	*dst = value
	return nil
}

// server is what the milter and the spamd listener have in common: a
// serve loop, a graceful shutdown, and counters to log at the end.
type server interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
}

// serveUntilDone serves ln until the server fails or ctx ends; then it
// shuts the server down gracefully within timeout (messages in flight
// finish) and logs its final counters. A server closed by the shutdown is
// not an error: closed is the server's "closed" sentinel.
func serveUntilDone(ctx context.Context, name string, srv server, ln net.Listener, timeout time.Duration,
	counters func() any, closed error, logger *slog.Logger) error {
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	var err error
	select {
	case err = <-served:
	case <-ctx.Done():
		logger.Info(name+" shutting down", "shutdown_timeout", timeout)
		sctx, cancel := context.WithTimeout(context.Background(), timeout)
		if serr := srv.Shutdown(sctx); serr != nil {
			logger.Warn(name+" shutdown incomplete", "err", serr)
		}
		cancel()
		err = <-served
	}
	logger.Info(name+" stopped", "counters", counters())
	if errors.Is(err, closed) {
		return nil
	}
	return err
}

// withListeners is a server that also serves extra listeners alongside
// the one Serve is given (the spamd listener's learn socket). Serve
// returns the first listener's end: after Shutdown, ErrServerClosed; the
// others end with the same Shutdown.
type withListeners struct {
	server
	extra []net.Listener
}

func (w withListeners) Serve(ln net.Listener) error {
	errs := make(chan error, 1+len(w.extra))
	for _, l := range append([]net.Listener{ln}, w.extra...) {
		go func() { errs <- w.server.Serve(l) }()
	}
	return <-errs
}
