package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/scanstack"
)

// SIGHUP reloads the configuration in every daemon (systemd's
// ExecReload=kill -HUP $MAINPID) without dropping a connection: what the
// scanners judge by — [actions], [profiles], [classifier] and [rules] —
// is swapped in atomically between messages (but users_enabled and
// languages_enabled, which the learner shares); a change anywhere else
// (listen addresses, limits, the learner, the tokenizer, [neural]) is
// logged as needing a restart and does not take effect. A file that does
// not load is logged and the running configuration stays.

// reloader re-reads the configuration on SIGHUP and applies what it can
// to a scan stack (nil for the learner alone: it applies nothing).
type reloader struct {
	path    string // config.Path at start
	base    config.Config
	running config.Config // base with the command line's overrides, as in effect
	stack   *scanstack.Stack
	log     *slog.Logger
}

// newReloader remembers the configuration as the file gave it (base, to
// tell what the file changed) and as it runs (with the command line's
// overrides).
func newReloader(c *common, running config.Config, stack *scanstack.Stack, log *slog.Logger) *reloader {
	path := config.Path(c.configPath)
	base, err := config.Load(path)
	if err != nil {
		base = running
	}
	return &reloader{path: path, base: base, running: running, stack: stack, log: log}
}

// reload loads the file again and applies the reloadable sections.
func (r *reloader) reload() {
	next, err := config.Load(r.path)
	if err != nil {
		r.log.Error("configuration not reloaded: the running one stays", "config", r.path, "err", err)
		return
	}
	applied, restart := config.Changes(r.base, next)
	if r.stack != nil && len(applied) > 0 {
		in := r.running.Reloaded(next)
		if kept := r.stack.Swap(in, r.running.Rules); kept != "" {
			restart = append(restart, kept)
			applied = slices.DeleteFunc(applied, func(k string) bool { return strings.HasPrefix(k, "rules.") })
			in.Rules = r.running.Rules
		}
		r.running = in
	} else {
		restart = append(restart, applied...)
		applied = nil
	}
	r.base = next
	r.log.Info("configuration reloaded", "config", r.path, "applied", applied, "needs_restart", restart)
}

// onHUP calls reload for each SIGHUP until stop (idempotent) or ctx ends;
// from the call on, SIGHUP no longer ends the process.
func onHUP(ctx context.Context, reload func()) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-hup:
				reload()
			case <-done:
				return
			case <-ctx.Done():
				return
			}
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			signal.Stop(hup)
			close(done)
			wg.Wait()
		})
	}
}
