package main

import (
	"bytes"
	"context"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-milter"
)

// syncBuffer is a bytes.Buffer safe for the logger and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestMilterCommand starts `sluice milter` on a unix socket with no
// statfile yet, scans one message through it, and stops it by cancelling
// the context as SIGTERM does.
func TestMilterCommand(t *testing.T) {
	defer log.SetOutput(os.Stderr)
	dir := t.TempDir()
	sock := filepath.Join(dir, "m.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"milter", "--data-dir", filepath.Join(dir, "data"), "--listen", "unix:" + sock},
			strings.NewReader(""), &bytes.Buffer{}, &stderr)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "milter listening") {
		if time.Now().After(deadline) {
			t.Fatalf("milter did not start:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket: %v %v", fi, err)
	}
	s, err := milter.NewClientWithOptions("unix", sock, milter.ClientOptions{
		ActionMask: milter.OptAddHeader | milter.OptChangeHeader | milter.OptQuarantine}).Session()
	if err != nil {
		t.Fatal(err)
	}
	s.Mail("<a@example.org>", nil)
	s.Rcpt("<b@example.org>", nil)
	s.HeaderField("Subject", "hello")
	s.HeaderField("From", "a@example.org")
	s.HeaderEnd()
	mods, act, err := s.BodyReadFrom(strings.NewReader(sample(t)))
	if err != nil || act.Code != milter.ActAccept {
		t.Fatalf("end of message: %+v %v", act, err)
	}
	var status string
	for _, m := range mods {
		if m.HeaderName == "X-Spam-Status" {
			status = m.HeaderValue
		}
	}
	// No statfile: Bayes is silent; only header rules may score (this
	// message has no Message-ID or Date).
	if !strings.HasPrefix(status, "No, score=") || strings.Contains(status, "BAYES") {
		t.Fatalf("X-Spam-Status %q with no statfile", status)
	}
	s.Close()
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("milter did not stop")
	}
	if !regexp.MustCompile(`milter stopped.*scanned=1`).MatchString(stderr.String()) {
		t.Fatalf("no counters at shutdown:\n%s", stderr.String())
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Fatalf("socket left behind: %v", err)
	}
}

func TestMilterCommandBadConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(cfg, []byte("[milter]\nreject_message = \"ok\"\n"), 0o644)
	if code, _, stderr := sluice(t, "", "milter", "--config", cfg); code != 78 || !strings.Contains(stderr, "milter.reject_message") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if code, _, _ := sluice(t, "", "milter", "--data-dir", t.TempDir(), "--listen", "tcp:nowhere"); code != exitUsage {
		t.Fatal("bad --listen accepted")
	}
}
