package spamd

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sluicemail/sluice/learner"
	"github.com/sluicemail/sluice/scan"
	"github.com/sluicemail/sluice/socket"
	"github.com/sluicemail/sluice/tokenizer"
)

// fakeScanner gives fixed verdicts by the message's content: "viagra"
// scores 8 (BAYES_SPAM), "reject-me" 16, anything else -4 (BAYES_HAM);
// "nomail" is not a message, "panic!" panics, "slow!" waits for the
// deadline.
type fakeScanner struct{}

func (fakeScanner) Scan(ctx context.Context, r io.Reader, req scan.Request) (*scan.Verdict, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	th := testThresholds
	v := &scan.Verdict{Required: th.AddHeader, Thresholds: th, Namespace: req.User}
	switch {
	case bytes.Contains(b, []byte("nomail")):
		return nil, tokenizer.ErrNotMessage
	case bytes.Contains(b, []byte("panic!")):
		panic("fake scanner panics")
	case bytes.Contains(b, []byte("slow!")):
		<-ctx.Done()
		return nil, ctx.Err()
	case bytes.Contains(b, []byte("reject-me")):
		v.Symbols = []scan.Symbol{{Name: "BAYES_SPAM", Score: 8, Detail: "100.00%"}, {Name: "RULE_X", Score: 8}}
	case bytes.Contains(b, []byte("viagra")):
		v.Symbols = []scan.Symbol{{Name: "BAYES_SPAM", Score: 8, Detail: "99.99%"}}
	default:
		v.Symbols = []scan.Symbol{{Name: "BAYES_HAM", Score: -4, Detail: "0.01%"}}
	}
	for _, s := range v.Symbols {
		v.Score += s.Score
	}
	v.Action = th.Decide(v.Score)
	return v, nil
}

var testThresholds = scan.Thresholds{AddHeader: 6, Reject: 15}

// fakeLearner remembers what it learned: the same message and class again
// is already learned, the other class relearns, forget forgets; "busy" is
// ErrBusy, "nomail" not a message.
type fakeLearner struct {
	mu      sync.Mutex
	learned map[string]learner.Label
	calls   []string
}

func (f *fakeLearner) Learn(_ context.Context, req *learner.Request) (learner.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	msg := req.Message
	f.calls = append(f.calls, req.User)
	switch {
	case bytes.Contains(msg, []byte("busy")):
		return learner.Result{}, errors.Join(ErrBusy, errors.New("locked"))
	case bytes.Contains(msg, []byte("nomail")):
		return learner.Result{}, learner.ErrNotMessage
	}
	if f.learned == nil {
		f.learned = map[string]learner.Label{}
	}
	prev, ok := f.learned[string(msg)]
	out := learner.Relearned
	switch {
	case req.Label == learner.Forget && !ok:
		out = learner.NotLearned
	case req.Label == learner.Forget:
		delete(f.learned, string(msg))
		out = learner.Forgotten
	case !ok:
		f.learned[string(msg)] = req.Label
		out = learner.Learned
	case prev == req.Label:
		out = learner.AlreadyLearned
	default:
		f.learned[string(msg)] = req.Label
	}
	return learner.Result{Via: learner.ViaLearner, Outcome: out}, nil
}

// startServer serves on a loopback port until the test ends.
func startServer(t testing.TB, opts Options) (*Server, string) {
	t.Helper()
	if opts.Scanner == nil {
		opts.Scanner = fakeScanner{}
	}
	ln, err := socket.Listen("inet:127.0.0.1:0", socket.Options{Mode: 0})
	if err != nil {
		t.Fatal(err)
	}
	srv := New(opts)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return srv, ln.Addr().String()
}

// exchange sends req, half-closes (as spamc and Exim do) and reads the
// reply to EOF.
func exchange(t testing.TB, addr, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// spamc builds a spamd request with a Content-length header.
func spamc(line, headers, msg string) string {
	return line + "\r\n" + headers + "Content-length: " + itoa(len(msg)) + "\r\n\r\n" + msg
}

func itoa(n int) string { return strconv.Itoa(n) }

const (
	spamMsg = "From: a@example.org\r\nSubject: cheap viagra\r\n\r\nBuy viagra now\r\n"
	hamMsg  = "From: b@example.org\r\nSubject: lunch\r\nX-Spam-Flag: YES\r\n\tforged\r\n\r\nSee you at noon\r\n"
)
