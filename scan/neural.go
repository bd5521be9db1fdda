package scan

import (
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/sluicemail/sluice/bayes"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/nn"
	"github.com/sluicemail/sluice/tokenizer"
)

// Symbols of the neural post-classifier.
const (
	SymbolNeuralSpam = "NEURAL_SPAM"
	SymbolNeuralHam  = "NEURAL_HAM"
)

// NetworkSource gives the network in service, nil when there is none;
// *nn.Watcher provides it. The scanner asks once per message.
type NetworkSource interface {
	Network() *nn.Network
}

// Neural configures the neural post-classifier.
type Neural struct {
	Source NetworkSource
	// Profiles are the networks of settings profiles (rspamd's
	// use_settings): a message of a profile named here is scored by that
	// profile's network, or by Source while the profile has none yet.
	Profiles map[string]NetworkSource
	// SpamWeight scores NEURAL_SPAM (× the network's log-odds when
	// positive); HamWeight, negative, scores NEURAL_HAM (× their magnitude
	// when negative). 1 and -1 add the log-odds whole (NeuralSymbol); the
	// defaults, 0.5 and -0.5, half ([neural] spam_weight says why).
	SpamWeight, HamWeight float64
}

// network returns the network in service for a message of the profile,
// nil for none.
func (n Neural) network(profile string) *nn.Network {
	if src, ok := n.Profiles[profile]; ok && profile != "" {
		if net := src.Network(); net != nil {
			return net
		}
	}
	if n.Source == nil {
		return nil
	}
	return n.Source.Network()
}

// Names of the non-symbol inputs of the network.
const (
	InputBayesProb     = "bayes:prob"
	InputBayesEvidence = "bayes:evidence"
	// InputBayesScore is the Bayes symbol's score (0 when silent): the
	// network's offset (nn.OffsetInput), so that BAYES_* + NEURAL_* is the
	// log-odds the network was trained to give.
	InputBayesScore = nn.OffsetInput
)

// metaInputs name the structural inputs computed from tokenizer.Features,
// each scaled to [0, 1] by metaValues, in this order.
var metaInputs = []string{
	"meta:size", "meta:parts", "meta:depth", "meta:text_parts", "meta:html_parts", "meta:html_only",
	"meta:attachments", "meta:messages", "meta:urls", "meta:url_domains", "meta:received",
	"meta:words", "meta:non_ascii", "meta:caps", "meta:subject_caps", "meta:problems",
}

// squash maps a count to [0, 1): n/(n+k), half at k.
func squash(n int, k float64) float32 { return float32(float64(n) / (float64(n) + k)) }

func metaValues(dst []float32, f tokenizer.Features) []float32 {
	b2 := func(v bool) float32 {
		if v {
			return 1
		}
		return 0
	}
	return append(dst,
		float32(min(1, math.Log2(float64(f.Bytes)+1)/24)),
		squash(f.Parts, 4), squash(f.Depth, 2), squash(f.TextParts, 2), squash(f.HTMLParts, 2), b2(f.HTMLOnly),
		squash(f.Attachments, 2), squash(f.Messages, 1), squash(f.URLs, 5), squash(f.URLDomains, 3), squash(f.ReceivedHops, 4),
		float32(min(1, math.Log2(float64(f.Words)+1)/16)), min(1, f.NonASCII), min(1, f.Caps), min(1, f.SubjectCaps), squash(f.Problems, 1),
	)
}

// InputNames are the names of the network inputs this scanner computes,
// in the order of Verdict.Inputs: the enabled rules' symbols (sorted), the
// Bayes probability and evidence, the structural metatokens. A change of
// the rule set changes them, and the learner starts a new network.
func (s *Scanner) InputNames() []string { return slices.Clone(s.inputNames) }

// InputSet is the digest of InputNames (nn.InputDigest): it names the
// input set in scan records and in the learner's pools.
func (s *Scanner) InputSet() [32]byte { return s.inputSet }

func inputNames(o Options) []string {
	var names []string
	if o.Rules != nil {
		names = append(names, o.Rules.Names()...)
	}
	names = append(names, InputBayesProb, InputBayesEvidence, InputBayesScore)
	return append(names, metaInputs...)
}

// inputs computes the network's input vector for v, in InputNames order:
// a rule symbol present has strength max(0.1, min(1, |score/weight|)),
// absent 0 (rspamd's neural normalisation); the Bayes probability (0.5
// when silent); the Bayes evidence as (1 + tanh(evidence/50))/2, which
// keeps ordering messages where the probability saturates.
func (s *Scanner) inputs(dst []float32, v *Verdict, f tokenizer.Features) []float32 {
	dst = dst[:0]
	nr := len(s.inputNames) - 3 - len(metaInputs)
	for _, name := range s.inputNames[:nr] {
		val := float32(0)
		for _, sym := range v.Symbols {
			if sym.Name == name {
				w := s.opts.Rules.Weight(name)
				val = float32(max(0.1, min(1, math.Abs(sym.Score/w))))
				break
			}
		}
		dst = append(dst, val)
	}
	dst = appendBayesValues(dst, v)
	return metaValues(dst, f)
}

// bayesInputNames are the network inputs that come from the Bayes
// verdict, in the order of BayesInputs' values.
var bayesInputNames = []string{InputBayesProb, InputBayesEvidence, InputBayesScore}

// BayesInputNames are the names of the network inputs that come from the
// Bayes verdict, in the order of BayesInputs' values.
func (s *Scanner) BayesInputNames() []string { return slices.Clone(bayesInputNames) }

// appendBayesValues appends the values of bayesInputNames for v.
func appendBayesValues(dst []float32, v *Verdict) []float32 {
	return append(dst, float32(v.Prob), float32((1+math.Tanh(v.Evidence/50))/2), float32(bayesScore(v)))
}

// BayesInputs are the values of the Bayes inputs (BayesInputNames) of an
// already tokenized message the statistics hold, learned as class, scored
// as if it had not been learned (Request.LeaveOut): what the network's
// Bayes inputs would be for this message with statistics built from
// every other message. The learner rescores its training samples so.
// The shared statistics answer (or the message's language's, with
// languages enabled and res.Language set).
func (s *Scanner) BayesInputs(res *tokenizer.Result, class mmapstore.Class) ([]float32, error) {
	v, err := s.ScanTokens(res, Request{LeaveOut: class})
	if err != nil {
		return nil, err
	}
	return appendBayesValues(make([]float32, 0, len(bayesInputNames)), v), nil
}

// NetworkUse describes the network a message was scanned with, for an
// explained verdict.
type NetworkUse struct {
	Epoch   uint64    `json:"epoch"`
	Created time.Time `json:"created"`
	Digest  string    `json:"digest"` // hex SHA-256 of the input names
	Inputs  int       `json:"inputs"` // the network's inputs
	Known   int       `json:"known"`  // of them, computed by this scanner
	// Used is false when too few inputs are known (the network is then
	// ignored); Output and Symbol are set when it is true.
	Used   bool    `json:"used"`
	Output float64 `json:"output"`
	Symbol *Symbol `json:"symbol,omitempty"`
}

// runNeural adds NEURAL_SPAM or NEURAL_HAM for the network n (the one in
// service when the scan started). A network that knows fewer than 70% of
// its inputs by name (the rule set changed a lot since it was trained) is
// not used.
func (s *Scanner) runNeural(w *worker, n *nn.Network, v *Verdict, explain bool) {
	known := 0
	for _, name := range s.inputNames {
		if _, ok := n.Index(name); ok {
			known++
		}
	}
	var use *NetworkUse
	if explain {
		use = &NetworkUse{Epoch: n.Epoch, Created: n.Created, Digest: hex.EncodeToString(n.Digest[:]), Inputs: len(n.Inputs), Known: known}
		v.Network = use
	}
	if known*10 < len(n.Inputs)*7 {
		return
	}
	w.nnx = n.Fill(w.nnx, s.inputNames, v.Inputs)
	lo := n.LogOdds(w.nnx)
	out := math.Tanh(lo / 2) // what n.SpamScore(n.Forward(x)) gives, from the one pass
	if !finite(lo) {
		s.skip(v, "neural")
		return
	}
	sym := NeuralSymbol(s.opts.Neural, lo)
	v.Neural = out
	v.Symbols = append(v.Symbols, sym)
	if use != nil {
		use.Used, use.Output, use.Symbol = true, out, &sym
	}
}

// NeuralSymbol is the symbol for a network output given as log-odds
// (nn.Network.LogOdds): the network was trained to add them to the Bayes
// score, so they reach the score whole, unclipped — SpamWeight (1 by
// default) times a positive output, HamWeight (-1) times the magnitude of
// a negative one. Detail is the output in [-1, 1].
func NeuralSymbol(cfg Neural, logOdds float64) Symbol {
	detail := fmt.Sprintf("%.3f", math.Tanh(logOdds/2))
	if logOdds > 0 {
		return Symbol{Name: SymbolNeuralSpam, Score: cfg.SpamWeight * logOdds, Detail: detail}
	}
	return Symbol{Name: SymbolNeuralHam, Score: cfg.HamWeight * -logOdds, Detail: detail}
}

// bayesScore is the score of v's BAYES_* symbol, 0 without one.
func bayesScore(v *Verdict) float64 {
	for _, sym := range v.Symbols {
		if sym.Name == bayes.SymbolSpam || sym.Name == bayes.SymbolHam {
			return sym.Score
		}
	}
	return 0
}
