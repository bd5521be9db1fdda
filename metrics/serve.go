package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sluicemail/sluice/socket"
)

// Scanning are the scan stack's own counters, read at scrape time: the
// statfile reader's faults (a mapping that broke under a scan: the scan
// went on without Bayes) and the verdicts with a non-finite stage left
// out. faults and nonFinite return running totals.
func Scanning(faults, nonFinite func() uint64) []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "sluice_statfile_faults_total",
			Help: "Statfile lookups that hit a broken or vanished mapping (SIGBUS caught, file truncated or replaced badly): the scan went on without Bayes.",
		}, func() float64 { return float64(faults()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "sluice_scan_non_finite_total",
			Help: "Verdicts from which a stage (Bayes, the network, a symbol) was left out because its result was not a finite number, on every front end.",
		}, func() float64 { return float64(nonFinite()) }),
	}
}

// Server serves GET /metrics of a registry on its own listener: what
// `sluice milter` and `sluice spamd` run alone ([milter] and [spamd]
// metrics_listen). `sluice serve` and the learner serve /metrics on the
// learner's HTTP listener instead.
type Server struct {
	srv  *http.Server
	done chan error
}

// Serve starts serving g's metrics on ln in a goroutine that Shutdown
// ends. Every request is bounded: 10 s for the header, 30 s in all.
func Serve(ln net.Listener, g prometheus.Gatherer, log *slog.Logger) *Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}))
	s := &Server{
		srv: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		done: make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s
}

// Shutdown stops the server, letting scrapes in flight finish until ctx
// ends, and waits for its goroutine.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = fmt.Errorf("metrics: %w", serr)
	}
	return err
}

// Listen serves reg's /metrics, with the Go and process collectors, on
// addr (milter.metrics_listen, spamd.metrics_listen: inet:host:port or
// unix:/path; "off" or "": none) until the returned stop, which waits up
// to 5 s for scrapes in flight.
func Listen(addr string, reg *prometheus.Registry, log *slog.Logger) (stop func(), err error) {
	if addr == "off" || addr == "" {
		return func() {}, nil
	}
	ln, err := socket.Listen(addr, socket.Options{Mode: 0o660})
	if err != nil {
		return nil, fmt.Errorf("metrics_listen: %w", err)
	}
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		ln.Close()
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		ln.Close()
		return nil, fmt.Errorf("metrics: %w", err)
	}
	srv := Serve(ln, reg, log)
	log.Info("metrics listening", "metrics_listen", addr, "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			log.Warn("metrics listener shutdown", "err", err)
		}
	}, nil
}
