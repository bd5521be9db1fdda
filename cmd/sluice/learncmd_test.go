package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/scanstack"
)

// startLearner runs `sluice learner` in process on dir until the test ends.
func startLearner(t *testing.T, dir string, extra ...string) *syncBuffer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"learner", "--data-dir", dir, "--http", "off"}, extra...), strings.NewReader(""), &syncBuffer{}, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("learner exit %d\n%s", code, stderr.String())
			}
		case <-time.After(10 * time.Second):
			t.Error("learner did not stop")
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "learner listening") {
		if time.Now().After(deadline) {
			t.Fatalf("learner did not start:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &stderr
}

func totalsOf(t *testing.T, dir string) mmapstore.Totals {
	t.Helper()
	r, err := mmapstore.OpenReader(filepath.Join(dir, "bayes.statfile"), scanstack.StoreParams(defaultConfig(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tot, err := r.Lookup(mmapstore.Shared, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tot
}

// sluice learn through the daemon: the learn cache's outcomes, exit codes,
// and it returns in milliseconds.
func TestLearnThroughDaemon(t *testing.T) {
	dir := t.TempDir()
	startLearner(t, dir)
	msg := sample(t)
	tests := []struct {
		name, stdin string
		args        []string
		code        int
		out         string
	}{
		{"learn", msg, []string{"spam"}, 0, "1 learned"},
		{"moved to Junk twice", msg, []string{"--source", "dovecot", "spam"}, 0, "1 already learned"},
		{"moved back", msg, []string{"ham"}, 0, "1 relearned"},
		{"not a message", "hello, this is not mail\n", []string{"ham"}, exitDataErr, "not a mail message"},
		{"forget", msg, []string{"forget"}, 0, "1 forgotten"},
		{"learn again", msg, []string{"ham"}, 0, "1 learned"},
	}
	for _, tt := range tests {
		start := time.Now()
		code, out, errs := sluice(t, tt.stdin, append([]string{"learn", "--data-dir", dir}, tt.args...)...)
		if code != tt.code || !strings.Contains(out+errs, tt.out) {
			t.Fatalf("%s: exit %d (%q %q), want %d and %q", tt.name, code, out, errs, tt.code, tt.out)
		}
		if code == 0 && !strings.Contains(out, "via learner") {
			t.Fatalf("%s: not through the learner: %q", tt.name, out)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("%s took %v", tt.name, d)
		}
	}
	if tot := totalsOf(t, dir); tot.Spam != 0 || tot.Ham != 1 {
		t.Fatalf("totals %+v", tot)
	}
	// A second learner is refused with 75 and a clear message.
	code, _, errs := sluice(t, "", "learner", "--data-dir", dir, "--http", "off", "--listen", "unix:"+filepath.Join(dir, "other.sock"))
	if code != exitTempFail || !strings.Contains(errs, "another learner") {
		t.Fatalf("second learner: exit %d: %s", code, errs)
	}
}

// Bulk learning goes through the daemon with several connections (group
// commit) and reports its rate.
func TestLearnBulkThroughDaemon(t *testing.T) {
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus")
	os.MkdirAll(corpus, 0o755)
	for i := range 100 {
		m := fmt.Sprintf("From: a@example.org\r\nSubject: bulk %d\r\n\r\nbulk message number %d with words w%d x%d\r\n", i, i, i, i*7)
		os.WriteFile(filepath.Join(corpus, fmt.Sprint(i)), []byte(m), 0o644)
	}
	startLearner(t, dir)
	code, out, errs := sluice(t, "", "learn", "--data-dir", dir, "--json", "spam", corpus)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var s learnSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil || s.Learned != 100 || s.Via != "learner" {
		t.Fatalf("summary %q: %v", out, err)
	}
	if tot := totalsOf(t, dir); tot.Spam != 100 {
		t.Fatalf("totals %+v", tot)
	}
	t.Logf("100 messages through the daemon at %.0f msg/s", s.PerSecond)
}

// With no learner running, sluice learn writes the statfile itself.
func TestLearnDirectFallback(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := sluice(t, sample(t), "learn", "--data-dir", dir, "spam")
	if code != 0 || !strings.Contains(out, "1 learned") || !strings.Contains(out, "via direct") {
		t.Fatalf("exit %d: %q %q", code, out, errs)
	}
}

// With no learner and the statfile locked, the message is spooled (exit
// 0); the learner drains the spool when it starts. A second queued copy is
// then already learned.
func TestLearnSpoolWhenLockedAndUnreachable(t *testing.T) {
	dir := t.TempDir()
	w, err := mmapstore.OpenWriter(filepath.Join(dir, "bayes.statfile"), writerOptions(defaultConfig(t), nil))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		code, out, errs := sluice(t, sample(t), "learn", "--data-dir", dir, "--user", "alice@example.org", "spam")
		// A spooled learn is a success: on stdout, nothing on stderr
		// (Dovecot logs a pipe's stderr as errors).
		if code != 0 || !strings.Contains(out, "1 spooled in "+filepath.Join(dir, "spool")) || errs != "" {
			w.Close()
			t.Fatalf("exit %d: %q %q", code, out, errs)
		}
	}
	// Not a message: 65 even when it would have been spooled.
	if code, _, errs := sluice(t, "no header\n", "learn", "--data-dir", dir, "spam"); code != exitDataErr {
		t.Errorf("garbage while locked: exit %d: %s", code, errs)
	}
	// Bulk imports are retried by whoever runs them: 75.
	if code, _, errs := sluice(t, "", "learn", "--data-dir", dir, "spam", "testdata/sample.eml"); code != exitTempFail {
		t.Errorf("bulk while locked: exit %d: %s", code, errs)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	spooled, _ := filepath.Glob(filepath.Join(dir, "spool", "*.req"))
	if len(spooled) != 2 {
		t.Fatalf("spool holds %v", spooled)
	}
	stderr := startLearner(t, dir)
	deadline := time.Now().Add(10 * time.Second)
	for {
		left, _ := filepath.Glob(filepath.Join(dir, "spool", "*.req"))
		if len(left) == 0 && strings.Contains(stderr.String(), "drained spool") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("spool not drained: %v\n%s", left, stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if tot := totalsOf(t, dir); tot.Spam != 1 {
		t.Fatalf("totals after the drain %+v, want one spam (the copy is already learned)", tot)
	}
}

// Only when the message can be neither learned nor spooled: 75.
func TestLearnTempFail(t *testing.T) {
	dir := t.TempDir()
	w, err := mmapstore.OpenWriter(filepath.Join(dir, "bayes.statfile"), writerOptions(defaultConfig(t), nil))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	blocker := filepath.Join(dir, "not-a-dir")
	os.WriteFile(blocker, nil, 0o644)
	conf := filepath.Join(dir, "sluice.toml")
	os.WriteFile(conf, []byte(fmt.Sprintf("[learner]\nspool_dir = %q\n", blocker)), 0o644)
	code, _, errs := sluice(t, sample(t), "learn", "--data-dir", dir, "--config", conf, "spam")
	if code != exitTempFail || !strings.Contains(errs, "not spooled") {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

// The pipe form keeps stderr for warnings and errors (Dovecot logs a
// pipe's stderr as errors); syslog and the bulk form keep the level.
func TestLearnLogConfig(t *testing.T) {
	for _, tc := range []struct {
		level, output string
		pipe          bool
		want          string
	}{
		{"info", "stderr", true, "warn"},
		{"debug", "stderr", true, "warn"},
		{"error", "stderr", true, "error"},
		{"warn", "stderr", true, "warn"},
		{"info", "syslog", true, "info"},
		{"debug", "stderr", false, "debug"},
	} {
		cfg := config.Default()
		cfg.Log.Level, cfg.Log.Output = tc.level, tc.output
		if got := learnLogConfig(cfg, tc.pipe).Log.Level; got != tc.want {
			t.Errorf("level %s, output %s, pipe %v: %s, want %s", tc.level, tc.output, tc.pipe, got, tc.want)
		}
	}
}

// A spooled learn from the pipe with log.level = debug still writes
// nothing on stderr; the summary on stdout says where it went.
func TestLearnSpoolQuietAtDebug(t *testing.T) {
	dir := t.TempDir()
	w, err := mmapstore.OpenWriter(filepath.Join(dir, "bayes.statfile"), writerOptions(defaultConfig(t), nil))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	conf := filepath.Join(t.TempDir(), "sluice.toml")
	if err := os.WriteFile(conf, []byte("[log]\nlevel = \"debug\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := sluice(t, sample(t), "learn", "--config", conf, "--data-dir", dir, "--source", "dovecot", "spam")
	if code != 0 || errs != "" || !strings.Contains(out, "1 spooled in "+filepath.Join(dir, "spool")) {
		t.Fatalf("exit %d: stdout %q, stderr %q", code, out, errs)
	}
}
