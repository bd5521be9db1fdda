package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/metrics"
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

// serveMetrics serves reg's /metrics, with the Go and process collectors,
// on addr (milter.metrics_listen, spamd.metrics_listen; "off" or "":
// none) until the returned stop.
func serveMetrics(addr string, reg *prometheus.Registry, logger *slog.Logger) (stop func(), err error) {
	if addr == config.Off || addr == "" {
		return func() {}, nil
	}
	ln, err := socket.Listen(addr, socket.Options{Mode: 0o660})
	if err != nil {
		return nil, fmt.Errorf("metrics_listen: %w", err)
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv := metrics.Serve(ln, reg, logger)
	logger.Info("metrics listening", "metrics_listen", addr, "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			logger.Warn("metrics listener shutdown", "err", err)
		}
	}, nil
}
