package main

import (
	"context"
	"fmt"
	"io/fs"
	"log"
	"log/slog"

	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/feed"
	"github.com/sluicemail/sluice/milter"
	"github.com/sluicemail/sluice/profile"
	"github.com/sluicemail/sluice/socket"
)

// cmdMilter runs the milter until SIGTERM or SIGINT, then lets messages in
// flight finish (up to milter.shutdown_timeout) and logs the counters.
func cmdMilter(ctx context.Context, std *stdio, args []string) error {
	fs, c := newFlags("milter", "", std, false)
	listen := fs.String("listen", "", "`address` to listen on: unix:/path or inet:host:port (default from config, inet:127.0.0.1:7357)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	if err := makeDataDir(cfg); err != nil {
		return err
	}
	if err := listenFlag(*listen, &cfg.Milter.Listen); err != nil {
		return err
	}
	logger := newLogger(cfg, std.err)
	scanningGC()
	// go-milter logs through the standard logger; send that to slog too.
	log.SetFlags(0)
	log.SetOutput(slog.NewLogLogger(logger.Handler(), slog.LevelWarn).Writer())

	stack, err := newScanStack(cfg, logger)
	if err != nil {
		return err
	}
	defer stack.Close()
	// The watchers swap in each network the learner publishes until the
	// milter has stopped (deferred calls run in reverse).
	defer stack.start(logger)()
	opts, closeFeed, err := milterOptions(cfg, stack.live, logger)
	if err != nil {
		return &exitError{code: 78, err: err}
	}
	defer closeFeed()
	opts.Profiles = stack.live
	defer onHUP(ctx, newReloader(c, cfg, stack, logger).reload)()
	mode, _ := cfg.Milter.Mode()
	ln, err := socket.Listen(cfg.Milter.Listen, socket.Options{Mode: fsMode(mode), Group: cfg.Milter.SocketGroup})
	if err != nil {
		return err
	}
	srv := milter.New(opts)
	logger.Info("milter listening", "listen", cfg.Milter.Listen, "statfile", stack.stats.Path(), "feed_socket", cfg.Milter.FeedSocket)
	return serveUntilDone(ctx, "milter", srv, ln, cfg.Milter.ShutdownTimeout.D(),
		func() any { return srv.Counters() }, milter.ErrServerClosed, logger)
}

// milterOptions builds the server's options from the configuration.
func milterOptions(cfg config.Config, sc milter.Scanner, logger *slog.Logger) (milter.Options, func(), error) {
	m := cfg.Milter
	def, err := milter.ParseDefaultAction(m.DefaultAction)
	if err != nil {
		return milter.Options{}, nil, err
	}
	nets, err := m.Networks()
	if err != nil {
		return milter.Options{}, nil, fmt.Errorf("milter.trusted_networks: %w", err)
	}
	opts := milter.Options{
		Scanner:         sc,
		Logger:          logger,
		MaxSize:         int64(m.MaxSize),
		IdleTimeout:     m.IdleTimeout.D(),
		ReadTimeout:     m.ReadTimeout.D(),
		MaxConns:        m.MaxConnections,
		DefaultAction:   def,
		RejectReply:     m.RejectMessage,
		GreylistReply:   m.GreylistMessage,
		SubjectTemplate: m.SubjectTemplate,
		Quarantine:      m.Quarantine,
		SkipAuth:        m.SkipAuth,
		TrustedNetworks: nets,
		UserHeader:      m.UserHeader,
	}
	if len(cfg.Profiles) > 0 {
		opts.Profiles = profile.New(cfg.Profiles)
	}
	closeFeed := func() {}
	if m.FeedSocket != "" {
		s, err := feed.NewSender(m.FeedSocket)
		if err != nil {
			return milter.Options{}, nil, err
		}
		opts.Feed = s
		closeFeed = func() { s.Close() }
	}
	return opts, closeFeed, nil
}

func fsMode(m uint32) fs.FileMode { return fs.FileMode(m) & fs.ModePerm }
