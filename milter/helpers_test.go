package milter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-milter"

	"github.com/sluicemail/sluice/bayes"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/scan"
	"github.com/sluicemail/sluice/socket"
	"github.com/sluicemail/sluice/tokenizer"
)

var (
	spamWords = strings.Fields("viagra casino winner prize claim cash offer free pills cheap loan bonus guaranteed click unsubscribe million")
	hamWords  = strings.Fields("meeting agenda kernel patch review thursday lunch project deadline minutes draft build release branch merge")
)

// message is a deterministic message of words from pool: header lines and
// a body of about size bytes (at least 40 words).
type message struct {
	header [][2]string
	body   string
}

func newMessage(i int, subject string, pool []string, size int) message {
	h := [][2]string{
		{"From", fmt.Sprintf("sender%d@example.org", i)},
		{"To", "rcpt@example.org"},
		{"Subject", fmt.Sprintf("%s %d", subject, i)},
		{"Message-ID", fmt.Sprintf("<%d.%s@example.org>", i, subject)},
	}
	var b strings.Builder
	for j := 0; j < 40 || b.Len() < size; j++ {
		b.WriteString(pool[(i*7+j*3)%len(pool)])
		if j%12 == 11 {
			b.WriteString("\r\n")
		} else {
			b.WriteByte(' ')
		}
	}
	fmt.Fprintf(&b, "\r\nref %d\r\n", i)
	return message{header: h, body: b.String()}
}

func (m message) String() string {
	var b strings.Builder
	for _, f := range m.header {
		b.WriteString(f[0] + ": " + f[1] + "\r\n")
	}
	return b.String() + "\r\n" + m.body
}

var (
	statOnce sync.Once
	statPath string
	statErr  error
)

func storeParams() mmapstore.Params {
	p := tokenizer.New(tokenizer.Options{}).Params()
	return mmapstore.Params{Hash: p.Hash, Seed: p.Seed, Window: p.Window, Version: p.Version}
}

// learnStatfile writes a statfile at path that knows the spam and ham pools.
func learnStatfile(path string, n int) error {
	w, err := mmapstore.OpenWriter(path, &mmapstore.Options{Params: storeParams(), NoSync: true})
	if err != nil {
		return err
	}
	l := learn.New(w, learn.Options{UsersEnabled: true})
	for i := 0; i < n; i++ {
		for _, c := range []struct {
			pool  []string
			class learn.Label
		}{{spamWords, learn.Spam}, {hamWords, learn.Ham}} {
			if _, err := l.Learn(strings.NewReader(newMessage(i, "learn", c.pool, 0).String()), c.class, ""); err != nil {
				w.Close()
				return err
			}
		}
	}
	return w.Close()
}

// testScanner is a scanner over a statfile learned once per test binary.
func testScanner(t testing.TB, th scan.Thresholds) *scan.Scanner {
	t.Helper()
	return testScannerWith(t, scan.Options{Actions: th})
}

// testScannerWith is testScanner with more options (Bayes: the defaults).
func testScannerWith(t testing.TB, opts scan.Options) *scan.Scanner {
	t.Helper()
	statOnce.Do(func() {
		dir, err := tempDir()
		if err != nil {
			statErr = err
			return
		}
		statPath = filepath.Join(dir, "bayes.statfile")
		statErr = learnStatfile(statPath, 30)
	})
	if statErr != nil {
		t.Fatal(statErr)
	}
	st := mmapstore.Follow(statPath, storeParams(), mmapstore.FollowOptions{})
	t.Cleanup(func() { st.Close() })
	opts.Bayes = defaultBayes()
	return scan.New(st, opts)
}

func defaultBayes() bayes.Config { return bayes.DefaultConfig() }

var defaultThresholds = scan.Thresholds{AddHeader: 0.5, Reject: 40}

// harness is a running server on loopback.
type harness struct {
	srv    *Server
	addr   string
	served chan error
}

func start(t testing.TB, opts Options) *harness {
	t.Helper()
	if opts.Scanner == nil {
		opts.Scanner = testScanner(t, defaultThresholds)
	}
	ln, err := socket.Listen("inet:127.0.0.1:0", socket.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{srv: New(opts), addr: ln.Addr().String(), served: make(chan error, 1)}
	go func() { h.served <- h.srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.srv.Shutdown(ctx)
		if err := <-h.served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return h
}

func (h *harness) session(t testing.TB) *milter.ClientSession {
	t.Helper()
	c := milter.NewClientWithOptions("tcp", h.addr, milter.ClientOptions{
		Dialer:       &net.Dialer{Timeout: 5 * time.Second},
		ReadTimeout:  10 * time.Second,
		WriteTimeout: 10 * time.Second,
		ActionMask:   milter.OptAddHeader | milter.OptChangeHeader | milter.OptQuarantine,
	})
	s, err := c.Session()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// envelope says how a message arrives.
type envelope struct {
	client netip.Addr
	auth   string
	rcpt   string
	qid    string
}

// send runs one message through an open session and returns the header
// edits and the final action (or the action that ended it early).
func send(s *milter.ClientSession, env envelope, m message) ([]milter.ModifyAction, *milter.Action, error) {
	if env.auth != "" {
		if err := s.Macros(milter.CodeMail, "{auth_authen}", env.auth); err != nil {
			return nil, nil, err
		}
	}
	act, err := s.Mail("<sender@example.org>", nil)
	if err != nil || act.Code != milter.ActContinue {
		return nil, act, err
	}
	rcpt := env.rcpt
	if rcpt == "" {
		rcpt = "rcpt@example.org"
	}
	if act, err := s.Rcpt("<"+rcpt+">", nil); err != nil || act.Code != milter.ActContinue {
		return nil, act, err
	}
	return sendHeaderBody(s, m, env.qid)
}

// sendHeaderBody sends a message's header and body after the envelope,
// with the queue id macro (when not "") before the body, as Postfix does.
func sendHeaderBody(s *milter.ClientSession, m message, qid string) ([]milter.ModifyAction, *milter.Action, error) {
	var hdr textproto.Header
	for i := len(m.header) - 1; i >= 0; i-- {
		hdr.Add(m.header[i][0], m.header[i][1])
	}
	if act, err := s.Header(hdr); err != nil || act.Code != milter.ActContinue {
		return nil, act, err
	}
	if qid != "" {
		if err := s.Macros(milter.CodeEOB, "i", qid); err != nil {
			return nil, nil, err
		}
	}
	return s.BodyReadFrom(strings.NewReader(m.body))
}

// sendOne opens a session, sends one message and closes.
func (h *harness) sendOne(t testing.TB, env envelope, m message) ([]milter.ModifyAction, *milter.Action) {
	t.Helper()
	s := h.session(t)
	defer s.Close()
	client := env.client
	if !client.IsValid() {
		client = netip.MustParseAddr("192.0.2.7")
	}
	if act, err := s.Conn("client.example", milter.FamilyInet, 4321, client.String()); err != nil || act.Code != milter.ActContinue {
		t.Fatalf("conn: %v %v", act, err)
	}
	mods, act, err := send(s, env, m)
	if err != nil {
		t.Fatal(err)
	}
	return mods, act
}

// headersOf maps added headers by name.
func headersOf(mods []milter.ModifyAction) map[string]string {
	out := map[string]string{}
	for _, m := range mods {
		if m.Code == milter.ActAddHeader {
			out[m.HeaderName] = m.HeaderValue
		}
	}
	return out
}

// fakeScanner fails or panics on demand.
type fakeScanner struct {
	err   error
	panic bool
}

func (f fakeScanner) Scan(context.Context, io.Reader, scan.Request) (*scan.Verdict, error) {
	if f.panic {
		panic("scanner exploded")
	}
	return nil, f.err
}
