package lifecycle

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"time"
)

// Service is what Run runs: a serve loop that returns ErrServerClosed
// after a Shutdown, and the graceful Shutdown (the milter and the spamd
// listener).
type Service interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
}

// Run serves ln until the service fails or ctx ends; then it shuts the
// service down gracefully within timeout (requests in flight finish) and
// logs its final counters. A service closed by the shutdown is not an
// error.
func Run(ctx context.Context, name string, srv Service, ln net.Listener, timeout time.Duration,
	counters func() any, log *slog.Logger) error {
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	var err error
	select {
	case err = <-served:
	case <-ctx.Done():
		log.Info(name+" shutting down", "shutdown_timeout", timeout)
		Shutdown(name, srv, timeout, log)
		err = <-served
	}
	log.Info(name+" stopped", "counters", counters())
	if errors.Is(err, ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown shuts srv down gracefully within timeout (requests in flight
// finish; then what is left is closed) and logs a shutdown that did not
// complete.
func Shutdown(name string, srv Service, timeout time.Duration, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Warn(name+" shutdown incomplete", "err", err)
	}
}

// WithListeners is srv serving extra listeners alongside the one Serve is
// given (the spamd listener's learn socket). Serve returns the first
// listener's end: after Shutdown, ErrServerClosed; the others end with
// the same Shutdown.
func WithListeners(srv Service, extra []net.Listener) Service {
	return withListeners{srv, extra}
}

type withListeners struct {
	Service
	extra []net.Listener
}

func (w withListeners) Serve(ln net.Listener) error {
	errs := make(chan error, 1+len(w.extra))
	for _, l := range append([]net.Listener{ln}, w.extra...) {
		go func() { errs <- w.Service.Serve(l) }()
	}
	return <-errs
}
