package learnstack

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluicemail/sluice/config"
)

func testConfig(t *testing.T, useSettings bool) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Neural.UseSettings = useSettings
	cfg.Profiles = map[string]config.Profile{"finance": {Recipients: []string{"@finance.example.org"}}}
	return cfg
}

// The networks' files land in the data directory, a profile's beside the
// default one, each with its pools.
func TestNeural(t *testing.T) {
	cfg := testConfig(t, true)
	dir := cfg.DataDir
	def, profiles := Neural(cfg)
	if def.File != filepath.Join(dir, "neural.nn") || def.PoolFile != filepath.Join(dir, "neural.nn.pools") || def.MaxTrain != cfg.Neural.MaxTrain {
		t.Errorf("default network: %+v", def)
	}
	if f := profiles["finance"]; len(profiles) != 1 || f.File != filepath.Join(dir, "neural.finance.nn") || f.PoolFile != filepath.Join(dir, "neural.finance.nn.pools") {
		t.Errorf("profiles: %+v", profiles)
	}
	cfg.Neural.UseSettings = false
	if _, profiles := Neural(cfg); profiles != nil {
		t.Errorf("without use_settings: profiles %+v", profiles)
	}
	cfg.Neural.Enabled = false
	if def, profiles := Neural(cfg); def.File != "" || profiles != nil {
		t.Errorf("[neural] off: %+v, %+v", def, profiles)
	}
	// An absolute network file keeps its pools in the data directory.
	cfg.Neural.File = "/var/lib/other/net.nn"
	if got := PoolPath(cfg, cfg.NetworkPath("")); got != filepath.Join(dir, "net.nn.pools") {
		t.Errorf("PoolPath = %q", got)
	}
}

// StatNetworks describes a network only where its files exist, a
// profile's only with use_settings.
func TestStatNetworks(t *testing.T) {
	cfg := testConfig(t, true)
	if def, profiles := StatNetworks(cfg, time.Now()); def != nil || profiles != nil {
		t.Fatalf("no files: %+v, %+v", def, profiles)
	}
	if err := os.WriteFile(cfg.NetworkPath("finance"), []byte("not a network"), 0o644); err != nil {
		t.Fatal(err)
	}
	def, profiles := StatNetworks(cfg, time.Now())
	if f := profiles["finance"]; def != nil || f == nil || f.Error == "" || !f.Enabled {
		t.Fatalf("a bad profile network: %+v, %+v", def, profiles)
	}
	cfg.Neural.UseSettings = false
	if _, profiles := StatNetworks(cfg, time.Now()); profiles != nil {
		t.Errorf("without use_settings: %+v", profiles)
	}
}

func TestServiceOptions(t *testing.T) {
	cfg := testConfig(t, false)
	opts, err := ServiceOptions(cfg, nil, nil)
	if err != nil || opts.Statfile != cfg.StatfilePath() || opts.Socket != filepath.Join(cfg.DataDir, cfg.Learner.Socket) ||
		opts.Daemon.Neural.File != cfg.NetworkPath("") || opts.Spool == nil || opts.Writer.Params != DoorOptions(cfg, nil).Writer.Params {
		t.Errorf("ServiceOptions: %+v, %v", opts, err)
	}
	cfg.Learner.SocketGroup = "no-such-group-sluice"
	if _, err := ServiceOptions(cfg, nil, nil); err == nil {
		t.Error("a socket group that does not exist is accepted")
	}
}
