package spamd

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicemail/sluice/socket"
)

// 256 idle connections once blocked every scan for 60s: the server took a
// connection slot before accepting and held it while a client sent
// nothing, so the next client waited in the backlog for an idle one's
// request deadline. Now slots are taken after accepting, a full server
// refuses at once, and idle clients hold theirs no longer than the header
// deadline. Here they may hold them for a minute: the scan must not wait.
func TestIdleConnectionsDoNotBlockScans(t *testing.T) {
	_, addr := startServer(t, Options{MaxConns: 300, HeaderTimeout: time.Minute, Timeout: time.Minute})
	for range 256 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	for _, slow := range []string{"CHECK SPAMC/1.5\r\n", "CHECK SPAMC/1.5\r\nContent-length: 100\r\n\r\nFrom:"} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, slow) // a slow client, mid-request
	}
	done := make(chan string, 1)
	go func() { done <- exchange(t, addr, spamc("CHECK SPAMC/1.5", "", spamMsg)) }()
	select {
	case got := <-done:
		if got != okSpam {
			t.Fatalf("scan beside idle connections: %q", got)
		}
	case <-time.After(10 * time.Second): // a generous bound against the 60s it took
		t.Fatal("scan blocked by idle connections")
	}
}

// A client that sends no request line and header in time is answered
// and let go, whatever the request deadline.
func TestHeaderTimeout(t *testing.T) {
	srv, addr := startServer(t, Options{HeaderTimeout: 100 * time.Millisecond, Timeout: time.Hour})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "CHECK SPAMC/1.5\r\nUser: slow")
	c.SetDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil || !strings.Contains(string(b), "EX_TIMEOUT") {
		t.Fatalf("slow header: %q %v", b, err)
	}
	if n := srv.Counters().Timeouts; n != 1 {
		t.Fatalf("timeouts = %d", n)
	}
}

// Past MaxConns a connection is closed at once, not queued.
func TestMaxConnsRefusesAtOnce(t *testing.T) {
	srv, addr := startServer(t, Options{MaxConns: 2, HeaderTimeout: time.Minute})
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "C") // in a request: the server is busy with it
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err == nil || n != 0 {
		t.Fatalf("third connection read %d, %v; want it closed", n, err)
	}
	if got := srv.Counters().Refused; got != 1 {
		t.Fatalf("refused = %d", got)
	}
}

// The listener outlives running out of descriptors: a child process with
// RLIMIT_NOFILE 48 serves while the test holds 100 connections to it
// (its accepts fail with EMFILE meanwhile), then must answer a PING once
// they are closed. Before, spamd retried only timeouts and its Serve
// returned at the first EMFILE, leaving the port dead until a restart.
func TestServesAfterEMFILE(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	child := exec.Command(os.Args[0], "-test.run=^TestEMFILEChild$")
	child.Env = append(os.Environ(), "SLUICE_EMFILE_CHILD=1")
	child.Stderr = os.Stderr
	stdin, _ := child.StdinPipe()
	stdout, _ := child.StdoutPipe()
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	out := bufio.NewReader(stdout)
	addr, err := out.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	addr = strings.TrimSpace(strings.TrimPrefix(addr, "addr "))
	var held []net.Conn
	for range 100 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	// The child is out of descriptors once a connection past its limit
	// gets nothing: ask each for a PING until one goes unanswered.
	c := held[len(held)-1]
	c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	io.WriteString(c, "PING SPAMC/1.5\r\n\r\n")
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("the 100th connection was served: the descriptor limit did not bite")
	}
	for _, c := range held {
		c.Close()
	}
	var got string
	for range 100 { // the child's accept pause is at most 1s
		got = exchange(t, addr, "PING SPAMC/1.5\r\n\r\n")
		if got == "SPAMD/1.5 0 PONG\r\n" {
			break
		}
	}
	if got != "SPAMD/1.5 0 PONG\r\n" {
		t.Fatalf("after EMFILE: %q", got)
	}
	stdin.Close()
	line, err := out.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	var cs Counters
	if err := json.Unmarshal([]byte(line), &cs); err != nil || cs.AcceptRetry == 0 {
		t.Fatalf("child counters %q %v: no accept was retried", line, err)
	}
	child.Wait()
}

// TestEMFILEChild is TestServesAfterEMFILE's child process.
func TestEMFILEChild(t *testing.T) {
	if os.Getenv("SLUICE_EMFILE_CHILD") == "" {
		t.Skip("run by TestServesAfterEMFILE")
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	lim.Cur = 48
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	ln, err := socket.Listen("inet:127.0.0.1:0", socket.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := New(Options{Scanner: fakeScanner{}, MaxConns: 1000, HeaderTimeout: time.Minute})
	go srv.Serve(ln)
	fmt.Printf("addr %s\n", ln.Addr())
	io.Copy(io.Discard, os.Stdin) // until the parent closes it
	srv.Close()
	b, _ := json.Marshal(srv.Counters())
	fmt.Printf("%s\n", b)
}
