package main

import (
	"context"
	"fmt"
	"io/fs"
	"log"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/feed"
	"github.com/sluicemail/sluice/greylist"
	"github.com/sluicemail/sluice/lifecycle"
	"github.com/sluicemail/sluice/metrics"
	"github.com/sluicemail/sluice/milter"
	"github.com/sluicemail/sluice/profile"
	"github.com/sluicemail/sluice/scanstack"
	"github.com/sluicemail/sluice/socket"
	"github.com/sluicemail/sluice/spamheader"
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

	stack := scanstack.New(cfg, logger)
	defer stack.Close()
	// The watchers swap in each network the learner publishes until the
	// milter has stopped (deferred calls run in reverse).
	defer stack.Start(logger)()
	opts, closeFeed, err := milterOptions(cfg, stack.Live, logger)
	if err != nil {
		return &exitError{code: 78, err: err}
	}
	defer closeFeed()
	opts.Profiles = stack.Live
	defer onHUP(ctx, scanstack.NewReloader(config.Path(c.configPath), cfg, stack, logger).Reload)()
	srv := milter.New(opts)
	reg := prometheus.NewRegistry()
	reg.MustRegister(stack.Collectors()...)
	if err := srv.Register(reg); err != nil {
		return err
	}
	stopMetrics, err := metrics.Listen(cfg.Milter.MetricsListen, reg, logger)
	if err != nil {
		return err
	}
	defer stopMetrics()
	mode, _ := cfg.Milter.Mode()
	ln, err := socket.Listen(cfg.Milter.Listen, socket.Options{Mode: fsMode(mode), Group: cfg.Milter.SocketGroup})
	if err != nil {
		return err
	}
	logger.Info("milter listening", "listen", cfg.Milter.Listen, "statfile", stack.Stats.Path(), "feed_socket", cfg.Milter.FeedSocket)
	return lifecycle.Run(ctx, "milter", srv, ln, cfg.Milter.ShutdownTimeout.D(), func() any { return srv.Counters() }, logger)
}

// headerOptions are the optional X-Spam-* fields [headers] asks for, the
// same for the milter and the spamd listener.
func headerOptions(h config.Headers) spamheader.Options {
	return spamheader.Options{Report: h.Report, SpamdResult: h.SpamdResult, Spam: h.Spam}
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
		Headers:         headerOptions(cfg.Headers),
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
	// Always open: a SIGHUP may turn the greylist threshold on. The file
	// is written only once the action has been taken.
	stop, err := openGreylist(cfg, &opts, logger)
	if err != nil {
		closeFeed()
		return milter.Options{}, nil, err
	}
	closeAll := closeFeed
	closeFeed = func() { stop(); closeAll() }
	return opts, closeFeed, nil
}

// openGreylist gives the milter its triplet store ([greylist], read at
// start), saved every minute and when the returned stop is called.
func openGreylist(cfg config.Config, opts *milter.Options, logger *slog.Logger) (stop func(), err error) {
	g := cfg.Greylist
	store, err := greylist.Open(greylist.Options{Path: cfg.DataPath(g.File), Delay: g.Delay.D(), Window: g.Window.D(), Expire: g.Expire.D(), MaxEntries: g.MaxEntries,
		OnBadFile: func(err error) { logger.Warn("greylist file unreadable, starting empty", "err", err) }})
	if err != nil {
		return nil, err
	}
	opts.Greylist = store
	return store.SaveEvery(time.Minute, func(err error) { logger.Error("greylist not saved", "err", err) }), nil
}

func fsMode(m uint32) fs.FileMode { return fs.FileMode(m) & fs.ModePerm }
