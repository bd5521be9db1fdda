package scanstack

import (
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/sluicemail/sluice/config"
)

// SIGHUP reloads the configuration in every daemon (systemd's
// ExecReload=kill -HUP $MAINPID) without dropping a connection: what the
// scanners judge by — [actions], [profiles], [classifier] and [rules] —
// is swapped in atomically between messages (but users_enabled and
// languages_enabled, which the learner shares); a change anywhere else
// (listen addresses, limits, the learner, the tokenizer, [neural]) is
// logged as needing a restart and does not take effect. A file that does
// not load is logged and the running configuration stays.

// Reloader re-reads the configuration (on SIGHUP) and applies what it
// can to a scan stack (nil for the learner alone: it applies nothing).
type Reloader struct {
	path    string // config.Path at start
	base    config.Config
	mu      sync.Mutex    // guards running, which Running reads from other goroutines
	running config.Config // base with the command line's overrides, as in effect
	stack   *Stack
	log     *slog.Logger
}

// NewReloader remembers the configuration at path (config.Path) as the
// file gave it (base, to tell what the file changed) and as it runs
// (running: with the command line's overrides).
func NewReloader(path string, running config.Config, stack *Stack, log *slog.Logger) *Reloader {
	base, err := config.Load(path)
	if err != nil {
		base = running
	}
	return &Reloader{path: path, base: base, running: running, stack: stack, log: log}
}

// Running is the configuration in effect: the one at start with what the
// reloads since applied (the console's config page).
func (r *Reloader) Running() config.Config {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running
}

// Reload loads the file again and applies the reloadable sections.
func (r *Reloader) Reload() {
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
		r.mu.Lock()
		r.running = in
		r.mu.Unlock()
	} else {
		restart = append(restart, applied...)
		applied = nil
	}
	r.base = next
	r.log.Info("configuration reloaded", "config", r.path, "applied", applied, "needs_restart", restart)
}
