package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicemail/sluice/bayes"
	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mbox"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/nn"
	"github.com/sluicemail/sluice/profile"
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
		Tokenizer:         tokenizerOptions(cfg),
		UsersEnabled:      cfg.Classifier.UsersEnabled,
		LanguagesEnabled:  cfg.Classifier.LanguagesEnabled,
		MaxUserNamespaces: cfg.Learner.MaxUsers,
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

// message is one input message: where it came from and its bytes.
type message struct {
	name string
	data []byte
}

// walkMessages calls fn for each message named by paths (mbox.Walk); no
// paths means one message on stdin.
func walkMessages(std *stdio, paths []string, fn func(message) error) error {
	each := func(name string, data []byte) error { return fn(message{name, data}) }
	if len(paths) == 0 {
		data, err := readAllLimited(std.in)
		if err != nil {
			return err
		}
		return mbox.Split("-", data, each)
	}
	return mbox.Walk(paths, each)
}

// neuralPath is the network file: [neural] file, relative paths below the
// data directory.
func neuralPath(cfg config.Config) (string, error) { return dataPath(cfg, cfg.Neural.File) }

// profilePath is the network file of a settings profile ("": the default
// one), below the data directory when relative.
func profilePath(cfg config.Config, profile string) (string, error) {
	return dataPath(cfg, cfg.Neural.ProfileFile(profile))
}

// neuralNetworks are the watchers of the configured network files: the
// [neural] file and, with use_settings, each profile's (nil when [neural]
// is off).
func neuralNetworks(cfg config.Config, log *slog.Logger) (*scan.Networks, error) {
	if !cfg.Neural.Enabled {
		return nil, nil
	}
	def, err := neuralPath(cfg)
	if err != nil {
		return nil, err
	}
	var profiles map[string]string
	if cfg.Neural.UseSettings {
		for _, name := range cfg.ProfileNames() {
			path, err := profilePath(cfg, name)
			if err != nil {
				return nil, err
			}
			if profiles == nil {
				profiles = make(map[string]string)
			}
			profiles[name] = path
		}
	}
	return scan.NewNetworks(def, profiles, log), nil
}

// networkInService is the gauge sluice_neural_epoch_in_service: the
// epoch of the default network the scanners use now (0: none, or [neural]
// off, w nil). The learner's file may be newer until the watcher has
// swapped it in; bench/replay.sh waits for the two to agree.
func networkInService(w *nn.Watcher) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sluice_neural_epoch_in_service",
		Help: "Epoch of the neural network the scanners use (0: none yet, or [neural] off).",
	}, func() float64 {
		if w == nil {
			return 0
		}
		if n := w.Network(); n != nil {
			return float64(n.Epoch)
		}
		return 0
	})
}

// scanStack is what every command that scans runs on, built the same way
// for milter, spamd, serve and scan: the statfile followed read-only (a
// missing or unusable one scans without Bayes until it can be mapped),
// the networks of [neural], and the scanner over them.
type scanStack struct {
	scanner *scan.Scanner // as built; the daemons serve live
	live    *live
	stats   *mmapstore.Followed
	nets    *scan.Networks
}

// newScanStack builds the stack; a daemon runs the networks' watchers
// (start) while it serves and closes the stack when done.
func newScanStack(cfg config.Config, log *slog.Logger) (*scanStack, error) {
	path, err := statfilePath(cfg)
	if err != nil {
		return nil, err
	}
	nets, err := neuralNetworks(cfg, log.With("part", "neural"))
	if err != nil {
		return nil, err
	}
	stats := mmapstore.Follow(path, storeParams(tokenizerOptions(cfg)), mmapstore.FollowOptions{Logger: log})
	s := &scanStack{stats: stats, nets: nets, live: &live{}}
	s.scanner = s.build(cfg)
	s.live.scanner.Store(s.scanner)
	s.live.profiles.Store(profile.New(cfg.Profiles))
	return s, nil
}

// build makes a scanner over the stack's statfile and networks.
func (s *scanStack) build(cfg config.Config) *scan.Scanner {
	opts := scanOptions(cfg)
	opts.Neural = s.nets.Neural(cfg.Neural.SpamWeight, cfg.Neural.HamWeight)
	return scan.New(s.stats, opts)
}

// swap puts a scanner built from cfg in service (SIGHUP), unless its
// network inputs differ from the running one's ([rules] turned on or
// off): the milters' scan records and the networks would then disagree,
// so the rules stay as they are and swap says so.
func (s *scanStack) swap(cfg config.Config, runningRules config.Rules) (kept string) {
	next := s.build(cfg)
	if next.InputSet() != s.live.scanner.Load().InputSet() {
		cfg.Rules = runningRules
		next = s.build(cfg)
		kept = "rules (the network's inputs would change)"
	}
	s.live.scanner.Store(next)
	s.live.profiles.Store(profile.New(cfg.Profiles))
	return kept
}

// start runs the networks' watchers until the returned stop (idempotent).
func (s *scanStack) start(log *slog.Logger) (stop func()) { return s.nets.Start(log) }

// Close unmaps the statfile.
func (s *scanStack) Close() error { return s.stats.Close() }
