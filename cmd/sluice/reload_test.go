package main

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SIGHUP does not end `sluice spamd`: it reloads the thresholds and the
// profiles (a connection open across the reload is served), logs what
// changed and what needs a restart, and keeps the running configuration
// when the new file is invalid.
func TestSpamdReloadsOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "spamd.sock")
	cfgPath := writeFile(t, filepath.Join(dir, "sluice.toml"), "[actions]\nadd_header = 6\n")
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"spamd", "--config", cfgPath, "--data-dir", dir, "--listen", "unix:" + sock},
			strings.NewReader(""), io.Discard, &stderr)
	}()
	defer func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("spamd exit %d\n%s", code, stderr.String())
			}
		case <-time.After(10 * time.Second):
			t.Error("spamd did not stop")
		}
	}()
	waitFor := func(what string, n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for strings.Count(stderr.String(), what) < n {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the log:\n%s", what, stderr.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("spamd listening", 1)
	msg := sample(t)
	check := func(c net.Conn, user string) string {
		t.Helper()
		if c == nil {
			var err error
			if c, err = net.Dial("unix", sock); err != nil {
				t.Fatal(err)
			}
		}
		defer c.Close()
		io.WriteString(c, "CHECK SPAMC/1.5\r\nUser: "+user+"\r\nContent-length: "+strconv.Itoa(len(msg))+"\r\n\r\n"+msg)
		c.(*net.UnixConn).CloseWrite()
		b, _ := io.ReadAll(c)
		return string(b)
	}
	if got := check(nil, "ann@finance.example"); !strings.Contains(got, " / 6.0") {
		t.Fatalf("before: %q", got)
	}
	open, err := net.Dial("unix", sock) // in flight across the reload
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, cfgPath, "[actions]\nadd_header = 5\n[profiles.finance]\nrecipients = [\"@finance.example\"]\nadd_header = 4\n[milter]\nmax_connections = 10\n")
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor("configuration reloaded", 1)
	log := stderr.String()
	for _, want := range []string{"actions.add_header: 6 -> 5", "profiles", "needs_restart=\"[milter.max_connections:", "-> 10]"} {
		if !strings.Contains(log, want) {
			t.Errorf("reload log lacks %q:\n%s", want, log)
		}
	}
	if got := check(open, "ann@finance.example"); !strings.Contains(got, " / 4.0") {
		t.Fatalf("connection opened before the reload, profile finance: %q", got)
	}
	if got := check(nil, "bob@example.org"); !strings.Contains(got, " / 5.0") {
		t.Fatalf("after: %q", got)
	}

	writeFile(t, cfgPath, "[actions]\nadd_header = 20\nreject = 10\n")
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor("configuration not reloaded", 1)
	if !strings.Contains(stderr.String(), "sluice.toml:3: actions.reject") {
		t.Errorf("the refusal does not say why:\n%s", stderr.String())
	}
	if got := check(nil, "bob@example.org"); !strings.Contains(got, " / 5.0") {
		t.Fatalf("after an invalid file: %q", got)
	}
}

// The learner alone survives SIGHUP too: it logs what changed (nothing
// of its own reloads yet) and keeps learning.
func TestLearnerSurvivesSIGHUP(t *testing.T) {
	dir := t.TempDir()
	stderr := startLearner(t, dir)
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "configuration reloaded") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload in the log:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code, out, errs := sluice(t, sample(t), "learn", "--data-dir", dir, "spam"); code != 0 || !strings.Contains(out, "via learner") {
		t.Fatalf("learn after SIGHUP: exit %d: %s / %s", code, out, errs)
	}
}

// listen = "off" in the file turns spamd off as --spamd-listen off does;
// `sluice spamd` alone then has nothing to run.
func TestSpamdListenOffInFile(t *testing.T) {
	dir := t.TempDir()
	cfgPath := writeFile(t, filepath.Join(dir, "sluice.toml"), "[spamd]\nlisten = \"off\"\n")
	code, _, errs := sluice(t, "", "spamd", "--config", cfgPath, "--data-dir", dir)
	if code != 78 || !strings.Contains(errs, "spamd.listen is off") {
		t.Fatalf("spamd with listen off: exit %d: %s", code, errs)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--config", cfgPath, "--data-dir", dir, "--listen", "unix:" + filepath.Join(dir, "m.sock"),
			"--http", "off"}, strings.NewReader(""), io.Discard, &stderr)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "milter listening") {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 || strings.Contains(stderr.String(), "spamd listening") {
			t.Fatalf("serve: exit %d, spamd started:\n%s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
}
