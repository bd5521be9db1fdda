package main

import (
	"context"
	"encoding"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/profile"
	"github.com/sluicemail/sluice/scan"
)

// SIGHUP reloads the configuration in every daemon (systemd's
// ExecReload=kill -HUP $MAINPID) without dropping a connection: what the
// scanners judge by — [actions], [profiles], [classifier] and [rules] —
// is swapped in atomically between messages (but users_enabled and
// languages_enabled, which the learner shares); a change anywhere else
// (listen addresses, limits, the learner, the tokenizer, [neural]) is
// logged as needing a restart and does not take effect. A file that does
// not load is logged and the running configuration stays.

// reloadable are the sections a SIGHUP applies.
var reloadable = map[string]bool{"actions": true, "profiles": true, "classifier": true, "rules": true}

// live is the scanner and the profile matcher the daemons' front ends
// call for each message; SIGHUP swaps both.
type live struct {
	scanner  atomic.Pointer[scan.Scanner]
	profiles atomic.Pointer[profile.Matcher]
}

func (l *live) Scan(ctx context.Context, r io.Reader, req scan.Request) (*scan.Verdict, error) {
	return l.scanner.Load().Scan(ctx, r, req)
}

// InputNames are the current scanner's network inputs (milter.InputNamer).
func (l *live) InputNames() []string { return l.scanner.Load().InputNames() }

// Match and Named are the current profiles' (milter's and spamd's
// ProfileMatcher).
func (l *live) Match(recipients ...string) string { return l.profiles.Load().Match(recipients...) }

func (l *live) Named(id string) (string, bool) { return l.profiles.Load().Named(id) }

// reloader re-reads the configuration on SIGHUP and applies what it can
// to a scan stack (nil for the learner alone: it applies nothing).
type reloader struct {
	path    string // config.Path at start
	base    config.Config
	running config.Config // base with the command line's overrides, as in effect
	stack   *scanStack
	log     *slog.Logger
}

// newReloader remembers the configuration as the file gave it (base, to
// tell what the file changed) and as it runs (with the command line's
// overrides).
func newReloader(c *common, running config.Config, stack *scanStack, log *slog.Logger) *reloader {
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
	applied, restart := changes(r.base, next)
	if r.stack != nil && len(applied) > 0 {
		in := r.running
		for _, s := range []string{"actions", "profiles", "classifier", "rules"} {
			copySection(&in, next, s)
		}
		// Which statistics a message is learned into is the learner's
		// too: it changes with a restart of both.
		in.Classifier.UsersEnabled = r.running.Classifier.UsersEnabled
		in.Classifier.LanguagesEnabled = r.running.Classifier.LanguagesEnabled
		if kept := r.stack.swap(in, r.running.Rules); kept != "" {
			restart = append(restart, kept)
			applied = drop(applied, "rules.")
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

// changes lists the keys whose value differs between old and next,
// "section.key: old -> new", split into what a reload applies and what
// needs a restart.
func changes(old, next config.Config) (applied, restart []string) {
	ov, nv := reflect.ValueOf(old), reflect.ValueOf(next)
	t := ov.Type()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ",")
		of, nf := ov.Field(i), nv.Field(i)
		if reflect.DeepEqual(of.Interface(), nf.Interface()) {
			continue
		}
		var keys []string
		if of.Kind() == reflect.Struct {
			for j := range of.NumField() {
				if !reflect.DeepEqual(of.Field(j).Interface(), nf.Field(j).Interface()) {
					k, _, _ := strings.Cut(of.Type().Field(j).Tag.Get("toml"), ",")
					keys = append(keys, fmt.Sprintf("%s.%s: %s -> %s", name, k, show(of.Field(j)), show(nf.Field(j))))
				}
			}
		} else {
			keys = append(keys, name)
		}
		for _, k := range keys {
			if reloadable[name] && !strings.HasPrefix(k, "classifier.users_enabled") && !strings.HasPrefix(k, "classifier.languages_enabled") {
				applied = append(applied, k)
			} else {
				restart = append(restart, k)
			}
		}
	}
	return applied, restart
}

// show writes a value as the file does ("30s", "64MiB").
func show(v reflect.Value) string {
	if m, ok := v.Interface().(encoding.TextMarshaler); ok {
		if b, err := m.MarshalText(); err == nil {
			return string(b)
		}
	}
	return fmt.Sprint(v.Interface())
}

// copySection sets the section named by its toml key from src.
func copySection(dst *config.Config, src config.Config, section string) {
	dv, sv := reflect.ValueOf(dst).Elem(), reflect.ValueOf(src)
	for i := range dv.NumField() {
		if name, _, _ := strings.Cut(dv.Type().Field(i).Tag.Get("toml"), ","); name == section {
			dv.Field(i).Set(sv.Field(i))
		}
	}
}

func drop(keys []string, prefix string) []string {
	var out []string
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out
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
