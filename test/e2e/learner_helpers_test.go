package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// learnerEnv is a data directory and configuration for `sluice learner`
// or `sluice serve`, under a directory that other users (Dovecot's mail
// user, Postfix) can traverse.
type learnerEnv struct {
	t        *testing.T
	dir      string
	config   string
	socket   string
	httpPort int
}

// newLearnerEnv writes a config: statfile, learner socket and spool below
// a fresh directory, the HTTP endpoints on a free loopback port, then
// extra TOML appended.
func newLearnerEnv(t *testing.T, extra string) *learnerEnv {
	t.Helper()
	dir, err := os.MkdirTemp("", "sluice-e2e-learner-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	// Programs run as other users (Dovecot's pipe) execute the binary.
	os.Chmod(filepath.Dir(sluiceBin), 0o755)
	e := &learnerEnv{t: t, dir: dir, config: filepath.Join(dir, "sluice.toml"), socket: filepath.Join(dir, "learner.sock"), httpPort: freePort(t)}
	cfg := fmt.Sprintf(`data_dir = %q
[statfile]
initial_slots = 1024
[learner]
socket = %q
spool_dir = %q
spool_interval = "1s"
http_listen = "inet:127.0.0.1:%d"
shutdown_timeout = "5s"
%s`, filepath.Join(dir, "data"), e.socket, filepath.Join(dir, "spool"), e.httpPort, extra)
	if err := os.WriteFile(e.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// The data directory exists, as an install makes it: sluice learn
	// (run here before any daemon) never creates one.
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o750); err != nil {
		t.Fatal(err)
	}
	return e
}

// run runs a sluice command with the env's config; it fails the test on
// a non-zero exit.
func (e *learnerEnv) run(args ...string) string {
	e.t.Helper()
	out, err := exec.Command(sluiceBin, append([]string{args[0], "--config", e.config}, args[1:]...)...).CombinedOutput()
	if err != nil {
		e.t.Fatalf("sluice %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// totals reads the shared learn totals with sluice stat --json.
func (e *learnerEnv) totals() (spam, ham uint64) {
	e.t.Helper()
	out, err := exec.Command(sluiceBin, "stat", "--config", e.config, "--json").Output()
	if err != nil {
		e.t.Fatalf("sluice stat: %v", err)
	}
	var s struct{ Shared struct{ Spam, Ham uint64 } }
	if err := json.Unmarshal(out, &s); err != nil {
		e.t.Fatalf("sluice stat --json: %v\n%s", err, out)
	}
	return s.Shared.Spam, s.Shared.Ham
}

// start runs `sluice CMD --config ...` and waits for the line ready in
// its log; it is stopped (SIGTERM) when the test ends.
func (e *learnerEnv) start(cmd, ready string, args ...string) *daemon {
	e.t.Helper()
	logPath := filepath.Join(e.dir, fmt.Sprintf("%s-%d.log", cmd, time.Now().UnixNano()))
	return startDaemon(e.t, logPath, e.config, logLine(ready), cmd, args...)
}
