package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"

	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/learner"
	"github.com/sluicemail/sluice/milter"
	"github.com/sluicemail/sluice/mmapstore"
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
	path, err := statfilePath(cfg)
	if err != nil {
		return err
	}
	if cfg.Spamd.AllowLearn {
		// The first TELL would create the statfile; creating it now lets
		// the scanner map it from the start and see every learn at once.
		if err := createStatfile(cfg, path); err != nil {
			return err
		}
	}
	// Scanning maps the statfile read-only; a statfile that does not exist
	// yet scans with empty statistics until it appears.
	stats, err := milter.OpenStatfile(path, storeParams(tokenizerOptions(cfg)), logger)
	if err != nil {
		return err
	}
	defer stats.Close()
	scanner, watcher, err := scannerFor(cfg, stats, logger)
	if err != nil {
		return err
	}
	defer watcher.start(logger)() // until the listener has stopped
	opts := spamdOptions(cfg, scanner, logger)
	if cfg.Spamd.AllowLearn {
		socket, err := learnerSocket(cfg)
		if err != nil {
			return err
		}
		opts.Learner = &socketLearner{socket: socket, max: int64(cfg.Learner.MaxMessageSize), direct: newDirectLearner(cfg, path)}
	}
	mode, _ := cfg.Spamd.Mode()
	ln, err := socket.Listen(cfg.Spamd.Listen, socket.Options{Mode: fsMode(mode)})
	if err != nil {
		return err
	}
	srv := spamd.New(opts)
	logger.Info("spamd listening", "listen", cfg.Spamd.Listen, "statfile", path, "allow_learn", cfg.Spamd.AllowLearn)
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

// directLearner learns by opening the statfile for writing for each
// request, one at a time, and closing it at once, so that `sluice learn`
// and the learner daemon can take it in between. When another writer
// holds it, the client is told to try again later (EX_TEMPFAIL). `sluice
// spamd` uses it only when no learner daemon can be reached.
type directLearner struct {
	mu    sync.Mutex
	path  string
	wopts *mmapstore.Options
	lopts learn.Options
}

func newDirectLearner(cfg config.Config, path string) *directLearner {
	return &directLearner{path: path, wopts: writerOptions(cfg, nil), lopts: learnOptions(cfg)}
}

// Learn implements spamd.Learner.
func (d *directLearner) Learn(ctx context.Context, msg []byte, class mmapstore.Class, user string) (learn.Outcome, error) {
	return d.do(ctx, &learner.Request{Op: opFor(class), User: user, Source: "spamd", Message: msg})
}

// Forget implements spamd.Forgetter.
func (d *directLearner) Forget(ctx context.Context, msg []byte, user string) (learn.Outcome, error) {
	return d.do(ctx, &learner.Request{Op: learner.OpForget, User: user, Source: "spamd", Message: msg})
}

func (d *directLearner) do(ctx context.Context, req *learner.Request) (learn.Outcome, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	w, err := mmapstore.OpenWriter(d.path, d.wopts)
	if errors.Is(err, mmapstore.ErrLocked) {
		return 0, fmt.Errorf("%w: %w", spamd.ErrBusy, err)
	}
	if err != nil {
		return 0, fmt.Errorf("open statfile for learning: %w", err)
	}
	l := learn.New(w, d.lopts)
	var out learn.Outcome
	if req.Op == learner.OpForget {
		out, err = l.Forget(bytes.NewReader(req.Message), req.User)
	} else {
		out, err = l.Learn(bytes.NewReader(req.Message), classOfOp(req.Op), req.User)
	}
	if cerr := w.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close statfile after learning: %w", cerr)
	}
	return out, err
}

// createStatfile creates an empty statfile at path if there is none (a
// writer holding it means it exists).
func createStatfile(cfg config.Config, path string) error {
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	w, err := mmapstore.OpenWriter(path, writerOptions(cfg, nil))
	if errors.Is(err, mmapstore.ErrLocked) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create statfile: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("create statfile: %w", err)
	}
	return nil
}
