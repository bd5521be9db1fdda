package learner

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/mmapstore"
)

func TestHTTPEndpoints(t *testing.T) {
	d := startDaemon(t, Options{MaxMessage: 4096}, false)
	h := NewHTTPHandler(d.Daemon, HTTPOptions{Gatherer: d.reg, Password: "pw"})
	post := func(path string, body []byte, hdr ...string) (int, string) {
		t.Helper()
		r := httptest.NewRequest("POST", path, bytes.NewReader(body))
		r.Header.Set("Password", "pw")
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	tests := []struct {
		name, path string
		body       []byte
		hdr        []string
		code       int
		sub        string
	}{
		{"learn spam", "/learnspam", spam(1), nil, 200, `{"success":true}`},
		{"again: 208", "/learnspam", spam(1), nil, 208, "already learned as spam"},
		{"relearn as ham", "/learnham", spam(1), nil, 200, `{"success":true}`},
		{"per user", "/learnspam", spam(2), []string{"Deliver-To", "bob@example.org"}, 200, "success"},
		{"not a message", "/learnham", []byte("hello"), nil, 400, "not a mail message"},
		{"too large", "/learnham", bytes.Repeat([]byte("x"), 5000), nil, 413, "larger than"},
		{"unknown endpoint", "/learnfoo", spam(3), nil, 404, ""},
	}
	for _, tt := range tests {
		code, body := post(tt.path, tt.body, tt.hdr...)
		if code != tt.code || !strings.Contains(body, tt.sub) {
			t.Errorf("%s: %d %q, want %d %q", tt.name, code, body, tt.code, tt.sub)
		}
	}
	if tot := d.totals(t, mmapstore.Shared); tot.Spam != 1 || tot.Ham != 1 {
		t.Fatalf("totals %+v", tot)
	}
	// GET on a learn endpoint is not allowed; /ping and /metrics answer.
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/learnspam", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET /learnspam: %d", w.Code)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	m, _ := io.ReadAll(w.Body)
	for _, want := range []string{
		`sluice_learner_learns_total{class="spam",outcome="already_learned",source="http"} 1`,
		`sluice_learner_learns_total{class="ham",outcome="relearned",source="http"} 1`,
		`sluice_learner_learns_total{class="ham",outcome="not_message",source="http"} 1`,
	} {
		if !strings.Contains(string(m), want) {
			t.Errorf("/metrics lacks %s:\n%s", want, m)
		}
	}
}

// TestHTTPLearnNeedsPassword: with no password set, learning over HTTP is
// off: every learn is refused (403), counted and logged, and nothing is
// learned; /ping still answers.
func TestHTTPLearnNeedsPassword(t *testing.T) {
	d := startDaemon(t, Options{}, false)
	h := NewHTTPHandler(d.Daemon, HTTPOptions{})
	for i, path := range []string{"/learnspam", "/learnham", "/learnspam"} {
		r := httptest.NewRequest("POST", path, bytes.NewReader(spam(i)))
		r.Header.Set("Password", "")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "learner.password") {
			t.Errorf("%s without a password set: %d %q, want 403", path, w.Code, w.Body)
		}
	}
	if tot := d.totals(t, mmapstore.Shared); tot != (mmapstore.Totals{}) {
		t.Fatalf("totals %+v: refused learns were learned", tot)
	}
	if got := d.counter(t, "sluice_learner_refused_total", map[string]string{"listener": "http", "reason": "no_password"}); got != 3 {
		t.Fatalf("refused learns counted %v times, want 3", got)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/ping", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("/ping: %d", w.Code)
	}
}

func TestHTTPPassword(t *testing.T) {
	d := startDaemon(t, Options{}, false)
	h := NewHTTPHandler(d.Daemon, HTTPOptions{Password: "s3cret"})
	for _, tt := range []struct {
		pw   string
		code int
	}{{"", 403}, {"wrong", 403}, {"s3cret ", 403}, {"s3cre", 403}, {"s3cret", 200}} {
		r := httptest.NewRequest("POST", "/learnspam", bytes.NewReader(spam(1)))
		if tt.pw != "" {
			r.Header.Set("Password", tt.pw)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.code {
			t.Errorf("password %q: %d, want %d", tt.pw, w.Code, tt.code)
		}
	}
	if tot := d.totals(t, mmapstore.Shared); tot.Spam != 1 {
		t.Fatalf("totals %+v: refused requests were learned", tot)
	}
	if got := d.counter(t, "sluice_learner_refused_total", map[string]string{"reason": "wrong_password"}); got != 4 {
		t.Fatalf("refused learns counted %v times, want 4", got)
	}
}

// blockingBody says when the handler first reads it, then blocks until
// released.
type blockingBody struct {
	started, release chan struct{}
	once             bool
}

func (b *blockingBody) Read(p []byte) (int, error) {
	if !b.once {
		b.once = true
		close(b.started)
	}
	<-b.release
	return 0, io.EOF
}

// TestHTTPBusy: the HTTP endpoints read and serve at most MaxLearns
// learns at once; one more is answered 503 before its body is read, and
// counted.
func TestHTTPBusy(t *testing.T) {
	d := startDaemon(t, Options{}, false)
	h := NewHTTPHandler(d.Daemon, HTTPOptions{Password: "pw", MaxLearns: 1})
	post := func(body io.Reader) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/learnspam", body)
		r.Header.Set("Password", "pw")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	slow := &blockingBody{started: make(chan struct{}), release: make(chan struct{})}
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- post(slow) }()
	<-slow.started // the first learn holds the only slot
	unread := &blockingBody{started: make(chan struct{}), release: make(chan struct{})}
	if w := post(unread); w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "busy") {
		t.Fatalf("a learn past MaxLearns: %d %q, want 503 busy", w.Code, w.Body)
	}
	if unread.once {
		t.Fatal("the refused learn's body was read")
	}
	close(slow.release)
	if w := <-done; w.Code != http.StatusBadRequest { // an empty body is not a message
		t.Fatalf("the first learn: %d %q", w.Code, w.Body)
	}
	if got := d.counter(t, "sluice_learner_busy_total", map[string]string{"listener": "http"}); got != 1 {
		t.Fatalf("busy counted %v times, want 1", got)
	}
	if w := post(bytes.NewReader(spam(1))); w.Code != http.StatusOK {
		t.Fatalf("a learn once the slot is free: %d %q", w.Code, w.Body)
	}
}
