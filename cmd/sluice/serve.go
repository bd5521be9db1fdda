package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicemail/sluice/buildinfo"
	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/console"
	"github.com/sluicemail/sluice/learner"
	"github.com/sluicemail/sluice/lifecycle"
	"github.com/sluicemail/sluice/milter"
	"github.com/sluicemail/sluice/scanstack"
	"github.com/sluicemail/sluice/socket"
	"github.com/sluicemail/sluice/spamd"
)

// cmdServe runs the milter, the learner and the spamd/rspamd listener in
// one process, with embedded defaults and a local data directory: what a
// single mail server needs, and the README's first command. The milter's
// scan records go to the learner in process (autolearn, when on); scanning
// maps the statfile read-only, so learning never blocks a scan. SIGTERM or
// SIGINT stops all three: intake first (milter and spamd let messages in
// flight finish), then the learner commits what is queued and closes the
// statfile.
func cmdServe(ctx context.Context, std *stdio, args []string) error {
	fs, c := newFlags("serve", "", std, false)
	listen := fs.String("listen", "", "milter `address`: unix:/path or inet:host:port (default from config, inet:127.0.0.1:7357)")
	spamdListen := fs.String("spamd-listen", "", "spamd/rspamd listener `address`, or \"off\" (default from config, inet:127.0.0.1:11333)")
	learnerListen := fs.String("learner-listen", "", "learner unix socket `address`: unix:/path (default from config, learner.sock in the data directory)")
	httpListen := fs.String("http", "", "learner HTTP endpoints and /metrics `address`, or \"off\" (default from config, inet:127.0.0.1:11334)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := c.loadDaemon()
	if err != nil {
		return err
	}
	if err := makeDataDir(cfg); err != nil {
		return err
	}
	if err := listenFlag(*listen, &cfg.Milter.Listen); err != nil {
		return err
	}
	if *spamdListen == config.Off {
		cfg.Spamd.Listen = config.Off
	} else if err := listenFlag(*spamdListen, &cfg.Spamd.Listen); err != nil {
		return err
	}
	withSpamd := cfg.Spamd.Listen != config.Off // "off" in the file as on the line
	if withSpamd {
		if err := cfg.Spamd.LearnAuthError(); err != nil {
			return &exitError{code: 78, err: fmt.Errorf("spamd.password: %w", err)}
		}
	}
	if err := learnerFlags(&cfg, *learnerListen, *httpListen); err != nil {
		return err
	}
	logger := newLogger(cfg, std.err)
	scanningGC()
	log.SetFlags(0)
	log.SetOutput(slog.NewLogLogger(logger.Handler(), slog.LevelWarn).Writer())

	reg := prometheus.NewRegistry()
	// The learner first: it creates the statfile that the scanners map.
	svc, err := openLearner(cfg, logger.With("part", "learner"), reg)
	if err != nil {
		return err
	}
	stack := scanstack.New(cfg, logger)
	defer stack.Close()
	stopWatcher := stack.Start(logger)
	defer stopWatcher() // on an early return; idempotent
	reg.MustRegister(scanstack.NetworkInService(stack.Nets.Default()))

	mopts, closeFeed, err := milterOptions(withoutFeedSocket(cfg), stack.Live, logger.With("part", "milter"))
	if err != nil {
		svc.Abort()
		return &exitError{code: 78, err: err}
	}
	defer closeFeed()
	mopts.Feed = svc.Daemon().Feed()
	mopts.Profiles = stack.Live
	reloader := scanstack.NewReloader(config.Path(c.configPath), cfg, stack, logger)
	defer onHUP(ctx, reloader.Reload)()
	mode, _ := cfg.Milter.Mode()
	mln, err := socket.Listen(cfg.Milter.Listen, socket.Options{Mode: fsMode(mode), Group: cfg.Milter.SocketGroup})
	if err != nil {
		svc.Abort()
		return err
	}
	msrv := milter.New(mopts)
	reg.MustRegister(stack.Collectors()...)
	if err := msrv.Register(reg); err != nil {
		mln.Close()
		svc.Abort()
		return err
	}

	var ssrv *spamd.Server
	spamdServed := make(chan error, 1)
	if withSpamd {
		sopts := spamdOptions(cfg, stack.Live, logger.With("part", "spamd"))
		sopts.Feed = svc.Daemon().Feed()
		if cfg.Spamd.AllowLearn {
			// The daemon in process; no direct way (it holds the
			// statfile) and no spool (spamd clients retry).
			sopts.Learner = learner.NewDoor(learner.DoorOptions{Daemon: svc.Daemon(), MaxMessage: int64(cfg.Learner.MaxMessageSize), Logger: logger.With("part", "spamd")})
		}
		slns, err := spamdListeners(cfg)
		if err != nil {
			mln.Close()
			svc.Abort()
			return err
		}
		ssrv = spamd.New(sopts)
		if err := ssrv.Register(reg); err != nil {
			mln.Close()
			svc.Abort()
			return err
		}
		defer func() { logger.Info("spamd stopped", "counters", ssrv.Counters()) }()
		go func() { spamdServed <- lifecycle.WithListeners(ssrv, slns[1:]).Serve(slns[0]) }()
		logger.Info("spamd listening", "listen", cfg.Spamd.Listen, "learn_socket", cfg.Spamd.LearnSocket,
			"learn_over_tcp", cfg.Spamd.AllowLearn && cfg.Spamd.Password != "")
	}

	services := []console.Service{{Name: "milter", Listen: cfg.Milter.Listen, Counters: func() any { return msrv.Counters() }}}
	if ssrv != nil {
		services = append(services, console.Service{Name: "spamd", Listen: cfg.Spamd.Listen, Counters: func() any { return ssrv.Counters() }})
	}
	svc.SetConsole(console.New(console.Options{Config: cfg, Running: reloader.Running, Learner: svc.Daemon(), Scanner: stack.Live, Version: buildinfo.Read(version),
		Services: services, Logger: logger.With("part", "console")}))
	lctx, stopLearner := context.WithCancel(context.Background())
	defer stopLearner()
	learnerDone := make(chan error, 1)
	go func() { learnerDone <- svc.Run(lctx) }()
	served := make(chan error, 1)
	go func() { served <- msrv.Serve(mln) }()
	logger.Info("milter listening", "listen", cfg.Milter.Listen, "statfile", svc.Statfile())

	// A service that ends on its own ends serve, non-zero: systemd
	// restarts the whole (spamd once died alone and nobody noticed).
	err = lifecycle.Watch(ctx, logger, lifecycle.Watched{Name: "milter", Done: served},
		lifecycle.Watched{Name: "learner", Done: learnerDone}, lifecycle.Watched{Name: "spamd", Done: spamdServed})
	logger.Info("sluice serve shutting down")
	var wg sync.WaitGroup
	wg.Go(func() { lifecycle.Shutdown("milter", msrv, cfg.Milter.ShutdownTimeout.D(), logger) })
	if ssrv != nil {
		wg.Go(func() {
			lifecycle.Shutdown("spamd", ssrv, cfg.Spamd.ShutdownTimeout.D(), logger)
			if serr := <-spamdServed; !errors.Is(serr, spamd.ErrServerClosed) {
				logger.Error("spamd", "err", serr)
			}
		})
	}
	wg.Wait()
	if merr := <-served; !errors.Is(merr, milter.ErrServerClosed) && err == nil {
		err = fmt.Errorf("milter: %w", merr)
	}
	logger.Info("milter stopped", "counters", msrv.Counters())
	stopWatcher()
	stopLearner()
	if lerr := <-learnerDone; lerr != nil && err == nil {
		err = lerr
	}
	return err
}

// withoutFeedSocket: in serve the milter hands records to the learner in
// process; milter.feed_socket, if set, is where other milters reach it.
func withoutFeedSocket(cfg config.Config) config.Config {
	cfg.Milter.FeedSocket = ""
	return cfg
}
