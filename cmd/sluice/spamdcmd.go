package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/feed"
	"github.com/sluicemail/sluice/learner"
	"github.com/sluicemail/sluice/learnstack"
	"github.com/sluicemail/sluice/lifecycle"
	"github.com/sluicemail/sluice/metrics"
	"github.com/sluicemail/sluice/scanstack"
	"github.com/sluicemail/sluice/socket"
	"github.com/sluicemail/sluice/spamd"
)

// cmdSpamd runs the spamd / rspamd listener (Exim, spamc, rspamc) until
// SIGTERM or SIGINT, then lets requests in flight finish (up to
// spamd.shutdown_timeout) and logs the counters.
func cmdSpamd(ctx context.Context, std *stdio, args []string) error {
	fs, c := newFlags("spamd", "", std, false)
	listen := fs.String("listen", "", "`address` to listen on: inet:host:port or unix:/path (default from config, inet:127.0.0.1:11333)")
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
	if err := listenFlag(*listen, &cfg.Spamd.Listen); err != nil {
		return err
	}
	if cfg.Spamd.Listen == config.Off {
		return &exitError{code: 78, err: fmt.Errorf("spamd.listen is off: give --listen or set an address")}
	}
	if err := cfg.Spamd.LearnAuthError(); err != nil {
		return &exitError{code: 78, err: fmt.Errorf("spamd.password: %w", err)}
	}
	logger := newLogger(cfg, std.err)
	scanningGC()
	var door *learner.Door
	if cfg.Spamd.AllowLearn {
		// TELL and /learn* go to the learner, or to the statfile directly
		// when no learner runs; a busy statfile is "try again later".
		dopts := learnstack.DoorOptions(cfg, nil)
		dopts.Logger = logger
		door = learner.NewDoor(dopts)
		// The first TELL would create the statfile; creating it now lets
		// the scanner map it from the start and see every learn at once.
		if err := door.CreateStatfile(); err != nil {
			return err
		}
	}
	stack := scanstack.New(cfg, logger)
	defer stack.Close()
	opts := spamdOptions(cfg, stack.Live, logger)
	if cfg.Milter.FeedSocket != "" { // the learner's scan record socket
		snd, err := feed.NewSender(cfg.Milter.FeedSocket)
		if err != nil {
			return err
		}
		defer snd.Close()
		opts.Feed = snd
	}
	defer onHUP(ctx, scanstack.NewReloader(config.Path(c.configPath), cfg, stack, logger).Reload)()
	if door != nil {
		opts.Learner = door
	}
	defer stack.Start(logger)() // until the listener has stopped
	srv := spamd.New(opts)
	reg := prometheus.NewRegistry()
	reg.MustRegister(stack.Collectors()...)
	if err := srv.Register(reg); err != nil {
		return err
	}
	stopMetrics, err := metrics.Listen(cfg.Spamd.MetricsListen, reg, logger)
	if err != nil {
		return err
	}
	defer stopMetrics()
	lns, err := spamdListeners(cfg)
	if err != nil {
		return err
	}
	logger.Info("spamd listening", "listen", cfg.Spamd.Listen, "learn_socket", cfg.Spamd.LearnSocket, "statfile", stack.Stats.Path(),
		"allow_learn", cfg.Spamd.AllowLearn, "learn_over_tcp", cfg.Spamd.AllowLearn && cfg.Spamd.Password != "")
	return lifecycle.Run(ctx, "spamd", lifecycle.WithListeners(srv, lns[1:]), lns[0], cfg.Spamd.ShutdownTimeout.D(),
		func() any { return srv.Counters() }, logger)
}

// spamdOptions builds the listener's options from the configuration; the
// caller sets the Learner.
func spamdOptions(cfg config.Config, sc *scanstack.Live, logger *slog.Logger) spamd.Options {
	return spamd.Options{
		Scanner:  sc,
		Profiles: sc,
		Limits: spamd.Limits{
			MaxSize:       int64(cfg.Spamd.MaxSize),
			MaxHeaders:    cfg.Spamd.MaxHeaders,
			MaxLineLength: int(cfg.Spamd.MaxLineLength),
		},
		HeaderTimeout:     cfg.Spamd.HeaderTimeout.D(),
		Timeout:           cfg.Spamd.Timeout.D(),
		MaxConns:          cfg.Spamd.MaxConnections,
		MaxConnsPerClient: cfg.Spamd.MaxPerClient,
		LearnPassword:     cfg.Spamd.Password,
		Headers:           headerOptions(cfg.Headers),
		Logger:            logger,
	}
}

// spamdListeners opens the spamd listener's address and, with learning
// on, its learn socket (a unix socket whose mode and group say who may
// learn): the listen address first. On error nothing stays open.
func spamdListeners(cfg config.Config) ([]net.Listener, error) {
	mode, _ := cfg.Spamd.Mode()
	so := socket.Options{Mode: fsMode(mode), Group: cfg.Spamd.SocketGroup}
	ln, err := socket.Listen(cfg.Spamd.Listen, so)
	if err != nil {
		return nil, err
	}
	lns := []net.Listener{ln}
	if cfg.Spamd.AllowLearn && cfg.Spamd.LearnSocket != "" {
		lln, err := socket.Listen("unix:"+cfg.DataPath(cfg.Spamd.LearnSocket), so)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("spamd.learn_socket: %w", err)
		}
		lns = append(lns, lln)
	}
	return lns, nil
}
