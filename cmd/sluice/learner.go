package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicemail/sluice/buildinfo"
	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/console"
	"github.com/sluicemail/sluice/learner"
	"github.com/sluicemail/sluice/learnstack"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/scanstack"
)

// cmdLearner runs the learner daemon: the statfile's only writer, fed by
// `sluice learn` over its unix socket, by rspamc over HTTP, by its spool
// and by the milters' scan records (autolearn). SIGTERM or SIGINT stops
// it after the requests in flight.
func cmdLearner(ctx context.Context, std *stdio, args []string) error {
	fs, c := newFlags("learner", "", std, false)
	listen := fs.String("listen", "", "unix socket `address` for sluice learn: unix:/path (default from config, learner.sock in the data directory)")
	httpListen := fs.String("http", "", "`address` of the HTTP learn endpoints and /metrics: inet:host:port, or \"off\" (default from config, inet:127.0.0.1:11334)")
	boot := fs.Bool("bootstrap", false, "cluster: install the newest snapshot at start, ahead of the statfile's cursor (status says when a host needs it)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := c.loadDaemon()
	if err != nil {
		return err
	}
	cfg.Cluster.Bootstrap = *boot
	if err := makeDataDir(cfg); err != nil {
		return err
	}
	if err := learnerFlags(&cfg, *listen, *httpListen); err != nil {
		return err
	}
	logger := newLogger(cfg, std.err)
	svc, err := openLearner(cfg, logger, prometheus.NewRegistry())
	if err != nil {
		return err
	}
	stack := scanstack.New(cfg, logger) // the console's scan form
	defer stack.Close()
	defer stack.Start(logger)()
	reloader := scanstack.NewReloader(config.Path(c.configPath), cfg, stack, logger)
	defer onHUP(ctx, reloader.Reload)()
	svc.SetConsole(console.New(console.Options{Config: cfg, Running: reloader.Running, Learner: svc.Daemon(), Scanner: stack.Live,
		Version: buildinfo.Read(version), Logger: logger.With("part", "console")}))
	return svc.Run(ctx)
}

// learnerFlags applies --listen and --http over the configuration.
func learnerFlags(cfg *config.Config, listen, httpListen string) error {
	if listen != "" {
		path, ok := strings.CutPrefix(listen, "unix:")
		if !ok || path == "" {
			return &exitError{code: exitUsage, err: fmt.Errorf("--listen %q is not unix:/path", listen)}
		}
		cfg.Learner.Socket = path
	}
	switch httpListen {
	case "":
	case "off":
		cfg.Learner.HTTPListen = ""
	default:
		cfg.Learner.HTTPListen = httpListen
		rest, ok := strings.CutPrefix(httpListen, "inet:")
		if _, _, err := net.SplitHostPort(rest); !ok || err != nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("--http %q is not inet:host:port", httpListen)}
		}
		if !cfg.Learner.HTTPLoopback() && cfg.Learner.Password == "" {
			return &exitError{code: 78, err: fmt.Errorf("--http %s is not loopback: set learner.password", httpListen)}
		}
	}
	return nil
}

// openLearner opens the learner's service as the configuration says
// (learnstack); a socket group that does not exist gives exit 78, a held
// writer lock exit 75 with a clear message.
func openLearner(cfg config.Config, log *slog.Logger, reg *prometheus.Registry) (*learner.Service, error) {
	opts, err := learnstack.ServiceOptions(cfg, log, reg)
	if err != nil {
		return nil, &exitError{code: 78, err: err}
	}
	svc, err := learner.OpenService(opts)
	if errors.Is(err, mmapstore.ErrLocked) {
		return nil, &exitError{code: exitTempFail, err: fmt.Errorf("another learner (or sluice learn) holds the statfile: %w", err)}
	}
	return svc, err
}
