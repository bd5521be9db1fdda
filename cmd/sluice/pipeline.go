package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/sluicemail/sluice/bayes"
	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mbox"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/nn"
	"github.com/sluicemail/sluice/rules"
	"github.com/sluicemail/sluice/scan"
	"github.com/sluicemail/sluice/tokenizer"
)

// This file builds the pipeline's parts from the configuration, so that
// every command builds them the same way.

func statfilePath(cfg config.Config) (string, error) { return dataPath(cfg, cfg.Statfile.Path) }

// storeParams are the tokenizer parameters a statfile must have been built with.
func storeParams(opts tokenizer.Options) mmapstore.Params {
	p := tokenizer.New(opts).Params()
	return mmapstore.Params{Hash: p.Hash, Seed: p.Seed, Window: p.Window, Version: p.Version}
}

func bayesConfig(cfg config.Config) bayes.Config {
	b := bayes.DefaultConfig()
	c := cfg.Classifier
	b.MinTokens = c.MinTokens
	b.MinLearns = c.MinLearns
	b.MinTokenHits = c.MinTokenHits
	b.MinStrength = c.MinProbStrength
	b.RobinsonS, b.RobinsonX = c.RobinsonS, c.RobinsonX
	b.MaxTokens = c.MaxTokens
	b.SpamSymbolScore = c.SpamSymbolScore
	b.HamSymbolScore = c.HamSymbolScore
	return b
}

func thresholds(a config.Actions) scan.Thresholds {
	return scan.Thresholds{AddHeader: a.AddHeader, RewriteSubject: a.RewriteSubject, Greylist: a.Greylist, Reject: a.Reject}
}

func scanOptions(cfg config.Config) scan.Options {
	var profiles map[string]scan.Thresholds
	for _, name := range cfg.ProfileNames() {
		if profiles == nil {
			profiles = make(map[string]scan.Thresholds)
		}
		profiles[name] = thresholds(cfg.ProfileActions(name))
	}
	return scan.Options{
		Tokenizer:        tokenizerOptions(cfg),
		Bayes:            bayesConfig(cfg),
		Actions:          thresholds(cfg.Actions),
		Profiles:         profiles,
		UsersEnabled:     cfg.Classifier.UsersEnabled,
		LanguagesEnabled: cfg.Classifier.LanguagesEnabled,
		Rules:            rulesSet(cfg),
		TopTokens:        15,
	}
}

// rulesSet builds the configured rules, nil when they are off.
// config.validate has checked the weights, and config.Rules names only
// built-in rules, so rules.New cannot fail on a loaded configuration: a
// failure is a bug.
func rulesSet(cfg config.Config) *rules.Set {
	if !cfg.Rules.Enabled {
		return nil
	}
	s, err := rules.New(rules.Options{
		Weights:            cfg.Rules.Weights(),
		TrustedAuthservIDs: strings.FieldsFunc(cfg.Rules.TrustedAuthservIDs, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }),
	})
	if err != nil {
		panic(fmt.Sprintf("sluice: validated configuration refused by rules: %v", err))
	}
	return s
}

func learnOptions(cfg config.Config) learn.Options {
	return learn.Options{
		Tokenizer:        tokenizerOptions(cfg),
		UsersEnabled:     cfg.Classifier.UsersEnabled,
		LanguagesEnabled: cfg.Classifier.LanguagesEnabled,
	}
}

func writerOptions(cfg config.Config, log *slog.Logger) *mmapstore.Options {
	return &mmapstore.Options{
		Params:       storeParams(tokenizerOptions(cfg)),
		InitialSlots: cfg.Statfile.InitialSlots,
		MaxBytes:     int64(cfg.Statfile.MaxSize),
		MaxLoad:      cfg.Statfile.MaxLoad,
		Logger:       log,
	}
}

// emptyStats stands in for a statfile that does not exist yet: every token
// is unknown and nothing was learned, so Bayes stays silent and says why.
type emptyStats struct{}

func (emptyStats) Lookup(_ mmapstore.Namespace, hashes []uint64, out []mmapstore.Counts) (mmapstore.Totals, error) {
	clear(out[:len(hashes)])
	return mmapstore.Totals{}, nil
}

// openStats maps the statfile read-only; a missing file gives emptyStats.
func openStats(cfg config.Config) (scan.Stats, func() error, error) {
	path, err := statfilePath(cfg)
	if err != nil {
		return nil, nil, err
	}
	r, err := mmapstore.OpenReader(path, storeParams(tokenizerOptions(cfg)))
	if errors.Is(err, fs.ErrNotExist) {
		return emptyStats{}, func() error { return nil }, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return r, r.Close, nil
}

// message is one input message: where it came from and its bytes.
type message struct {
	name string
	data []byte
}

// walkMessages calls fn for each message named by paths: a file is one
// message, or every message of an mbox; a directory is every file below
// it, in lexical order. No paths means one message on stdin.
func walkMessages(std *stdio, paths []string, fn func(message) error) error {
	if len(paths) == 0 {
		data, err := readAllLimited(std.in)
		if err != nil {
			return err
		}
		return splitFile("-", data, fn)
	}
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !d.Type().IsRegular() {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return splitFile(path, data, fn)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// splitFile yields the messages of one file: itself, or those of an mbox.
func splitFile(name string, data []byte, fn func(message) error) error {
	if !mbox.IsMbox(data) {
		return fn(message{name, data})
	}
	if m, ok := mbox.Single(data); ok {
		return fn(message{name, m}) // one message after its From_ line: no copy
	}
	r := mbox.NewReader(bytes.NewReader(data), 0)
	for i := 1; ; i++ {
		m, err := r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := fn(message{fmt.Sprintf("%s#%d", name, i), m}); err != nil {
			return err
		}
	}
}

// neuralPath is the network file: [neural] file, relative paths below the
// data directory.
func neuralPath(cfg config.Config) (string, error) { return dataPath(cfg, cfg.Neural.File) }

// neuralWatcher builds the watcher of the configured network file and
// loads the file (a missing one means no network yet; a bad one is logged
// and refused). It is nil when [neural] is off.
func neuralWatcher(cfg config.Config, log *slog.Logger) (*nn.Watcher, error) {
	if !cfg.Neural.Enabled {
		return nil, nil
	}
	path, err := neuralPath(cfg)
	if err != nil {
		return nil, err
	}
	return nn.NewWatcher(path, log), nil
}

// withNeural returns opts with the network of w (when not nil) as the
// post-classifier; the scanner takes w's current network per message.
func withNeural(opts scan.Options, cfg config.Config, w *nn.Watcher) scan.Options {
	if w != nil {
		opts.Neural = scan.Neural{Source: w, SpamWeight: cfg.Neural.SpamWeight, HamWeight: cfg.Neural.HamWeight}
	}
	return opts
}

// startWatcher runs w's watch in a goroutine that the returned stop ends
// and waits for (w nil: nothing to run). A daemon calls stop on shutdown,
// after its listeners have stopped; stop may be called more than once.
func startWatcher(w *nn.Watcher, log *slog.Logger) (stop func()) {
	if w == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := w.Run(ctx); err != nil {
			log.Error("network watcher", "err", err)
		}
	}()
	return sync.OnceFunc(func() {
		cancel()
		<-done
	})
}

// networks are the watchers of the network files a scanner uses: the
// [neural] file and, with use_settings, each profile's. Nil when [neural]
// is off.
type networks struct {
	def      *nn.Watcher
	profiles map[string]*nn.Watcher
}

// profilePath is the network file of a settings profile ("": the default
// one), below the data directory when relative.
func profilePath(cfg config.Config, profile string) (string, error) {
	return dataPath(cfg, cfg.Neural.ProfileFile(profile))
}

// neuralWatchers builds and loads the watchers of the configured network
// files (nil when [neural] is off).
func neuralWatchers(cfg config.Config, log *slog.Logger) (*networks, error) {
	def, err := neuralWatcher(cfg, log)
	if def == nil || err != nil {
		return nil, err
	}
	n := &networks{def: def}
	if !cfg.Neural.UseSettings {
		return n, nil
	}
	for _, name := range cfg.ProfileNames() {
		path, err := profilePath(cfg, name)
		if err != nil {
			return nil, err
		}
		if n.profiles == nil {
			n.profiles = make(map[string]*nn.Watcher)
		}
		n.profiles[name] = nn.NewWatcher(path, log.With("profile", name))
	}
	return n, nil
}

// options returns opts with the networks as the post-classifier.
func (n *networks) options(opts scan.Options, cfg config.Config) scan.Options {
	if n == nil {
		return opts
	}
	opts = withNeural(opts, cfg, n.def)
	for name, w := range n.profiles {
		if opts.Neural.Profiles == nil {
			opts.Neural.Profiles = make(map[string]scan.NetworkSource)
		}
		opts.Neural.Profiles[name] = w
	}
	return opts
}

// start runs every watcher (startWatcher); stop ends them all and may be
// called more than once.
func (n *networks) start(log *slog.Logger) (stop func()) {
	if n == nil {
		return func() {}
	}
	stops := []func(){startWatcher(n.def, log)}
	for _, w := range n.profiles {
		stops = append(stops, startWatcher(w, log))
	}
	return func() {
		for _, stop := range stops {
			stop()
		}
	}
}

// scannerFor builds the scanner of a command that scans: the configured
// pipeline over stats, with the networks of [neural] when enabled. The
// caller runs the returned watchers (networks.start) if it runs long;
// they are nil when [neural] is off.
func scannerFor(cfg config.Config, stats scan.Stats, log *slog.Logger) (*scan.Scanner, *networks, error) {
	nets, err := neuralWatchers(cfg, log.With("part", "neural"))
	if err != nil {
		return nil, nil, err
	}
	return scan.New(stats, nets.options(scanOptions(cfg), cfg)), nets, nil
}
