package lifecycle

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// echo answers each line with the same line, busy while it does.
func echo(ctx context.Context, c *Conn) {
	br := bufio.NewReader(c)
	for {
		if !c.ArmRead(time.Now().Add(time.Minute)) {
			return
		}
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		c.SetBusy(true)
		if line == "panic\n" {
			panic("asked to")
		}
		if line == "hold\n" {
			<-ctx.Done() // a request that runs until the server closes
		}
		c.Write([]byte(line))
		c.SetBusy(false)
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func start(t *testing.T, s *Server, ln net.Listener) chan error {
	t.Helper()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() { s.Close() })
	return served
}

func roundTrip(t *testing.T, addr net.Addr, line string) (string, error) {
	t.Helper()
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, line); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

// flaky fails its first n accepts with err, then accepts for real.
type flaky struct {
	net.Listener
	n   atomic.Int32
	err error
}

func (l *flaky) Accept() (net.Conn, error) {
	if l.n.Add(-1) >= 0 {
		return nil, l.err
	}
	return l.Listener.Accept()
}

func TestAcceptRetriesTemporaryErrors(t *testing.T) {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ECONNABORTED, syscall.ENOBUFS} {
		t.Run(e.Error(), func(t *testing.T) {
			ln := &flaky{Listener: listen(t), err: &net.OpError{Op: "accept", Net: "tcp", Err: &syscallErr{e}}}
			ln.n.Store(5)
			s := New(echo, Options{Name: "test", MaxBackoff: time.Millisecond})
			start(t, s, ln)
			if got, err := roundTrip(t, ln.Addr(), "hello\n"); err != nil || got != "hello\n" {
				t.Fatalf("after %v: %q %v", e, got, err)
			}
			if c := s.Counters(); c.AcceptErrors != 5 || c.Accepted != 1 {
				t.Fatalf("counters %+v", c)
			}
		})
	}
}

// syscallErr wraps an errno the way os.SyscallError does.
type syscallErr struct{ err error }

func (e *syscallErr) Error() string { return "accept4: " + e.err.Error() }
func (e *syscallErr) Unwrap() error { return e.err }

func TestAcceptStopsOnPermanentError(t *testing.T) {
	ln := listen(t)
	s := New(echo, Options{Name: "test"})
	served := start(t, s, ln)
	ln.Close() // closed behind the server's back
	if err := <-served; err == nil || errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve = %v, want an accept error", err)
	}
}

func TestCaps(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		why  Refusal
	}{
		{"total", Options{MaxConns: 2}, RefusedFull},
		{"per client", Options{MaxConns: 10, MaxPerClient: 2}, RefusedClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Refuse = func(c net.Conn, why Refusal) { io.WriteString(c, "busy "+why.String()+"\n") }
			ln := listen(t)
			s := New(echo, tc.opts)
			start(t, s, ln)
			var held []net.Conn
			for range 2 {
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				io.WriteString(c, "x\n") // served: the connection is tracked
				if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
					t.Fatal(err)
				}
				held = append(held, c)
			}
			got, _ := roundTrip(t, ln.Addr(), "y\n")
			if want := "busy " + tc.why.String() + "\n"; got != want {
				t.Fatalf("third connection got %q, want %q", got, want)
			}
			c := s.Counters()
			if tc.why == RefusedFull && c.RefusedFull != 1 || tc.why == RefusedClient && c.RefusedClient != 1 {
				t.Fatalf("counters %+v", c)
			}
			held[0].Close()
			// The slot comes back once the server sees the close.
			for {
				if got, err := roundTrip(t, ln.Addr(), "z\n"); err == nil && got == "z\n" {
					break
				}
			}
		})
	}
}

func TestExemptClients(t *testing.T) {
	ln := listen(t)
	s := New(echo, Options{MaxPerClient: 1, Exempt: netip.Addr.IsLoopback})
	start(t, s, ln)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := roundTrip(t, ln.Addr(), "a\n"); err != nil || got != "a\n" {
		t.Fatalf("exempt client refused: %q %v", got, err)
	}
}

func TestPanicEndsOnlyItsConnection(t *testing.T) {
	ln := listen(t)
	s := New(echo, Options{})
	start(t, s, ln)
	if got, err := roundTrip(t, ln.Addr(), "panic\n"); err == nil {
		t.Fatalf("panicking request answered %q", got)
	}
	if got, err := roundTrip(t, ln.Addr(), "still\n"); err != nil || got != "still\n" {
		t.Fatalf("after a panic: %q %v", got, err)
	}
	if c := s.Counters(); c.Panics != 1 {
		t.Fatalf("counters %+v", c)
	}
}

// dial connects to ln; the connection is closed when the test ends.
func dial(t *testing.T, ln net.Listener) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// holdRequest opens a connection whose request runs until s closes, and
// waits until s serves active connections, that one busy.
func holdRequest(t *testing.T, s *Server, ln net.Listener, active int) {
	t.Helper()
	io.WriteString(dial(t, ln), "hold\n")
	waitBusy(s, active)
}

// waitBusy waits until s tracks active connections and one of them is
// busy.
func waitBusy(s *Server, active int) {
	for s.Counters().Active < active {
		time.Sleep(time.Millisecond)
	}
	for {
		var b bool
		s.mu.Lock()
		for c := range s.conns {
			c.mu.Lock()
			b = b || c.busy
			c.mu.Unlock()
		}
		s.mu.Unlock()
		if b {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func TestShutdown(t *testing.T) {
	ln := listen(t)
	s := New(echo, Options{})
	served := start(t, s, ln)
	idle := dial(t, ln)
	holdRequest(t, s, ln, 2)
	ctx, cancel := context.WithCancel(context.Background())
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(ctx) }()
	// The idle connection is ended at once; the busy one is not.
	idle.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection during drain: %v", err)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve = %v", err)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	default:
	}
	cancel() // the deadline: the busy one is cut
	if err := <-shut; !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown = %v", err)
	}
	if s.Counters().Active != 0 {
		t.Fatal("connections left after Shutdown")
	}
	if err := s.Serve(listen(t)); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Shutdown = %v", err)
	}
}

func TestWatch(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		name string
		sent error
		want string
	}{
		{"error", errors.New("boom"), "spamd stopped: boom"},
		{"nil", nil, "spamd stopped on its own"},
		{"closed", ErrServerClosed, "spamd stopped on its own"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			milter, spamd := make(chan error, 1), make(chan error, 1)
			spamd <- tc.sent
			err := Watch(context.Background(), log, Watched{"milter", milter}, Watched{"learner", nil}, Watched{"spamd", spamd})
			if err == nil || err.Error() != tc.want {
				t.Fatalf("Watch = %v, want %q", err, tc.want)
			}
			if got := <-spamd; got != tc.sent {
				t.Fatalf("value not put back: %v", got)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Watch(ctx, log, Watched{"milter", make(chan error, 1)}); err != nil {
		t.Fatalf("Watch after ctx = %v", err)
	}
}
