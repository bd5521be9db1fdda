package spamd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicemail/sluice/socket"
)

// TestLearnOverTCPNeedsPassword reproduces issue 14's "anyone can teach
// the filter" on the listener's TCP port: without a password set, TELL
// (spamc -L) and /learnspam are refused, logged and counted, and never
// reach the learner; with one, only requests that carry it learn.
func TestLearnOverTCPNeedsPassword(t *testing.T) {
	tell := func(pw string) string {
		h := "Message-class: spam\r\nSet: local\r\n"
		if pw != "" {
			h = "Password: " + pw + "\r\n" + h
		}
		return spamc("TELL SPAMC/1.3", h, spamMsg)
	}
	refusedTell := "SPAMD/1.0 77 EX_NOPERM "
	refusedHTTP := "HTTP/1.1 403 Forbidden"
	for _, tt := range []struct {
		name     string
		password string // the server's
		req      string
		want     string
		refused  bool
	}{
		{"TELL, no password set", "", tell(""), refusedTell, true},
		{"TELL, no password set, one sent", "", tell("guess"), refusedTell, true},
		{"/learnspam, no password set", "", post("/learnspam", "", spamMsg), refusedHTTP, true},
		{"forget, no password set", "", spamc("TELL SPAMC/1.3", "Remove: local\r\n", spamMsg), refusedTell, true},
		{"TELL, wrong password", "s3cret", tell("s3cre"), refusedTell, true},
		{"/learnham, no password sent", "s3cret", post("/learnham", "", spamMsg), refusedHTTP, true},
		{"TELL with the password", "s3cret", tell("s3cret"), "SPAMD/1.1 0 EX_OK\r\nDidSet: local", false},
		{"/learnspam with the password", "s3cret", post("/learnspam", "Password: s3cret\r\n", spamMsg), "HTTP/1.1 200 OK", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fl := &fakeLearner{}
			srv, addr := startServer(t, Options{Learner: fl, LearnPassword: tt.password})
			got := exchange(t, addr, tt.req)
			if !strings.HasPrefix(got, tt.want) {
				t.Fatalf("reply %q, want %q...", got, tt.want)
			}
			refused := srv.Counters().LearnsRefused
			if tt.refused && (len(fl.calls) != 0 || refused != 1) {
				t.Fatalf("refused learn reached the learner %d times, counted %d times", len(fl.calls), refused)
			}
			if !tt.refused && (len(fl.calls) != 1 || refused != 0) {
				t.Fatalf("authorized learn reached the learner %d times, counted as refused %d times", len(fl.calls), refused)
			}
		})
	}
}

// serveUnix runs a server on a unix socket of the given mode in a
// directory everyone may enter, and returns the socket's path.
func serveUnix(t *testing.T, opts Options, mode os.FileMode) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "spamd-") // short: sun_path is 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "s.sock")
	ln, err := socket.Listen("unix:"+path, socket.Options{Mode: mode})
	if err != nil {
		t.Fatal(err)
	}
	if opts.Scanner == nil {
		opts.Scanner = fakeScanner{}
	}
	srv := New(opts)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return path
}

// tellUnix sends a TELL over the unix socket at path and returns the
// reply, or the error that stopped it.
func tellUnix(path string) string {
	c, err := net.Dial("unix", path)
	if err != nil {
		return "error: " + err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, spamc("TELL SPAMC/1.3", "Message-class: spam\r\nSet: local\r\n", spamMsg)); err != nil {
		return "error: " + err.Error()
	}
	c.(*net.UnixConn).CloseWrite()
	b, err := io.ReadAll(c)
	if err != nil {
		return "error: " + err.Error()
	}
	return string(b)
}

// TestLearnOverUnixSocket: over a unix socket the socket's mode is the
// access control: its owner learns without a password, and a process of
// another uid that may not open the socket cannot TELL (issue 14: a TELL
// from another uid). The other uid is this test binary run as nobody
// (needs root); the same child learns once the mode lets it in, so the
// refusal is the socket's mode and nothing else.
func TestLearnOverUnixSocket(t *testing.T) {
	if path := os.Getenv("SLUICE_TEST_TELL_SOCKET"); path != "" {
		fmt.Print(tellUnix(path)) // the child: report and stop
		return
	}
	fl := &fakeLearner{}
	closed := serveUnix(t, Options{Learner: fl}, 0o660)
	if got := tellUnix(closed); !strings.HasPrefix(got, "SPAMD/1.1 0 EX_OK\r\nDidSet: local") {
		t.Fatalf("the socket's owner, no password: %q", got)
	}
	if os.Geteuid() != 0 {
		t.Skip("running as another uid needs root")
	}
	// The test binary, where nobody may run it.
	dir, err := os.MkdirTemp("", "spamd-uid-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "spamd.test")
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	asNobody := func(path string) string {
		t.Helper()
		cmd := exec.Command(bin, "-test.run=^TestLearnOverUnixSocket$")
		cmd.Env = append(os.Environ(), "SLUICE_TEST_TELL_SOCKET="+path)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child as nobody: %v: %s", err, out)
		}
		return string(out)
	}
	before := len(fl.calls)
	if got := asNobody(closed); !strings.Contains(got, "permission denied") {
		t.Fatalf("another uid on a 0660 root socket: %q, want permission denied", got)
	}
	if len(fl.calls) != before {
		t.Fatalf("another uid's TELL reached the learner")
	}
	open := serveUnix(t, Options{Learner: &fakeLearner{}}, 0o666)
	if got := asNobody(open); !strings.Contains(got, "DidSet: local") {
		t.Fatalf("another uid on a 0666 socket: %q, want learned", got)
	}
}
