package rules

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/sluicemail/sluice/tokenizer"
)

// Message is what the rules look at: the top-level header as the tokenizer
// parsed it (tokenizer.Result.Header: one parse for the whole scan), the
// tokenizer's structure facts and problems, and the time of the scan.
type Message struct {
	Header   tokenizer.HeaderFields
	Features tokenizer.Features
	Problems []string  // tokenizer.Result.Problems
	Now      time.Time // when the message is scanned; zero: time.Now()

	auth authResults // filled by Set.Check from the trusted header
}

// Hit is one rule that fired: its symbol, score (weight × strength) and a
// short detail for --explain.
type Hit struct {
	Name   string
	Score  float64
	Detail string
}

// Rule is one built-in check.
type Rule struct {
	Name   string
	Weight float64 // default weight
	Doc    string
	// check returns the strength in (0, 1] with which the rule fires, 0
	// when it does not, and a detail.
	check func(m *Message) (float64, string)
}

// Options configure a Set.
type Options struct {
	// Weights override the default weight of rules by name; a weight of 0
	// turns the rule off. A name that is not a rule is an error.
	Weights map[string]float64
	// TrustedAuthservIDs are the authserv-ids whose Authentication-Results
	// header fields are believed (RFC 8601 §5: the receiving MTA must strip
	// fields that claim its own id). Empty: the AUTH_* rules never fire.
	TrustedAuthservIDs []string
}

// Set is the configured rules. It is immutable and safe for concurrent use.
type Set struct {
	rules   []Rule // enabled, with their configured weight
	weights map[string]float64
	trusted []string
}

// New returns the built-in rules weighted by opts.
func New(opts Options) (*Set, error) {
	s := &Set{weights: make(map[string]float64)}
	for name := range opts.Weights {
		if !slices.ContainsFunc(builtin, func(r Rule) bool { return r.Name == name }) {
			return nil, fmt.Errorf("rules: no rule named %q", name)
		}
	}
	for _, r := range builtin {
		if w, ok := opts.Weights[r.Name]; ok {
			if math.IsNaN(w) || math.IsInf(w, 0) {
				return nil, fmt.Errorf("rules: weight of %s is not a number", r.Name)
			}
			r.Weight = w
		}
		if r.Weight == 0 {
			continue
		}
		s.rules = append(s.rules, r)
		s.weights[r.Name] = r.Weight
	}
	for _, id := range opts.TrustedAuthservIDs {
		if id = strings.ToLower(strings.TrimSpace(id)); id != "" {
			s.trusted = append(s.trusted, id)
		}
	}
	return s, nil
}

// Builtin lists every built-in rule with its default weight, in a stable
// order.
func Builtin() []Rule { return slices.Clone(builtin) }

// Names are the enabled rules' symbols, sorted.
func (s *Set) Names() []string {
	out := make([]string, 0, len(s.rules))
	for _, r := range s.rules {
		out = append(out, r.Name)
	}
	slices.Sort(out)
	return out
}

// Weight is the configured weight of an enabled rule, 0 otherwise.
func (s *Set) Weight(name string) float64 { return s.weights[name] }

// Check runs the enabled rules on m and appends their hits to dst.
func (s *Set) Check(m *Message, dst []Hit) []Hit {
	if m.Now.IsZero() {
		m.Now = time.Now()
	}
	m.auth = parseAuth(&m.Header, s.trusted)
	for _, r := range s.rules {
		if st, detail := r.check(m); st > 0 {
			dst = append(dst, Hit{Name: r.Name, Score: r.Weight * min(st, 1), Detail: detail})
		}
	}
	return dst
}
