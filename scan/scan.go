// Package scan is the scan pipeline: one message in, one verdict out. It
// tokenizes the message, looks the tokens up in the statfile, runs the Bayes
// classifier, turns its result into symbols and sums their scores into a
// total that decides the action.
//
// The same pipeline serves `sluice scan`, `sluice eval`, the milter and the
// spamd listener, so that every front end gives the same verdict for the same
// message. A Scanner is safe for concurrent use; each Scan borrows a
// tokenizer and scratch buffers from a pool and allocates little.
//
// Rules: with Options.Rules set, the scanner runs the rules over the
// top-level header as the tokenizer parsed it (tokenizer.Result.Header: the
// header is read once per scan) and the tokenizer's Features; their symbols
// follow BAYES_* in Verdict.Symbols. ScanTokens runs no rules.
//
// Score and action: every stage only appends symbols; one function
// (decide) sums them into Verdict.Score and maps the score to the action
// by the thresholds, once per message, after the last stage.
//
// Numbers are checked: a stage whose result is not a finite number (a
// Bayes probability or evidence, the network's output, a symbol's score)
// is skipped as if it had been silent, named in Verdict.Skipped and
// counted (Scanner.NonFinite), so that a score is always finite and a
// front end never renders NaN.
//
// Lists: with Options.Lists, the allow and block lists match the
// request's Envelope and the header after the rules (scan/lists.go).
//
// Neural: with Options.Neural.Source set, each Scan takes the source's
// current network once (an *nn.Watcher swaps networks atomically, so a new
// one takes effect between messages and a scan finishes with the one it
// took), computes the network's named inputs and adds NEURAL_SPAM or
// NEURAL_HAM. No network in service: no symbol.
//
// Profiles: a Request may name a settings profile; its thresholds (from
// Options.Profiles) decide the action and, with Neural.Profiles, its own
// network scores the message (the default network until it has one).
//
// Namespaces: with per-user or per-language statistics enabled, the
// classifier uses the most specific namespace whose learn totals reach
// min_learns in both classes — the recipient's, then the language's — and
// falls back to the shared statistics otherwise; the verdict names the
// namespace it used.
package scan

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/sluicemail/sluice/bayes"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/nn"
	"github.com/sluicemail/sluice/rules"
	"github.com/sluicemail/sluice/tokenizer"
)

// Stats is the read side of a statfile: *mmapstore.Reader and
// *mmapstore.Writer both provide it.
type Stats interface {
	Lookup(ns mmapstore.Namespace, hashes []uint64, out []mmapstore.Counts) (mmapstore.Totals, error)
}

// Options configure a Scanner.
type Options struct {
	Tokenizer tokenizer.Options
	Bayes     bayes.Config
	Actions   Thresholds
	// Profiles are the thresholds of settings profiles by name; a request
	// for a profile not named here gets Actions.
	Profiles map[string]Thresholds
	// UsersEnabled: classify with the user's own statistics when they have
	// enough learns.
	UsersEnabled bool
	// LanguagesEnabled: otherwise, classify with the statistics of the
	// message's language when they have enough learns.
	LanguagesEnabled bool
	// Rules are the built-in rules to run; nil runs none.
	Rules *rules.Set
	// Neural is the post-classifier; a nil Source runs none.
	Neural Neural
	// Lists are the allow and block lists; nil runs none.
	Lists ListChecker
	// TopTokens is how many of the weightiest tokens an explained verdict
	// lists.
	TopTokens int
}

// Request says whose message is scanned and how much to report.
type Request struct {
	User string // recipient whose statistics apply (with UsersEnabled)
	// Profile is the message's settings profile ("" none): its thresholds
	// decide the action and, with Neural.Profiles, its network scores.
	Profile string
	Explain bool // keep the words behind the weightiest tokens
	// KeepTokens fills Verdict.Tokens (a copy of every token hash), for a
	// caller that sends them on, e.g. to the learner for autolearn.
	KeepTokens bool
	// KeepInputs fills Verdict.Inputs (the network's input vector, in
	// Scanner.InputNames order) even without a network, e.g. to train one.
	KeepInputs bool
	// Envelope is the SMTP session's sender, recipients and client, for
	// the allow and block lists.
	Envelope Envelope
	// LeaveOut scores a message the statistics already hold, learned as
	// this class (mmapstore.Spam or mmapstore.Ham; 0: none), as if it had
	// never been learned: every count of its tokens in that class and the
	// class's learn total are taken one lower before Bayes combines them.
	// A learn adds one to the class count of each of the message's
	// distinct token hashes and to the total, so this is exactly the
	// verdict of statistics built from every other message (the
	// leave-one-out verdict), at the cost of one lookup. It holds for
	// every namespace the scan consults that the learn wrote (the shared
	// one; the user's when it was learned for Request.User). A count
	// already 0 stays 0 (the token was expired since).
	LeaveOut mmapstore.Class
}

// Symbol is one named, weighted result.
type Symbol struct {
	Name   string  `json:"name"`
	Score  float64 `json:"score"`
	Detail string  `json:"detail,omitempty"`
}

// TokenWeight is one of the tokens that weighed most in the Bayes verdict.
type TokenWeight struct {
	Text     string  `json:"text"`
	Prob     float64 `json:"prob"`     // smoothed spam probability of the token
	Evidence float64 `json:"evidence"` // > 0 spammy, < 0 hammy
	Spam     uint32  `json:"spam"`
	Ham      uint32  `json:"ham"`
}

// Verdict is the outcome of scanning one message.
type Verdict struct {
	Score    float64 `json:"score"`
	Required float64 `json:"required"` // the add-header threshold
	// Thresholds decided Action: the profile's, else Options.Actions.
	Thresholds Thresholds `json:"-"`
	Action     Action     `json:"action"`
	Symbols    []Symbol   `json:"symbols"`
	Prob       float64    `json:"bayes_prob"`     // 0.5 when Bayes was silent
	Evidence   float64    `json:"bayes_evidence"` // total weighted token log-odds
	// LogOdds is the Bayes verdict's ln(P/(1-P)), exact where Prob rounds
	// to 0 or 1 (bayes.Result.LogOdds); 0 when Bayes was silent.
	LogOdds   float64       `json:"bayes_log_odds"`
	Silent    string        `json:"bayes_silent,omitempty"`
	Namespace string        `json:"namespace"`
	Profile   string        `json:"profile,omitempty"` // the settings profile the message was judged by
	Top       []TokenWeight `json:"top_tokens,omitempty"`
	Truncated string        `json:"truncated,omitempty"`
	Digest    [32]byte      `json:"-"`
	// Tokens are the message's token hashes, for a learn that follows;
	// only with Request.KeepTokens.
	Tokens []uint64 `json:"-"`
	// Inputs are the neural network's inputs (Scanner.InputNames order),
	// with a network in service or Request.KeepInputs; InputSet is then
	// the digest of those names (nn.InputDigest, Scanner.InputSet). The
	// pair is the form the inputs keep on their way to the learner
	// (feed.Inputs).
	Inputs   []float32 `json:"-"`
	InputSet [32]byte  `json:"-"`
	// Neural is the network's output in [-1, 1] (> 0 spam), 0 without one.
	Neural float64 `json:"neural,omitempty"`
	// Network describes the network in service for this message and what
	// it did; only with Request.Explain and a network in service.
	Network *NetworkUse `json:"network,omitempty"`
	// Features are the message's structure facts, for later stages.
	Features tokenizer.Features `json:"-"`
	// Skipped names the stages whose result was not a finite number and
	// that were left out of the score ("" none).
	Skipped string `json:"skipped,omitempty"`
	// Listed names the allow and block lists' symbols that matched, with
	// what matched ("ALLOW_SENDER: MAIL FROM a@b.example (b.example)");
	// the symbols are in Symbols too. The admin's word decided, not the
	// message's content: such a verdict is no sample for autolearn or the
	// network's training.
	Listed []string `json:"listed,omitempty"`
}

// Scanner runs the pipeline against one statfile.
type Scanner struct {
	stats      Stats
	opts       Options
	inputNames []string
	inputSet   [32]byte  // nn.InputDigest(inputNames)
	pool       sync.Pool // *worker
	nonFinite  atomic.Uint64
}

// worker is the per-scan scratch: a tokenizer and lookup buffers.
type worker struct {
	tok     *tokenizer.Tokenizer
	explain *tokenizer.Tokenizer
	hashes  []uint64
	counts  []mmapstore.Counts
	stats   []bayes.TokenStat
	scratch bayes.Scratch
	res     tokenizer.Result // reused by every scan of this worker
	hits    []rules.Hit
	nnx     []float32
}

// New returns a Scanner reading stats.
func New(stats Stats, opts Options) *Scanner {
	s := &Scanner{stats: stats, opts: opts, inputNames: inputNames(opts)}
	s.inputSet = nn.InputDigest(s.inputNames)
	s.pool.New = func() any {
		explain := opts.Tokenizer
		explain.Explain = true
		return &worker{tok: tokenizer.New(opts.Tokenizer), explain: tokenizer.New(explain)}
	}
	return s
}

// Scan tokenizes and classifies the message read from r. It returns an error
// only when the input is not a message or the statfile cannot be read.
func (s *Scanner) Scan(ctx context.Context, r io.Reader, req Request) (*Verdict, error) {
	w := s.pool.Get().(*worker)
	defer s.pool.Put(w)
	tok := w.tok
	if req.Explain {
		tok = w.explain
	}
	if err := tok.TokenizeInto(r, &w.res); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	v, err := s.classify(w, &w.res, req)
	if err != nil {
		return nil, err
	}
	if s.opts.Rules != nil {
		s.runRules(w, &w.res, v)
	}
	if s.opts.Lists != nil {
		s.runLists(w, req, v)
	}
	// The network in service is taken once per message: a swap by the
	// watcher takes effect between messages, and this scan finishes with
	// the network it started with.
	net := s.opts.Neural.network(req.Profile)
	if req.KeepInputs || net != nil {
		v.Inputs = s.inputs(make([]float32, 0, len(s.inputNames)), v, w.res.Features)
		v.InputSet = s.inputSet
	}
	if net != nil {
		s.runNeural(w, net, v, req.Explain)
	}
	s.decide(v)
	return v, nil
}

// runRules adds the rules' symbols to v.
func (s *Scanner) runRules(w *worker, res *tokenizer.Result, v *Verdict) {
	m := rules.Message{Header: res.Header, Features: res.Features, Problems: res.Problems}
	w.hits = s.opts.Rules.Check(&m, w.hits[:0])
	for _, h := range w.hits {
		v.Symbols = append(v.Symbols, Symbol{Name: h.Name, Score: h.Score, Detail: h.Detail})
	}
}

// ScanTokens classifies an already tokenized message (Bayes only: no
// rules, no network).
func (s *Scanner) ScanTokens(res *tokenizer.Result, req Request) (*Verdict, error) {
	w := s.pool.Get().(*worker)
	defer s.pool.Put(w)
	v, err := s.classify(w, res, req)
	if err != nil {
		return nil, err
	}
	s.decide(v)
	return v, nil
}

// decide is the one place where a verdict's score and action are set: the
// sum of its symbols' scores, and the strongest action whose threshold the
// sum reaches. A symbol whose score is not finite is dropped and counted.
func (s *Scanner) decide(v *Verdict) {
	v.Score = 0
	kept := v.Symbols[:0]
	for _, sym := range v.Symbols {
		if !finite(sym.Score) {
			s.skip(v, sym.Name)
			continue
		}
		kept = append(kept, sym)
		v.Score += sym.Score
	}
	v.Symbols = kept
	v.Action = v.Thresholds.Decide(v.Score)
}

// skip records that a stage's result was not a finite number and was left
// out.
func (s *Scanner) skip(v *Verdict, stage string) {
	s.nonFinite.Add(1)
	if v.Skipped != "" {
		v.Skipped += ","
	}
	v.Skipped += stage
}

// NonFinite is how many stage results (Bayes, network output, symbol
// scores) were not finite numbers and were left out of verdicts since the
// scanner was made.
func (s *Scanner) NonFinite() uint64 { return s.nonFinite.Load() }

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func (s *Scanner) classify(w *worker, res *tokenizer.Result, req Request) (*Verdict, error) {
	n := len(res.Tokens)
	w.hashes = slices.Grow(w.hashes[:0], n)[:n]
	w.counts = slices.Grow(w.counts[:0], n)[:n]
	w.stats = slices.Grow(w.stats[:0], n)[:n]
	for i, t := range res.Tokens {
		w.hashes[i] = t.Hash
	}
	th := s.thresholds(req.Profile)
	v := &Verdict{
		Required:   th.AddHeader,
		Thresholds: th,
		Profile:    req.Profile,
		Digest:     res.Digest,
		Features:   res.Features,
	}
	if req.KeepTokens {
		v.Tokens = slices.Clone(w.hashes)
	}
	if res.Truncated {
		v.Truncated = res.TruncatedReason
	}
	totals, ns, err := s.lookup(w, req.User, res.Language, req.LeaveOut)
	if err != nil {
		return nil, err
	}
	v.Namespace = ns
	for i, t := range res.Tokens {
		c := w.counts[i]
		w.stats[i] = bayes.TokenStat{Spam: c.Spam, Ham: c.Ham, Dist: t.Dist, Meta: t.Kind == tokenizer.Meta}
	}
	cfg := s.opts.Bayes
	if req.Explain && cfg.TopTokens < s.opts.TopTokens {
		cfg.TopTokens = s.opts.TopTokens
	}
	br := bayes.ClassifyWith(cfg, bayes.Totals{Spam: totals.Spam, Ham: totals.Ham}, w.stats, &w.scratch)
	if !finite(br.Prob) || !finite(br.Evidence) || math.IsNaN(br.LogOdds) {
		s.skip(v, "bayes")
		br = bayes.Result{Prob: 0.5, Silent: true, Reason: "not a finite result"}
	}
	// ±Inf log-odds (every token at its clamp) would not survive JSON.
	v.Prob, v.Evidence, v.LogOdds = br.Prob, br.Evidence, max(-math.MaxFloat64, min(br.LogOdds, math.MaxFloat64))
	if br.Silent {
		v.Silent = br.Reason
	}
	if name, score, ok := bayes.Symbol(cfg, br); ok {
		v.Symbols = append(v.Symbols, Symbol{Name: name, Score: score, Detail: fmt.Sprintf("%.2f%%", br.Prob*100)})
	}
	if req.Explain {
		for _, c := range br.Top {
			tw := TokenWeight{Prob: c.Prob, Evidence: c.Evidence, Spam: w.counts[c.Index].Spam, Ham: w.counts[c.Index].Ham}
			if c.Index < len(res.Text) {
				tw.Text = res.Text[c.Index]
			}
			v.Top = append(v.Top, tw)
		}
	}
	return v, nil
}

// thresholds are the action thresholds of a settings profile.
func (s *Scanner) thresholds(profile string) Thresholds {
	if t, ok := s.opts.Profiles[profile]; ok && profile != "" {
		return t
	}
	return s.opts.Actions
}

// lookup fills w.counts from the most specific namespace that has enough
// learns, and returns its totals and name ("" for the shared statistics),
// with one learn of class leave taken out (Request.LeaveOut).
func (s *Scanner) lookup(w *worker, user, lang string, leave mmapstore.Class) (mmapstore.Totals, string, error) {
	var specific [2]string
	if s.opts.UsersEnabled {
		specific[0] = mmapstore.UserNamespace(user)
	}
	if s.opts.LanguagesEnabled {
		specific[1] = mmapstore.LanguageNamespace(lang)
	}
	min := uint64(max(s.opts.Bayes.MinLearns, 1))
	for _, name := range specific {
		if name == "" {
			continue
		}
		totals, err := s.stats.Lookup(mmapstore.NamespaceOf(name), w.hashes, w.counts)
		if err != nil {
			return totals, "", fmt.Errorf("scan: look up tokens for %s: %w", name, err)
		}
		totals = leaveOut(leave, totals, w.counts)
		if totals.Spam >= min && totals.Ham >= min {
			return totals, name, nil
		}
	}
	totals, err := s.stats.Lookup(mmapstore.Shared, w.hashes, w.counts)
	if err != nil {
		return totals, "", fmt.Errorf("scan: look up tokens: %w", err)
	}
	return leaveOut(leave, totals, w.counts), "", nil
}

// leaveOut takes one learn of class out of the looked-up counts and
// totals (Request.LeaveOut); class 0 leaves them as they are.
func leaveOut(class mmapstore.Class, totals mmapstore.Totals, counts []mmapstore.Counts) mmapstore.Totals {
	switch class {
	case mmapstore.Spam:
		for i := range counts {
			counts[i].Spam -= min(counts[i].Spam, 1)
		}
		totals.Spam -= min(totals.Spam, 1)
	case mmapstore.Ham:
		for i := range counts {
			counts[i].Ham -= min(counts[i].Ham, 1)
		}
		totals.Ham -= min(totals.Ham, 1)
	}
	return totals
}
