package main

import (
	"testing"

	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/rules"
)

// TestRuleDefaults: the config file names every built-in rule, with the
// rule's documented default weight.
func TestRuleDefaults(t *testing.T) {
	w := config.Default().Rules.Weights()
	if len(w) != len(rules.Builtin()) {
		t.Errorf("config has %d rule weights, rules has %d rules", len(w), len(rules.Builtin()))
	}
	for _, r := range rules.Builtin() {
		if got, ok := w[r.Name]; !ok || got != r.Weight {
			t.Errorf("%s: config default %v (present %v), rule default %v", r.Name, got, ok, r.Weight)
		}
	}
	if s := rulesSet(config.Default()); s != nil {
		t.Errorf("rules run by default (%d); they are opt-in", len(s.Names()))
	}
	on := config.Default()
	on.Rules.Enabled = true
	if s := rulesSet(on); len(s.Names()) != len(rules.Builtin()) {
		t.Errorf("enabled set has %d of %d rules", len(s.Names()), len(rules.Builtin()))
	}
}
