package scanstack

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/rules"
	"github.com/sluicemail/sluice/scan"
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
	if s := Rules(config.Default()); s != nil {
		t.Errorf("rules run by default (%d); they are opt-in", len(s.Names()))
	}
	on := config.Default()
	on.Rules.Enabled = true
	if s := Rules(on); len(s.Names()) != len(rules.Builtin()) {
		t.Errorf("enabled set has %d of %d rules", len(s.Names()), len(rules.Builtin()))
	}
}

// Swap puts the next configuration's thresholds and profiles in service,
// but keeps the running rules when turning them on or off would change
// the network's inputs.
func TestSwap(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	s := New(cfg, slog.New(slog.DiscardHandler))
	defer s.Close()
	if s.Live.scanner.Load() != s.Scanner || s.Live.Match("ceo@example.com") != "" {
		t.Fatal("a new stack serves another scanner or has a profile")
	}
	inputs := s.Live.InputNames()

	next := cfg
	next.Actions.Reject++
	next.Profiles = map[string]config.Profile{"finance": {Recipients: []string{"ceo@example.com"}}}
	if kept := s.Swap(next, cfg.Rules); kept != "" {
		t.Errorf("swap of thresholds and profiles kept %q", kept)
	}
	if s.Live.scanner.Load() == s.Scanner || s.Live.Match("ceo@example.com") != "finance" {
		t.Error("the swap did not put the next scanner and profiles in service")
	}

	next.Rules.Enabled = !cfg.Rules.Enabled
	if kept := s.Swap(next, cfg.Rules); kept == "" || !slices.Equal(s.Live.InputNames(), inputs) {
		t.Errorf("turning the rules on with a network: kept %q, inputs %q, want %q", kept, s.Live.InputNames(), inputs)
	}
	next.Neural.Enabled = false
	s = New(next, slog.New(slog.DiscardHandler))
	defer s.Close()
	if s.Nets != nil {
		t.Errorf("[neural] off: networks %v", s.Nets)
	}
}

// TestLists: [lists] reach the scanner with their files below data_dir,
// the running stack's watcher picks a changed file up, and a swap
// (SIGHUP) replaces the lists.
func TestLists(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Lists = map[string]config.List{
		"allow_sender": {Match: "sender", Score: -20, Entries: []string{"friend.example"}},
		"block_client": {Match: "client", Score: 20, File: "block-clients"},
	}
	s := New(cfg, slog.New(slog.DiscardHandler))
	defer s.Close()
	msg := "From: a@friend.example\r\nSubject: hi\r\n\r\nhello\r\n"
	symbols := func(env scan.Envelope) []string {
		t.Helper()
		v, err := s.Live.Scan(context.Background(), strings.NewReader(msg), scan.Request{Envelope: env})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, sym := range v.Symbols {
			out = append(out, sym.Name)
		}
		return out
	}
	env := scan.Envelope{Sender: "a@friend.example", Client: netip.MustParseAddr("192.0.2.1")}
	if got := symbols(env); !slices.Equal(got, []string{"ALLOW_SENDER"}) {
		t.Fatalf("symbols %q, want ALLOW_SENDER", got)
	}
	if err := os.WriteFile(filepath.Join(cfg.DataDir, "block-clients"), []byte("192.0.2.0/24\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.Lists.Reload()
	if got := symbols(env); !slices.Equal(got, []string{"ALLOW_SENDER", "BLOCK_CLIENT"}) {
		t.Fatalf("symbols %q after the file appeared", got)
	}
	next := cfg
	next.Lists = map[string]config.List{"vip": {Match: "recipient", Score: -3, Entries: []string{"@example.net"}}}
	s.Swap(next, cfg.Rules)
	env.Recipients = []string{"ceo@example.net"}
	if got := symbols(env); !slices.Equal(got, []string{"VIP"}) {
		t.Fatalf("symbols %q after the swap, want VIP", got)
	}
}
