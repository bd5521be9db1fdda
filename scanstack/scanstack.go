// Package scanstack assembles the scan pipeline from the configuration,
// the same way for every command that scans (milter, spamd, serve,
// scan): the statfile followed read-only (a missing or unusable one scans
// without Bayes until it can be mapped), the watchers of the [neural]
// networks, and the scanner over them, with the profiles that choose a
// message's thresholds. Live is what the daemons' front ends call; a
// SIGHUP swaps a new scanner and profiles into it between messages
// (Stack.Swap). The allow and block lists ([lists]) are one Lists for
// the stack's life: a SIGHUP reconfigures them, and Start runs the watcher
// that reloads their files when they change.
package scanstack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sluicemail/sluice/bayes"
	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/lists"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/profile"
	"github.com/sluicemail/sluice/rules"
	"github.com/sluicemail/sluice/scan"
	"github.com/sluicemail/sluice/tokenizer"
)

// TokenizerOptions maps the configuration onto the tokenizer's options.
func TokenizerOptions(cfg config.Config) tokenizer.Options {
	t := cfg.Tokenizer
	nets, _ := t.Networks()
	return tokenizer.Options{
		Window:          t.Window,
		MaxBytes:        int64(t.MaxBytes),
		MaxParts:        t.MaxParts,
		MaxDepth:        t.MaxDepth,
		MaxWords:        t.MaxWords,
		MaxWordsPerPart: t.MaxWordsPerPart,
		MaxTime:         t.MaxTime.D(),
		TrustedNetworks: nets, // validated by config.Parse
		TrustedHosts:    t.Hosts(),
	}
}

// StoreParams are the tokenizer parameters a statfile must have been
// built with.
func StoreParams(cfg config.Config) mmapstore.Params {
	p := tokenizer.New(TokenizerOptions(cfg)).Params()
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

// Options maps the configuration onto the scanner's options, but its
// neural post-classifier (Networks).
func Options(cfg config.Config) scan.Options {
	var profiles map[string]scan.Thresholds
	for _, name := range cfg.ProfileNames() {
		if profiles == nil {
			profiles = make(map[string]scan.Thresholds)
		}
		profiles[name] = thresholds(cfg.ProfileActions(name))
	}
	return scan.Options{
		Tokenizer:        TokenizerOptions(cfg),
		Bayes:            bayesConfig(cfg),
		Actions:          thresholds(cfg.Actions),
		Profiles:         profiles,
		UsersEnabled:     cfg.Classifier.UsersEnabled,
		LanguagesEnabled: cfg.Classifier.LanguagesEnabled,
		Rules:            Rules(cfg),
		TopTokens:        15,
	}
}

// Rules builds the configured rules, nil when they are off.
// config.validate has checked the weights, and config.Rules names only
// built-in rules, so rules.New cannot fail on a loaded configuration: a
// failure is a bug.
func Rules(cfg config.Config) *rules.Set {
	if !cfg.Rules.Enabled {
		return nil
	}
	s, err := rules.New(rules.Options{
		Weights:            cfg.Rules.Weights(),
		TrustedAuthservIDs: trustedAuthservIDs(cfg),
	})
	if err != nil {
		panic(fmt.Sprintf("sluice: validated configuration refused by rules: %v", err))
	}
	return s
}

// trustedAuthservIDs are [rules] trusted_authserv_ids split.
func trustedAuthservIDs(cfg config.Config) []string {
	return strings.FieldsFunc(cfg.Rules.TrustedAuthservIDs, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}

// ListOptions maps [lists] onto the lists' options; the rules'
// trusted_authserv_ids decide which Authentication-Results the allow
// lists believe.
func ListOptions(cfg config.Config, log *slog.Logger) lists.Options {
	o := lists.Options{TrustedAuthservIDs: trustedAuthservIDs(cfg), Logger: log}
	for _, name := range cfg.ListNames() {
		l := cfg.Lists[name]
		o.Lists = append(o.Lists, lists.List{
			Name: name, Kind: cfg.ListKind(name), Symbol: cfg.ListSymbol(name), Score: l.Score,
			Entries: l.Entries, File: cfg.ListFile(name),
		})
	}
	return o
}

// Networks are the watchers of the configured network files: the
// [neural] file and, with use_settings, each profile's (nil when [neural]
// is off).
func Networks(cfg config.Config, log *slog.Logger) *scan.Networks {
	if !cfg.Neural.Enabled {
		return nil
	}
	var profiles map[string]string
	if cfg.Neural.UseSettings {
		for _, name := range cfg.ProfileNames() {
			if profiles == nil {
				profiles = make(map[string]string)
			}
			profiles[name] = cfg.NetworkPath(name)
		}
	}
	return scan.NewNetworks(cfg.NetworkPath(""), profiles, log)
}

// Stack is what every command that scans runs on.
type Stack struct {
	Scanner *scan.Scanner // as built; the daemons serve Live
	Live    *Live
	Stats   *mmapstore.Followed
	Nets    *scan.Networks
	Lists   *lists.Lists
	log     *slog.Logger
}

// New builds the stack; a daemon runs the networks' watchers (Start)
// while it serves and closes the stack when done.
func New(cfg config.Config, log *slog.Logger) *Stack {
	nets := Networks(cfg, log.With("part", "neural"))
	stats := mmapstore.Follow(cfg.StatfilePath(), StoreParams(cfg), mmapstore.FollowOptions{Logger: log})
	s := &Stack{Stats: stats, Nets: nets, Live: &Live{}, log: log.With("part", "lists")}
	l, err := lists.New(ListOptions(cfg, s.log))
	if err != nil { // config.Parse checked every entry with lists.ParseEntry
		panic(fmt.Sprintf("sluice: validated configuration refused by lists: %v", err))
	}
	s.Lists = l
	s.Scanner = s.build(cfg)
	s.Live.scanner.Store(s.Scanner)
	s.Live.profiles.Store(profile.New(cfg.Profiles))
	return s
}

// build makes a scanner over the stack's statfile and networks.
func (s *Stack) build(cfg config.Config) *scan.Scanner {
	opts := Options(cfg)
	opts.Neural = s.Nets.Neural(cfg.Neural.SpamWeight, cfg.Neural.HamWeight)
	if len(cfg.Lists) > 0 {
		opts.Lists = s.Lists
	}
	return scan.New(s.Stats, opts)
}

// Swap puts a scanner built from cfg in service (SIGHUP), unless its
// network inputs differ from the running one's ([rules] turned on or
// off): the milters' scan records and the networks would then disagree,
// so the rules stay runningRules and Swap says so.
func (s *Stack) Swap(cfg config.Config, runningRules config.Rules) (kept string) {
	next := s.build(cfg)
	if next.InputSet() != s.Live.scanner.Load().InputSet() {
		cfg.Rules = runningRules
		next = s.build(cfg)
		kept = "rules (the network's inputs would change)"
	}
	if err := s.Lists.Configure(ListOptions(cfg, s.log)); err != nil { // validated: a bug
		s.log.Error("lists not reconfigured: the running ones stay", "err", err)
	}
	if old := s.Live.scanner.Swap(next); old != nil {
		s.Live.retired.Add(old.NonFinite())
	}
	s.Live.profiles.Store(profile.New(cfg.Profiles))
	return kept
}

// Start runs the networks' and the list files' watchers until the
// returned stop (idempotent).
func (s *Stack) Start(log *slog.Logger) (stop func()) {
	stopNets := s.Nets.Start(log)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.Lists.Run(ctx, 0) })
	return sync.OnceFunc(func() {
		cancel()
		wg.Wait()
		stopNets()
	})
}

// Close unmaps the statfile.
func (s *Stack) Close() error { return s.Stats.Close() }

// Live is the scanner and the profile matcher the daemons' front ends
// call for each message; Stack.Swap replaces both.
type Live struct {
	scanner  atomic.Pointer[scan.Scanner]
	profiles atomic.Pointer[profile.Matcher]
	retired  atomic.Uint64 // NonFinite of the scanners swapped out
}

// NonFinite counts the verdicts with a non-finite stage left out, over
// every scanner in service so far (a SIGHUP does not reset it).
func (l *Live) NonFinite() uint64 { return l.retired.Load() + l.scanner.Load().NonFinite() }

// Scan scans with the scanner in service.
func (l *Live) Scan(ctx context.Context, r io.Reader, req scan.Request) (*scan.Verdict, error) {
	return l.scanner.Load().Scan(ctx, r, req)
}

// InputNames are the current scanner's network inputs (milter.InputNamer).
func (l *Live) InputNames() []string { return l.scanner.Load().InputNames() }

// Match and Named are the current profiles' (milter's and spamd's
// ProfileMatcher).
func (l *Live) Match(recipients ...string) string { return l.profiles.Load().Match(recipients...) }

// Named is the profile a Settings-ID names (spamd's ProfileMatcher).
func (l *Live) Named(id string) (string, bool) { return l.profiles.Load().Named(id) }
