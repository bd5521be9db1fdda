package spamd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicemail/sluice/socket"
)

// A message over MaxSize is read to its end and its start scanned; the
// replies that would carry the whole message refuse it.
func TestOversized(t *testing.T) {
	srv, addr := startServer(t, Options{Limits: Limits{MaxSize: 64}})
	big := spamMsg + strings.Repeat("filler line\r\n", 200)
	if got := exchange(t, addr, spamc("CHECK SPAMC/1.5", "", big)); got != okSpam {
		t.Fatalf("check: %q", got)
	}
	if got := exchange(t, addr, spamc("REPORT SPAMC/1.5", "", big)); !strings.HasSuffix(got, "Scanned in part: the message exceeded the server's size limit\n") {
		t.Fatalf("report: %q", got)
	}
	if got, want := exchange(t, addr, spamc("PROCESS SPAMC/1.5", "", big)), "SPAMD/1.0 65 EX_DATAERR message larger than 64 bytes\r\n"; got != want {
		t.Fatalf("process: %q", got)
	}
	if got := exchange(t, addr, post("/checkv2", "", big)); !strings.HasPrefix(got, "HTTP/1.1 413 ") {
		t.Fatalf("checkv2: %q", got)
	}
	if c := srv.Counters(); c.Truncated != 3 {
		t.Errorf("truncated = %d, want 3", c.Truncated)
	}
}

// A client that stops sending mid-request, and a scan that takes too long,
// get EX_TIMEOUT when the request's time is up.
func TestTimeouts(t *testing.T) {
	srv, addr := startServer(t, Options{Timeout: 300 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "CHECK SPAMC/1.5\r\nContent-length: 100\r\n\r\nSubject: x\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if want := "SPAMD/1.0 79 EX_TIMEOUT request not received in time\r\n"; string(got) != want {
		t.Fatalf("stalled client: %q, want %q", got, want)
	}
	if got, want := exchange(t, addr, spamc("CHECK SPAMC/1.5", "", "Subject: slow!\r\n\r\nx\r\n")), "SPAMD/1.0 79 EX_TIMEOUT scan took too long\r\n"; got != want {
		t.Fatalf("slow scan: %q, want %q", got, want)
	}
	if n := srv.Counters().Timeouts; n != 1 {
		t.Errorf("timeouts = %d, want 1 (the stalled read)", n)
	}
}

// A panic ends its connection with EX_SOFTWARE and is counted; the server
// goes on serving.
func TestPanicRecovered(t *testing.T) {
	srv, addr := startServer(t, Options{})
	if got, want := exchange(t, addr, spamc("CHECK SPAMC/1.5", "", "Subject: panic!\r\n\r\n")), "SPAMD/1.0 70 EX_SOFTWARE internal error\r\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got := exchange(t, addr, spamc("CHECK SPAMC/1.5", "", spamMsg)); got != okSpam {
		t.Fatalf("after the panic: %q", got)
	}
	if n := srv.Counters().Panics; n != 1 {
		t.Errorf("panics = %d", n)
	}
}

// Many clients at once, all three protocols, each gets its own answer.
func TestConcurrentClients(t *testing.T) {
	srv, addr := startServer(t, Options{MaxConns: 128, Learner: &fakeLearner{}})
	var wg sync.WaitGroup
	errs := make(chan string, 300)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, want := spamc("CHECK SPAMC/1.5", "", spamMsg), okSpam
			switch i % 3 {
			case 1:
				req, want = eximRspamd(spamMsg), "RSPAMD/1.3 0 EX_OK\r\nMetric: default; False; 8.00 / 15.00 / 15.00\r\nAction: add header\r\nSymbol: BAYES_SPAM(8.00)\r\n"
			case 2:
				req, want = post("/checkv2", "", spamMsg), httpWant("200 OK", "application/json", checkSpamJSON)
			}
			if got := exchange(t, addr, req); got != want {
				errs <- got
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("wrong reply %q", e)
	}
	c := srv.Counters()
	if c.Requests["spamd"] != 34 || c.Requests["rspamc"] != 33 || c.Requests["http"] != 33 || c.Scans != 100 {
		t.Errorf("counters %+v", c)
	}
}

// Shutdown waits for the request in flight; a deadline cuts it short.
func TestShutdown(t *testing.T) {
	ln, err := socket.Listen("inet:127.0.0.1:0", socket.Options{Mode: 0})
	if err != nil {
		t.Fatal(err)
	}
	srv := New(Options{Scanner: fakeScanner{}, Timeout: 30 * time.Second})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, spamc("CHECK SPAMC/1.5", "", "Subject: slow!\r\n\r\n"))
	time.Sleep(50 * time.Millisecond) // let the scan start
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want the deadline's error", err)
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > 5*time.Second {
		t.Errorf("Shutdown took %v", d)
	}
	if err := <-done; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve = %v", err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("still accepting after Shutdown")
	}
	if err := srv.Serve(ln); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Shutdown = %v", err)
	}
}

func TestListenUnix(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "spamd.sock")
	for range 2 { // the second time replaces the stale socket
		ln, err := socket.Listen("unix:"+path, socket.Options{Mode: 0o660})
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil || fi.Mode()&fs.ModePerm != 0o660 {
			t.Fatalf("socket mode %v, %v", fi.Mode(), err)
		}
		srv := New(Options{Scanner: fakeScanner{}})
		go srv.Serve(ln)
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "PING SPAMC/1.5\r\n\r\n")
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if line != "SPAMD/1.5 0 PONG\r\n" {
			t.Fatalf("ping over unix socket: %q", line)
		}
		srv.Close()
		os.WriteFile(path+".x", nil, 0o600) // keep the dir busy
	}
	if _, err := socket.Listen("unix:"+path+".x", socket.Options{Mode: 0}); err == nil {
		t.Error("Listen replaced a regular file")
	}
	for _, bad := range []string{"tcp", "unix:relative", "inet:", "smtp:1.2.3.4:25"} {
		if _, err := socket.Listen(bad, socket.Options{Mode: 0}); err == nil {
			t.Errorf("Listen(%q) succeeded", bad)
		}
	}
}

// handleBytesWithin runs one request through the server's handler without a
// network, with the request's deadline d (for the fuzz target).
func handleBytesWithin(s *Server, in []byte, d time.Duration) []byte {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	reply, _, _ := s.handle(ctx, bufio.NewReaderSize(bytes.NewReader(in), s.opts.Limits.MaxLineLength+2), func() {})
	return reply
}

func TestCountersLogValue(t *testing.T) {
	var b strings.Builder
	log := slog.New(slog.NewTextHandler(&b, nil))
	log.Info("spamd stopped", "counters", Counters{Connections: 3, Scans: 2, Requests: map[string]uint64{"spamd": 2, "http": 1}})
	for _, want := range []string{"counters.connections=3", "counters.scans=2", "counters.requests_http=1", "counters.requests_spamd=2"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("log line lacks %s: %s", want, b.String())
		}
	}
}
