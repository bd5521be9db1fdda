package learner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sluicemail/sluice/cluster"
	"github.com/sluicemail/sluice/feed"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/socket"
)

// ServiceOptions configure a Service: the daemon's statfile and options,
// and its listeners.
type ServiceOptions struct {
	Statfile string
	Writer   *mmapstore.Options
	// Daemon configures the daemon; the Service sets its Spool, Receiver
	// and Metrics.
	Daemon Options
	// Socket is the unix socket of `sluice learn` and the Door, made with
	// SocketMode and SocketGroup ("" : the process's group).
	Socket      string
	SocketMode  fs.FileMode
	SocketGroup string
	// Spool is created with SocketMode and SpoolGroup (a gid, -1: the
	// process's group) and drained every SpoolInterval (Daemon).
	Spool      *Spool
	SpoolGroup int
	// FeedSocket, when set, receives the milters' scan records.
	FeedSocket string
	// HTTPListen, when set, serves the rspamd-compatible learn endpoints
	// and /metrics ("inet:host:port"); Password guards the learns.
	HTTPListen string
	Password   string
	// MaxLearns bounds the learns the socket, and the HTTP endpoints,
	// each read and serve at once (DefaultMaxLearns).
	MaxLearns int
	// SymbolWeights are the symbols' configured weights, for rspamd's
	// /counters on the HTTP listener.
	SymbolWeights map[string]float64
	// Registry receives the daemon's metrics and, with HTTPListen, the Go
	// and process collectors that /metrics serves. Required.
	Registry *prometheus.Registry
	// RequestTimeout bounds one socket request; ShutdownTimeout how long
	// requests in flight may take to finish when Run's context ends.
	RequestTimeout, ShutdownTimeout time.Duration
	Logger                          *slog.Logger
	// Cluster, when set, opens the host's membership of its cluster with
	// the daemon's Applier ([cluster] enabled): the daemon publishes its
	// learns there, and the service closes it after the daemon stopped.
	Cluster func(app cluster.Applier) (*cluster.Host, error)
}

// Service is a learner daemon with its listeners: the statfile's writer,
// the unix socket, the spool, and optionally the scan record socket and
// the HTTP endpoints. Its owner calls Run once, or Abort when it will
// not; either closes everything OpenService opened.
type Service struct {
	opts    ServiceOptions
	log     *slog.Logger
	w       *mmapstore.Writer
	d       *Daemon
	srv     *Server
	ln      net.Listener
	httpSrv *http.Server
	httpOpt HTTPOptions
	httpLn  net.Listener
	recv    *feed.Receiver
	host    *cluster.Host // nil: not in a cluster
}

// OpenService takes the writer lock (a held one gives an error wrapping
// mmapstore.ErrLocked) and opens every listener; on error nothing stays
// open.
func OpenService(opts ServiceOptions) (_ *Service, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{opts: opts, log: opts.Logger}
	var closers []func()
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				closers[i]()
			}
		}
	}()
	if s.w, err = OpenWriter(opts.Statfile, opts.Writer); err != nil {
		return nil, err
	}
	closers = append(closers, func() { s.w.Close() })
	if err := opts.Spool.Init(opts.SocketMode, opts.SpoolGroup); err != nil {
		return nil, err
	}
	if opts.FeedSocket != "" {
		if s.recv, err = feed.Listen(opts.FeedSocket, opts.SocketMode); err != nil {
			return nil, err
		}
		closers = append(closers, func() { s.recv.Close() })
	}
	dopts := opts.Daemon
	dopts.Logger, dopts.Metrics, dopts.Spool, dopts.Receiver = s.log, NewMetrics(opts.Registry), opts.Spool, s.recv
	s.d = New(s.w, dopts)
	if opts.Cluster != nil {
		if s.host, err = opts.Cluster(s.d.Applier()); err != nil {
			return nil, fmt.Errorf("join the cluster: %w", err)
		}
		closers = append(closers, func() { s.host.Close() })
		s.d.JoinCluster(s.host)
	}
	if s.ln, err = socket.ListenUnix(opts.Socket, socket.Options{Mode: opts.SocketMode, Group: opts.SocketGroup}); err != nil {
		return nil, err
	}
	closers = append(closers, func() { s.ln.Close() })
	s.srv = NewServer(s.d, ServerOptions{Logger: s.log, RequestTimeout: opts.RequestTimeout, MaxLearns: opts.MaxLearns})
	if opts.HTTPListen != "" {
		addr := strings.TrimPrefix(strings.TrimPrefix(opts.HTTPListen, "inet6:"), "inet:")
		if s.httpLn, err = net.Listen("tcp", addr); err != nil {
			return nil, fmt.Errorf("learner http_listen: %w", err)
		}
		opts.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		s.httpOpt = HTTPOptions{Password: opts.Password, MaxLearns: opts.MaxLearns, Gatherer: opts.Registry, Logger: s.log,
			Statfile: opts.Statfile, Weights: opts.SymbolWeights, Start: time.Now()}
		s.httpSrv = &http.Server{
			Handler:           NewHTTPHandler(s.d, s.httpOpt),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       time.Minute,
			WriteTimeout:      2 * time.Minute,
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		}
	}
	return s, nil
}

// Daemon is the service's daemon (for learns and scan records in process).
func (s *Service) Daemon() *Daemon { return s.d }

// SetConsole serves h (the web console) on the HTTP listener at every
// path its endpoints do not claim; it does nothing without an HTTP
// listener. Call it before Run: the console needs the daemon, and the
// scanner its owner opens after the service.
func (s *Service) SetConsole(h http.Handler) {
	if s.httpSrv == nil {
		return
	}
	opt := s.httpOpt
	opt.Console = h
	s.httpSrv.Handler = NewHTTPHandler(s.d, opt)
}

// Statfile is the path of the statfile the service writes.
func (s *Service) Statfile() string { return s.opts.Statfile }

// Abort closes what OpenService opened, for an owner that will not Run.
func (s *Service) Abort() {
	s.ln.Close()
	if s.httpLn != nil {
		s.httpLn.Close()
	}
	if s.recv != nil {
		s.recv.Close()
	}
	if s.host != nil {
		s.host.Close()
	}
	if err := s.w.Close(); err != nil {
		s.log.Warn("close statfile", "err", err)
	}
}

// Run serves until ctx ends (or a listener or the daemon fails), then
// stops taking requests, lets those in flight finish (up to
// ShutdownTimeout), commits what is queued, and closes the statfile.
func (s *Service) Run(ctx context.Context) error {
	dctx, stopDaemon := context.WithCancel(context.Background())
	defer stopDaemon()
	ran := make(chan error, 1)
	go func() { ran <- s.d.Run(dctx) }()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Go(func() {
		if err := s.srv.Serve(s.ln); !errors.Is(err, ErrServerClosed) {
			errs <- err
		}
	})
	if s.httpSrv != nil {
		wg.Go(func() {
			if err := s.httpSrv.Serve(s.httpLn); !errors.Is(err, http.ErrServerClosed) {
				errs <- fmt.Errorf("learner http: %w", err)
			}
		})
	}
	s.log.Info("learner listening", "socket", s.opts.Socket, "http", s.opts.HTTPListen, "http_learn", s.opts.HTTPListen != "" && s.opts.Password != "", "statfile", s.opts.Statfile,
		"autolearn", s.opts.Daemon.Autolearn.Enabled, "feed_socket", s.opts.FeedSocket, "neural_training", s.opts.Daemon.Neural.File != "",
		"neural_profiles", mapKeys(s.opts.Daemon.NeuralProfiles), "cluster", s.host != nil)
	var err error
	daemonDone := false
	select {
	case <-ctx.Done():
	case err = <-errs:
	case err = <-ran:
		daemonDone = true
	}
	s.log.Info("learner shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	if serr := s.srv.Shutdown(sctx); serr != nil {
		s.log.Warn("learner socket shutdown incomplete", "err", serr)
	}
	if s.httpSrv != nil {
		if serr := s.httpSrv.Shutdown(sctx); serr != nil {
			s.log.Warn("learner http shutdown incomplete", "err", serr)
			s.httpSrv.Close()
		}
	}
	wg.Wait()
	stopDaemon()
	if !daemonDone {
		if rerr := <-ran; err == nil {
			err = rerr
		}
	}
	if s.host != nil { // its node stopped with the daemon
		if cerr := s.host.Close(); cerr != nil {
			s.log.Warn("close the cluster", "err", cerr)
		}
	}
	if cerr := s.w.Close(); cerr != nil && err == nil {
		err = cerr
	}
	s.log.Info("learner stopped")
	return err
}

func mapKeys[V any](m map[string]V) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
