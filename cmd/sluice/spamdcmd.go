package main

import (
	"context"
	"log/slog"

	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/learner"
	"github.com/sluicemail/sluice/profile"
	"github.com/sluicemail/sluice/scan"
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
	cfg, err := c.load()
	if err != nil {
		return err
	}
	if err := listenFlag(*listen, &cfg.Spamd.Listen); err != nil {
		return err
	}
	logger := newLogger(cfg, std.err)
	scanningGC()
	var door *learner.Door
	if cfg.Spamd.AllowLearn {
		// TELL and /learn* go to the learner, or to the statfile directly
		// when no learner runs; a busy statfile is "try again later".
		dopts, err := doorOptions(cfg, nil)
		if err != nil {
			return err
		}
		door = learner.NewDoor(dopts)
		// The first TELL would create the statfile; creating it now lets
		// the scanner map it from the start and see every learn at once.
		if err := door.CreateStatfile(); err != nil {
			return err
		}
	}
	stack, err := newScanStack(cfg, logger)
	if err != nil {
		return err
	}
	defer stack.Close()
	opts := spamdOptions(cfg, stack.scanner, logger)
	if door != nil {
		opts.Learner = door
	}
	defer stack.start(logger)() // until the listener has stopped
	mode, _ := cfg.Spamd.Mode()
	ln, err := socket.Listen(cfg.Spamd.Listen, socket.Options{Mode: fsMode(mode), Group: cfg.Spamd.SocketGroup})
	if err != nil {
		return err
	}
	srv := spamd.New(opts)
	logger.Info("spamd listening", "listen", cfg.Spamd.Listen, "statfile", stack.stats.Path(), "allow_learn", cfg.Spamd.AllowLearn)
	return serveUntilDone(ctx, "spamd", srv, ln, cfg.Spamd.ShutdownTimeout.D(),
		func() any { return srv.Counters() }, spamd.ErrServerClosed, logger)
}

// spamdOptions builds the listener's options from the configuration; the
// caller sets the Learner.
func spamdOptions(cfg config.Config, sc *scan.Scanner, logger *slog.Logger) spamd.Options {
	var profiles spamd.ProfileMatcher
	if len(cfg.Profiles) > 0 {
		profiles = profile.New(cfg.Profiles)
	}
	return spamd.Options{
		Scanner:  sc,
		Profiles: profiles,
		Limits: spamd.Limits{
			MaxSize:       int64(cfg.Spamd.MaxSize),
			MaxHeaders:    cfg.Spamd.MaxHeaders,
			MaxLineLength: int(cfg.Spamd.MaxLineLength),
		},
		HeaderTimeout:     cfg.Spamd.HeaderTimeout.D(),
		Timeout:           cfg.Spamd.Timeout.D(),
		MaxConns:          cfg.Spamd.MaxConnections,
		MaxConnsPerClient: cfg.Spamd.MaxPerClient,
		Logger:            logger,
	}
}
