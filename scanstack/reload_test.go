package scanstack

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/config"
)

// Reload applies [profiles] (and the other scanner sections) at once,
// logs the rest as needing a restart, keeps the rules when they would
// change the network's inputs, and keeps everything when the file does
// not load.
func TestReloader(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sluice.toml")
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("[actions]\nreject = 20\n")
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = dir // the command line's override
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	s := New(cfg, log)
	defer s.Close()
	r := NewReloader(path, cfg, s, log)

	write("[actions]\nreject = 20\n[rules]\nenabled = true\n[milter]\nidle_timeout = \"1h\"\n[profiles.finance]\nrecipients = [\"ceo@example.com\"]\n")
	r.Reload()
	if s.Live.Match("ceo@example.com") != "finance" {
		t.Errorf("[profiles] not applied: %s", logs.String())
	}
	for _, want := range []string{"applied=[profiles]", "milter.idle_timeout: 10m0s -> 1h0m0s", "rules (the network's inputs would change)"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q: %s", want, logs.String())
		}
	}
	if r.running.DataDir != dir || r.running.Rules.Enabled {
		t.Errorf("running configuration: data_dir %q, rules %v", r.running.DataDir, r.running.Rules.Enabled)
	}
	if run := r.Running(); len(run.Profiles) != 1 || run.Milter.IdleTimeout != cfg.Milter.IdleTimeout {
		t.Errorf("Running: profiles %v (want finance), idle_timeout %v (want the one at start, a restart applies it)", run.Profiles, run.Milter.IdleTimeout)
	}

	logs.Reset()
	scanner := s.Live.scanner.Load()
	write("[actions]\nreject = \"soon\"\n")
	r.Reload()
	if s.Live.scanner.Load() != scanner || !strings.Contains(logs.String(), "configuration not reloaded") {
		t.Errorf("a bad file changed the scanner or was not logged: %s", logs.String())
	}

	// The learner alone has no stack: nothing applies.
	logs.Reset()
	write("[actions]\nreject = 20\n")
	r = NewReloader(path, cfg, nil, log)
	write("[actions]\nreject = 30\n")
	r.Reload()
	if !strings.Contains(logs.String(), "needs_restart=\"[actions.reject: 20 -> 30]\"") {
		t.Errorf("without a stack: %s", logs.String())
	}
}
