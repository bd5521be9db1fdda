package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/feed"
	"github.com/sluicemail/sluice/learner"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/socket"
)

// This file builds and runs the learner daemon for `sluice learner` and
// `sluice serve`: the writer, the daemon, its unix socket, its HTTP
// endpoints and its scan record socket.

func learnerSocket(cfg config.Config) (string, error) { return dataPath(cfg, cfg.Learner.Socket) }

func learnerSpool(cfg config.Config) (*learner.Spool, error) {
	dir, err := dataPath(cfg, cfg.Learner.SpoolDir)
	if err != nil {
		return nil, err
	}
	return learner.NewSpool(dir, cfg.Learner.SpoolMax, int64(cfg.Learner.MaxMessageSize)), nil
}

// learnDoor is the learner's front door for `sluice learn`: the daemon's
// socket, else the statfile directly, else the spool.
func learnDoor(cfg config.Config, log *slog.Logger) (*learner.Door, error) {
	opts, err := doorOptions(cfg, log)
	if err != nil {
		return nil, err
	}
	if opts.Spool, err = learnerSpool(cfg); err != nil {
		return nil, err
	}
	return learner.NewDoor(opts), nil
}

// doorOptions are the ways of a Door but the spool: the daemon's socket and
// the statfile.
func doorOptions(cfg config.Config, log *slog.Logger) (learner.DoorOptions, error) {
	socket, err := learnerSocket(cfg)
	if err != nil {
		return learner.DoorOptions{}, err
	}
	statfile, err := statfilePath(cfg)
	if err != nil {
		return learner.DoorOptions{}, err
	}
	return learner.DoorOptions{
		Socket: socket, Statfile: statfile, Writer: writerOptions(cfg, log), Learn: learnOptions(cfg),
		MaxMessage: int64(cfg.Learner.MaxMessageSize),
	}, nil
}

// learnerNeural configures the network's training cycle: with [neural]
// enabled, the learner trains on the milters' scan records (and explicit
// learns) and publishes [neural] file; with use_settings, each settings
// profile's records train the profile's own network (profiles). Pools are
// kept in the data directory, in <network file's name>.pools.
func learnerNeural(cfg config.Config) (def learner.Neural, profiles map[string]learner.Neural, err error) {
	if !cfg.Neural.Enabled {
		return learner.Neural{}, nil, nil
	}
	if def, err = learnerNetwork(cfg, ""); err != nil {
		return learner.Neural{}, nil, err
	}
	if !cfg.Neural.UseSettings {
		return def, nil, nil
	}
	for _, name := range cfg.ProfileNames() {
		o, err := learnerNetwork(cfg, name)
		if err != nil {
			return learner.Neural{}, nil, err
		}
		if profiles == nil {
			profiles = make(map[string]learner.Neural)
		}
		profiles[name] = o
	}
	return def, profiles, nil
}

// learnerNetwork is the training cycle of one profile's network ("": the
// default one).
func learnerNetwork(cfg config.Config, profile string) (learner.Neural, error) {
	n := cfg.Neural
	file, err := profilePath(cfg, profile)
	if err != nil {
		return learner.Neural{}, err
	}
	pools, err := poolPath(cfg, file)
	if err != nil {
		return learner.Neural{}, err
	}
	return learner.Neural{
		File: file, PoolFile: pools, SpamScore: n.SpamScore, HamScore: n.HamScore,
		MaxTrain: n.MaxTrain, MaxEpoch: n.MaxEpoch, PoolSize: n.PoolSize, Hidden: n.Hidden,
	}, nil
}

// poolPath is where the learner keeps the training pools of the network
// file: <its name>.pools in the data directory.
func poolPath(cfg config.Config, networkFile string) (string, error) {
	return dataPath(cfg, filepath.Base(networkFile)+".pools")
}

// learnerService is a learner daemon with its listeners. Its owner calls
// run once; run closes everything it was given.
type learnerService struct {
	cfg      config.Config
	log      *slog.Logger
	w        *mmapstore.Writer
	d        *learner.Daemon
	srv      *learner.Server
	ln       net.Listener
	httpSrv  *http.Server
	httpLn   net.Listener
	recv     *feed.Receiver
	socket   string
	statfile string
}

// abort closes what openLearner opened, for a caller that will not run it.
func (s *learnerService) abort() {
	s.ln.Close()
	if s.httpLn != nil {
		s.httpLn.Close()
	}
	if s.recv != nil {
		s.recv.Close()
	}
	if err := s.w.Close(); err != nil {
		s.log.Warn("close statfile", "err", err)
	}
}

// openLearner takes the writer lock and opens every listener; on error
// nothing stays open. A held lock gives exit 75 with a clear message.
func openLearner(cfg config.Config, log *slog.Logger, reg *prometheus.Registry) (_ *learnerService, err error) {
	s := &learnerService{cfg: cfg, log: log}
	var closers []func()
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				closers[i]()
			}
		}
	}()
	if s.statfile, err = statfilePath(cfg); err != nil {
		return nil, err
	}
	if s.socket, err = learnerSocket(cfg); err != nil {
		return nil, err
	}
	lc := cfg.Learner
	mode, _ := lc.Mode()
	gid, err := socket.LookupGroup(lc.SocketGroup)
	if err != nil {
		return nil, &exitError{code: 78, err: err}
	}
	s.w, err = learner.OpenWriter(s.statfile, writerOptions(cfg, log))
	if errors.Is(err, mmapstore.ErrLocked) {
		return nil, &exitError{code: exitTempFail, err: fmt.Errorf("another learner (or sluice learn) holds the statfile: %w", err)}
	}
	if err != nil {
		return nil, err
	}
	closers = append(closers, func() { s.w.Close() })
	spool, err := learnerSpool(cfg)
	if err != nil {
		return nil, err
	}
	if err := spool.Init(fsMode(mode), gid); err != nil {
		return nil, err
	}
	var recv *feed.Receiver
	if cfg.Milter.FeedSocket != "" {
		if recv, err = feed.Listen(cfg.Milter.FeedSocket, fsMode(mode)); err != nil {
			return nil, err
		}
		closers = append(closers, func() { recv.Close() })
		s.recv = recv
	}
	neural, neuralProfiles, err := learnerNeural(cfg)
	if err != nil {
		return nil, err
	}
	metrics := learner.NewMetrics(reg)
	s.d = learner.New(s.w, learner.Options{
		Logger:         log,
		Metrics:        metrics,
		Learn:          learnOptions(cfg),
		MaxBatch:       lc.MaxBatch,
		MaxMessage:     int64(lc.MaxMessageSize),
		Spool:          spool,
		SpoolInterval:  lc.SpoolInterval.D(),
		Receiver:       recv,
		Neural:         neural,
		NeuralProfiles: neuralProfiles,
		Autolearn: learner.Autolearn{
			Enabled: lc.Autolearn, SpamScore: lc.SpamScore, HamScore: lc.HamScore,
			MinProb: lc.MinProb, MinBalance: lc.MinBalance, Local: lc.AutolearnLocal,
		},
	})
	if s.ln, err = socket.ListenUnix(s.socket, socket.Options{Mode: fsMode(mode), Group: lc.SocketGroup}); err != nil {
		return nil, err
	}
	closers = append(closers, func() { s.ln.Close() })
	s.srv = learner.NewServer(s.d, learner.ServerOptions{Logger: log, RequestTimeout: lc.ShutdownTimeout.D() + time.Minute})
	if lc.HTTPListen != "" {
		addr := strings.TrimPrefix(strings.TrimPrefix(lc.HTTPListen, "inet6:"), "inet:")
		if s.httpLn, err = net.Listen("tcp", addr); err != nil {
			return nil, fmt.Errorf("learner http_listen: %w", err)
		}
		if reg != nil {
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		}
		s.httpSrv = &http.Server{
			Handler:           learner.NewHTTPHandler(s.d, learner.HTTPOptions{Password: lc.Password, Gatherer: reg, Logger: log}),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       time.Minute,
			WriteTimeout:      2 * time.Minute,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
	}
	return s, nil
}

// run serves until ctx ends, then stops taking requests, lets those in
// flight finish (up to learner.shutdown_timeout), commits what is queued,
// and closes the statfile.
func (s *learnerService) run(ctx context.Context) error {
	dctx, stopDaemon := context.WithCancel(context.Background())
	defer stopDaemon()
	ran := make(chan error, 1)
	go func() { ran <- s.d.Run(dctx) }()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Go(func() {
		if err := s.srv.Serve(s.ln); !errors.Is(err, learner.ErrServerClosed) {
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
	s.log.Info("learner listening", "socket", s.socket, "http", s.cfg.Learner.HTTPListen, "statfile", s.statfile,
		"autolearn", s.cfg.Learner.Autolearn, "feed_socket", s.cfg.Milter.FeedSocket, "neural_training", s.cfg.Neural.Enabled,
		"neural_profiles", neuralProfileNames(s.cfg))
	var err error
	daemonDone := false
	select {
	case <-ctx.Done():
	case err = <-errs:
	case err = <-ran:
		daemonDone = true
	}
	s.log.Info("learner shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.Learner.ShutdownTimeout.D())
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
	if cerr := s.w.Close(); cerr != nil && err == nil {
		err = cerr
	}
	s.log.Info("learner stopped")
	return err
}

// neuralProfileNames are the settings profiles with a network of their
// own (use_settings), for the log.
func neuralProfileNames(cfg config.Config) []string {
	if !cfg.Neural.Enabled || !cfg.Neural.UseSettings {
		return nil
	}
	return cfg.ProfileNames()
}
