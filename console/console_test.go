package console

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicemail/sluice/activity"
	"github.com/sluicemail/sluice/buildinfo"
	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/learner"
	"github.com/sluicemail/sluice/learnstack"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/scan"
	"github.com/sluicemail/sluice/scanstack"
)

// clock is a time the test moves.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// env is a console over a real learner (its daemon running on a statfile
// in a temporary data directory) and a real scanner.
type env struct {
	t     testing.TB
	cfg   config.Config
	c     *Console
	act   *activity.Log
	clock *clock
	live  *scanstack.Live
	svc   *learner.Service
}

// newEnv starts a learner on cfg (edited by edit) and a console over it.
func newEnv(t testing.TB, edit func(*config.Config)) *env {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Statfile.InitialSlots = 1 << 12
	cfg.Learner.HTTPListen = ""
	if edit != nil {
		edit(&cfg)
	}
	opts, err := learnstack.ServiceOptions(cfg, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	opts.Writer.NoSync = true
	svc, err := learner.OpenService(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	stack := scanstack.New(cfg, slogDiscard())
	t.Cleanup(func() {
		stack.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("learner: %v", err)
		}
	})
	clk := &clock{now: time.Date(2026, 12, 5, 10, 30, 0, 0, time.UTC)}
	act := activity.New(activity.Options{Clock: clk.Now})
	c := New(Options{Config: cfg, Learner: svc.Daemon(), Scanner: stack.Live, Activity: act, Clock: clk.Now,
		Version: buildinfo.Info{Version: "1.2.3-test", GoVersion: "go-test"},
		Services: []Service{{Name: "milter", Listen: "inet:127.0.0.1:7357", Counters: func() any {
			return map[string]any{"scanned": 12345678, "actions": map[string]int{"reject": 2}}
		}}}})
	return &env{t: t, cfg: cfg, c: c, act: act, clock: clk, live: stack.Live, svc: svc}
}

// get requests path from loopback, naming the host by IP.
func (e *env) get(path string) *httptest.ResponseRecorder {
	e.t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	r.RemoteAddr, r.Host = "127.0.0.1:40000", "127.0.0.1:11334"
	w := httptest.NewRecorder()
	e.c.ServeHTTP(w, r)
	return w
}

// post sends a multipart form from loopback.
func (e *env) post(path string, fields map[string]string, file []byte) *httptest.ResponseRecorder {
	e.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if file != nil {
		fw, _ := mw.CreateFormFile("file", "message.eml")
		fw.Write(file)
	}
	mw.Close()
	r := httptest.NewRequest("POST", path, &b)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	r.RemoteAddr, r.Host = "127.0.0.1:40000", "127.0.0.1:11334"
	w := httptest.NewRecorder()
	e.c.ServeHTTP(w, r)
	return w
}

// token is the CSRF token of the scan page's forms.
func (e *env) token() string {
	e.t.Helper()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(e.get("/scan").Body.String())
	if m == nil {
		e.t.Fatal("the scan page has no CSRF token")
	}
	return m[1]
}

func (e *env) totals() mmapstore.Totals {
	e.t.Helper()
	info, err := mmapstore.Stat(e.cfg.StatfilePath())
	if err != nil {
		e.t.Fatal(err)
	}
	return info.Shared
}

func message(id int, words string) string {
	return fmt.Sprintf("From: a%d@example.org\r\nTo: b@example.net\r\nSubject: test %d\r\nMessage-ID: <%d@example.org>\r\n\r\n%s\r\n", id, id, id, words)
}

const spamWords = "viagra casino winner prize claim cash offer free pills cheap loan bonus guaranteed click"

func TestEveryPageRenders(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct {
		path, want string
	}{
		{"/", `id="tokens">0<`},
		{"/", "not configured"},
		{"/", "1.2.3-test"},
		{"/", "scanned=12345678"},
		{"/", "actions.reject=2"},
		{"/throughput", "Scans per minute by action"},
		{"/history", "No scan records yet"},
		{"/accuracy", "false positive"},
		{"/accuracy/2026-12-05", "No corrections that day"},
		{"/scan", `action="/learn"`},
		{"/scan", `action="/scan"`},
		{"/config", "[learner]"},
		{"/static/console.js", "DOMContentLoaded"},
		{"/static/console.css", "font"},
	} {
		w := e.get(tc.path)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("GET %s: %d, want 200 with %q:\n%s", tc.path, w.Code, tc.want, w.Body)
		}
	}
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Learner.Password = "pw" })
	reqs := []*http.Request{
		httptest.NewRequest("GET", "/", nil),             // 401: off loopback
		httptest.NewRequest("GET", "/history/99", nil),   // 404
		httptest.NewRequest("GET", "/no-such-page", nil), // 404 of the mux
		httptest.NewRequest("POST", "/learn", nil),       // 403/415
		httptest.NewRequest("GET", "/static/console.css", nil),
		httptest.NewRequest("GET", "/", nil),
	}
	for i, r := range reqs {
		if i > 0 {
			r.RemoteAddr, r.Host = "127.0.0.1:1", "127.0.0.1"
		}
		w := httptest.NewRecorder()
		e.c.ServeHTTP(w, r)
		h := w.Result().Header
		if got := h.Get("Content-Security-Policy"); got != CSP {
			t.Errorf("%s %s (%d): CSP %q", r.Method, r.URL, w.Code, got)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s %s (%d): headers %v", r.Method, r.URL, w.Code, h)
		}
	}
	// The pages use no inline script or style, which the CSP would block.
	for _, path := range []string{"/", "/throughput", "/history", "/accuracy", "/scan", "/config"} {
		body := e.get(path).Body.String()
		for _, bad := range []string{"<script>", "style=", "<style", "onclick", "onload", "onchange", "javascript:"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s holds %q, which the CSP blocks", path, bad)
			}
		}
	}
}

func TestAccess(t *testing.T) {
	for _, tc := range []struct {
		name     string
		password string
		remote   string
		host     string
		header   [2]string
		auth     string // basic auth password, "" none
		want     int
	}{
		{"loopback by IP", "", "127.0.0.1:5000", "127.0.0.1:11334", [2]string{}, "", 200},
		{"loopback IPv6", "", "[::1]:5000", "[::1]:11334", [2]string{}, "", 200},
		{"loopback IPv6, no port", "", "[::1]:5000", "[::1]", [2]string{}, "", 200},
		{"loopback, no port", "", "127.0.0.1:5000", "127.0.0.1", [2]string{}, "", 200},
		{"IPv4-mapped loopback", "", "[::ffff:127.0.0.1]:5000", "127.0.0.1:11334", [2]string{}, "", 200},
		{"loopback, no Host, no password set", "", "127.0.0.1:5000", "", [2]string{}, "", 403},
		{"loopback by localhost", "", "127.0.0.1:5000", "localhost:11334", [2]string{}, "", 200},
		{"loopback naming another host (DNS rebinding)", "pw", "127.0.0.1:5000", "evil.example:11334", [2]string{}, "", 401},
		{"loopback naming another host, password", "pw", "127.0.0.1:5000", "mail.example:11334", [2]string{}, "pw", 200},
		{"through a proxy", "pw", "127.0.0.1:5000", "127.0.0.1:11334", [2]string{"X-Forwarded-For", "203.0.113.9"}, "", 401},
		{"remote without password", "pw", "192.0.2.7:5000", "192.0.2.2:11334", [2]string{}, "", 401},
		{"remote with a wrong password", "pw", "192.0.2.7:5000", "192.0.2.2:11334", [2]string{}, "nope", 401},
		{"remote with the password", "pw", "192.0.2.7:5000", "192.0.2.2:11334", [2]string{}, "pw", 200},
		{"remote, no password configured", "", "192.0.2.7:5000", "192.0.2.2:11334", [2]string{}, "", 403},
		{"remote, no password configured, one sent", "", "192.0.2.7:5000", "192.0.2.2:11334", [2]string{}, "x", 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *config.Config) { c.Learner.Password = tc.password })
			for _, path := range []string{"/", "/config", "/static/console.css"} {
				r := httptest.NewRequest("GET", path, nil)
				r.RemoteAddr, r.Host = tc.remote, tc.host
				if tc.header[0] != "" {
					r.Header.Set(tc.header[0], tc.header[1])
				}
				if tc.auth != "" {
					r.SetBasicAuth("admin", tc.auth)
				}
				w := httptest.NewRecorder()
				e.c.ServeHTTP(w, r)
				if w.Code != tc.want {
					t.Errorf("GET %s: %d, want %d\n%s", path, w.Code, tc.want, w.Body)
				}
				if tc.want == 401 && !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Basic ") {
					t.Errorf("GET %s: 401 without a Basic challenge", path)
				}
			}
		})
	}
}

func TestLearnFormNeedsCSRFToken(t *testing.T) {
	e := newEnv(t, nil)
	msg := message(1, spamWords)
	tok := e.token()
	for _, tc := range []struct {
		name  string
		token string
		age   time.Duration
	}{
		{"no token", "", 0},
		{"a forged token", strings.Repeat("A", 32), 0},
		{"a token altered", tok[:len(tok)-2] + "AA", 0},
		{"an expired token", tok, csrfLifetime + time.Minute},
	} {
		e.clock.Add(tc.age)
		w := e.post("/learn", map[string]string{"csrf": tc.token, "label": "spam", "message": msg}, nil)
		if w.Code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403\n%s", tc.name, w.Code, w.Body)
		}
		if tot := e.totals(); tot.Spam != 0 {
			t.Fatalf("%s: learned anyway: %+v", tc.name, tot)
		}
	}
	tok = e.token() // a fresh one, at the clock's time
	w := e.post("/learn", map[string]string{"csrf": tok, "label": "spam", "message": msg}, nil)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `id="outcome">learned<`) {
		t.Fatalf("with the token: %d\n%s", w.Code, w.Body)
	}
	if tot := e.totals(); tot.Spam != 1 {
		t.Fatalf("after a learn from the console: %+v, want spam 1", tot)
	}
	if !strings.Contains(e.get("/").Body.String(), `id="spam-learned">1<`) {
		t.Error("the status page does not show the learn")
	}
	// The same message again: the learn cache says so.
	w = e.post("/learn", map[string]string{"csrf": tok, "label": "spam", "message": msg}, nil)
	if !strings.Contains(w.Body.String(), "already learned") {
		t.Errorf("a second learn: %d\n%s", w.Code, w.Body)
	}
	// A cross-site POST with a valid token is refused by its headers.
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("csrf", tok)
	mw.WriteField("label", "ham")
	mw.WriteField("message", message(2, "hello"))
	mw.Close()
	r := httptest.NewRequest("POST", "/learn", &b)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	r.Header.Set("Origin", "https://evil.example")
	r.RemoteAddr, r.Host = "127.0.0.1:1", "127.0.0.1:11334"
	rw := httptest.NewRecorder()
	e.c.ServeHTTP(rw, r)
	if rw.Code != http.StatusForbidden {
		t.Errorf("cross-site POST: %d, want 403", rw.Code)
	}
	// The scan form checks its token too.
	if w := e.post("/scan", map[string]string{"message": msg}, nil); w.Code != http.StatusForbidden {
		t.Errorf("scan without a token: %d, want 403", w.Code)
	}
}

func TestScanFormExplains(t *testing.T) {
	e := newEnv(t, nil)
	msg := message(3, spamWords)
	for i := range 5 {
		if w := e.post("/learn", map[string]string{"csrf": e.token(), "label": "spam", "message": message(100+i, spamWords)}, nil); w.Code != 200 {
			t.Fatalf("learn: %d %s", w.Code, w.Body)
		}
	}
	w := e.post("/scan", map[string]string{"csrf": e.token()}, []byte(msg)) // an upload
	if w.Code != http.StatusOK {
		t.Fatalf("scan: %d\n%s", w.Code, w.Body)
	}
	v, err := e.live.Scan(context.Background(), strings.NewReader(msg), scan.Request{Explain: true})
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	v.WriteText(&want, "message", true)
	body := w.Body.String()
	if !strings.Contains(body, `<td id="action">`+v.Action.String()+`</td>`) {
		t.Errorf("the result lacks the action %q:\n%s", v.Action, body)
	}
	if !strings.Contains(body, templateEscape(want.String())) {
		t.Errorf("the result lacks --explain's output\n%s\nin\n%s", want.String(), body)
	}
	if w := e.post("/scan", map[string]string{"csrf": e.token(), "message": "\x00\x01 not mail"}, nil); w.Code != http.StatusBadRequest {
		t.Errorf("scanning what is not a message: %d, want 400", w.Code)
	}
}

// templateEscape escapes s as html/template escapes text.
func templateEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "+", "&#43;")
	return r.Replace(s)
}

func TestUploadIsBounded(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Learner.MaxMessageSize = 4 << 10 })
	big := message(4, strings.Repeat("word ", 1000)) // 5 KB
	small := message(5, spamWords)
	for _, tc := range []struct {
		name   string
		fields map[string]string
		file   []byte
		want   int
	}{
		{"pasted, too large", map[string]string{"label": "spam", "message": big}, nil, 413},
		{"uploaded, too large", map[string]string{"label": "spam"}, []byte(big), 413},
		{"within the bound", map[string]string{"label": "spam", "message": small}, nil, 200},
	} {
		tc.fields["csrf"] = e.token()
		if w := e.post("/learn", tc.fields, tc.file); w.Code != tc.want {
			t.Errorf("%s: %d, want %d\n%s", tc.name, w.Code, tc.want, w.Body)
		}
	}
	// A body that claims more than the bound is refused before it is read.
	r := httptest.NewRequest("POST", "/learn", io.LimitReader(neverEnds{}, 1<<30))
	r.ContentLength = 1 << 30
	r.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	r.RemoteAddr, r.Host = "127.0.0.1:1", "127.0.0.1"
	w := httptest.NewRecorder()
	e.c.ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("a 1 GiB claim: %d, want 413", w.Code)
	}
	// One that lies about its length is cut at the bound.
	r = httptest.NewRequest("POST", "/learn", io.LimitReader(neverEnds{}, 1<<30))
	r.ContentLength = -1
	r.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	r.RemoteAddr, r.Host = "127.0.0.1:1", "127.0.0.1"
	w = httptest.NewRecorder()
	e.c.ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge && w.Code != http.StatusBadRequest {
		t.Errorf("an endless body: %d, want 413 or 400", w.Code)
	}
}

// neverEnds is an endless body of 'a'.
type neverEnds struct{}

func (neverEnds) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

func TestConfigPageHidesSecrets(t *testing.T) {
	e := newEnv(t, func(c *config.Config) {
		c.Learner.Password = "hunter2-learner"
		c.Spamd.Password = "hunter2-spamd"
		c.Classifier.MinTokens = 7
	})
	body := e.get("/config").Body.String()
	if strings.Contains(body, "hunter2") {
		t.Fatalf("the config page shows a password:\n%s", body)
	}
	for _, want := range []string{
		"password = &#39;(set)&#39;",
		"learner.password:  -&gt; (set)",
		"spamd.password:  -&gt; (set)",
		"classifier.min_tokens: ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the config page lacks %q:\n%s", want, body)
		}
	}
	// The configuration the console was given is not changed.
	if e.c.opts.Config.Learner.Password != "hunter2-learner" {
		t.Error("redaction changed the running configuration")
	}
}

func TestSecretKey(t *testing.T) {
	for key, want := range map[string]bool{
		"password": true, "learner_password": true, "auth_token": true, "token": true, "api_key": true,
		"credentials": true, "nats_creds": true, "client_secret": true,
		"min_tokens": false, "min_token_hits": false, "max_tokens": false, "tokenizer": false, "listen": false, "keys": false,
	} {
		if got := secretKey(key); got != want {
			t.Errorf("secretKey(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestRedactedCopiesMaps(t *testing.T) {
	cfg := config.Default()
	cfg.Profiles = map[string]config.Profile{"finance": {Recipients: []string{"@finance.example"}}}
	r := redacted(cfg)
	r.Profiles["other"] = config.Profile{}
	if len(cfg.Profiles) != 1 {
		t.Error("redacted shares its maps with the configuration")
	}
}

// The tests below read what package activity keeps.

func TestHistoryShowsRecordedScans(t *testing.T) {
	e := newEnv(t, nil)
	id := e.act.RecordScan(activity.Scan{Time: e.clock.Now(), Frontend: "milter", QueueID: "4QTESTQ1", Client: "192.0.2.9",
		Sender: "bulk@spam.example", User: "bob@example.net", Score: 17.5, Action: "reject",
		Symbols: []activity.Symbol{{Name: "BAYES_SPAM", Score: 5.1}, {Name: "ALLOW_SENDER_SYMBOL_X", Score: 12.4}}})
	e.act.RecordScan(activity.Scan{Time: e.clock.Now(), Frontend: "spamd", QueueID: "4QTESTQ2", Score: -1, Action: "no action"})
	for _, tc := range []struct {
		path      string
		want, not []string
	}{
		{"/history", []string{"4QTESTQ1", "4QTESTQ2", fmt.Sprintf(`href="/history/%d"`, id)}, nil},
		{"/history?q=spam.example", []string{"4QTESTQ1"}, []string{"4QTESTQ2"}},
		{"/history?q=ALLOW_SENDER", []string{"4QTESTQ1"}, []string{"4QTESTQ2"}},
		{"/history?action=no+action", []string{"4QTESTQ2"}, []string{"4QTESTQ1"}},
		{fmt.Sprintf("/history/%d", id), []string{"4QTESTQ1", "BAYES_SPAM", "5.10", "ALLOW_SENDER_SYMBOL_X", "17.50", "reject"}, nil},
	} {
		body := e.get(tc.path).Body.String()
		for _, s := range tc.want {
			if !strings.Contains(body, s) {
				t.Errorf("%s lacks %q", tc.path, s)
			}
		}
		for _, s := range tc.not {
			if strings.Contains(body, s) {
				t.Errorf("%s shows %q", tc.path, s)
			}
		}
	}
	if w := e.get("/history/999999"); w.Code != http.StatusNotFound {
		t.Errorf("an unknown record: %d", w.Code)
	}
}

func TestConsoleScanIsInHistory(t *testing.T) {
	e := newEnv(t, nil)
	w := e.post("/scan", map[string]string{"csrf": e.token(), "message": message(6, "hello there")}, nil)
	m := regexp.MustCompile(`href="/history/(\d+)"`).FindStringSubmatch(w.Body.String())
	if m == nil {
		t.Fatalf("the scan result does not link its record:\n%s", w.Body)
	}
	if body := e.get("/history/" + m[1]).Body.String(); !strings.Contains(body, "console") {
		t.Errorf("the record of a console scan:\n%s", body)
	}
}

func TestAccuracyShowsCorrections(t *testing.T) {
	e := newEnv(t, nil)
	fp, fn := [32]byte{1}, [32]byte{2}
	e.act.RecordScan(activity.Scan{Time: e.clock.Now(), Frontend: "milter", QueueID: "4QFP", Score: 9, Action: "add header", Digest: fp})
	e.act.RecordScan(activity.Scan{Time: e.clock.Now(), Frontend: "milter", QueueID: "4QFN", Score: 0.5, Action: "no action", Digest: fn})
	e.act.RecordLearn(activity.Learn{Time: e.clock.Now(), Source: "dovecot", User: "bob", Label: "ham", Outcome: "learned", Digest: fp})
	e.act.RecordLearn(activity.Learn{Time: e.clock.Now(), Source: "dovecot", User: "bob", Label: "spam", Outcome: "learned", Digest: fn})
	body := e.get("/accuracy").Body.String()
	row := regexp.MustCompile(`(?s)<tr class="day" data-day="2026-12-05" data-profile="">.*?</tr>`).FindString(body)
	for _, want := range []string{`class="num scanned">2<`, `class="num corrections">2<`, `class="num fp">1<`, `class="num fn">1<`, `href="/accuracy/2026-12-05?profile="`} {
		if !strings.Contains(row, want) {
			t.Errorf("the accuracy row lacks %q:\n%s", want, body)
		}
	}
	body = e.get("/accuracy/2026-12-05?profile=").Body.String()
	for _, want := range []string{"false positive", "false negative", "4QFP", "4QFN"} {
		if !strings.Contains(body, want) {
			t.Errorf("the corrections lack %q:\n%s", want, body)
		}
	}
}

func TestThroughputCountsScans(t *testing.T) {
	e := newEnv(t, nil)
	for i := range 3 {
		e.act.RecordScan(activity.Scan{Time: e.clock.Now(), Frontend: "milter", QueueID: fmt.Sprint(i), Action: "reject"})
	}
	e.act.RecordLearn(activity.Learn{Time: e.clock.Now(), Source: "dovecot", Label: "spam", Outcome: "learned"})
	body := e.get("/throughput").Body.String()
	for _, want := range []string{`data-key="reject"`, `data-key="milter"`, `data-key="dovecot"`, "<polyline"} {
		if !strings.Contains(body, want) {
			t.Errorf("the throughput page lacks %q", want)
		}
	}
	if !regexp.MustCompile(`(?s)data-key="reject">.*?class="num total">3<`).MatchString(body) {
		t.Errorf("the throughput page does not total 3 rejects:\n%s", body)
	}
}

// keeper is a learner that keeps an activity log, as the learner daemon
// does.
type keeper struct {
	Learner
	log *activity.Log
}

func (k keeper) Activity() *activity.Log { return k.log }

func TestActivityOfTheLearner(t *testing.T) {
	e := newEnv(t, nil)
	own := activity.New(activity.Options{})
	c := New(Options{Config: e.cfg, Learner: keeper{e.c.opts.Learner, own}})
	if c.opts.Activity != own {
		t.Error("the console does not show the learner's activity")
	}
	if c := New(Options{Config: e.cfg, Learner: keeper{e.c.opts.Learner, own}, Activity: e.act}); c.opts.Activity != e.act {
		t.Error("Options.Activity does not win over the learner's")
	}
}

// The learner's HTTP handler serves the console at every path its own
// endpoints do not claim.
func TestServedByTheLearnersHTTPHandler(t *testing.T) {
	e := newEnv(t, nil)
	h := learner.NewHTTPHandler(e.svc.Daemon(), learner.HTTPOptions{Console: e.c, Gatherer: prometheus.NewRegistry()})
	for _, tc := range []struct {
		method, path string
		status       int
		want         string
		csp          bool
	}{
		{"GET", "/", 200, `id="tokens"`, true},
		{"GET", "/history", 200, "No scan records", true},
		{"GET", "/ping", 200, "pong", false},
		{"GET", "/metrics", 200, "", false},
		{"POST", "/learnspam", 403, "learning over HTTP is off", false},
		{"GET", "/nothing-here", 404, "", true},
	} {
		r := httptest.NewRequest(tc.method, tc.path, strings.NewReader(""))
		r.RemoteAddr, r.Host = "127.0.0.1:1", "127.0.0.1:11334"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("%s %s: %d, want %d with %q\n%.300s", tc.method, tc.path, w.Code, tc.status, tc.want, w.Body)
		}
		if got := w.Header().Get("Content-Security-Policy") != ""; got != tc.csp {
			t.Errorf("%s %s: console's CSP %v, want %v", tc.method, tc.path, got, tc.csp)
		}
	}
}

// The config page shows the configuration in effect after reloads.
func TestConfigPageShowsTheRunningConfiguration(t *testing.T) {
	e := newEnv(t, nil)
	cfg := e.cfg
	c := New(Options{Config: cfg, Running: func() config.Config {
		next := cfg
		next.Actions.Reject = 42
		return next
	}})
	r := httptest.NewRequest("GET", "/config", nil)
	r.RemoteAddr, r.Host = "127.0.0.1:1", "localhost"
	w := httptest.NewRecorder()
	c.ServeHTTP(w, r)
	if !strings.Contains(w.Body.String(), "actions.reject: ") || !strings.Contains(w.Body.String(), "-&gt; 42") {
		t.Errorf("the config page does not show the reloaded reject threshold:\n%s", w.Body)
	}
}

// BenchmarkStatusPage reads the statfile's header and the networks and
// renders the status page, as every load of / does.
func BenchmarkStatusPage(b *testing.B) {
	e := newEnv(b, nil)
	for b.Loop() {
		if w := e.get("/"); w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}

// The scan form's envelope reaches the allow and block lists.
func TestScanFormEnvelopeMeetsTheLists(t *testing.T) {
	e := newEnv(t, func(c *config.Config) {
		c.Lists = map[string]config.List{
			"block_client": {Match: "client", Symbol: "BLOCKED_CLIENT", Score: 100, Entries: []string{"203.0.113.0/24"}},
		}
	})
	msg := message(7, "hello there, the minutes of the meeting")
	for _, tc := range []struct {
		client string
		status int
		listed bool
	}{{"203.0.113.9", 200, true}, {"198.51.100.1", 200, false}, {"not-an-ip", 400, false}} {
		w := e.post("/scan", map[string]string{"csrf": e.token(), "message": msg, "client": tc.client, "sender": "a@example.org"}, nil)
		if w.Code != tc.status || strings.Contains(w.Body.String(), "BLOCKED_CLIENT") != tc.listed {
			t.Errorf("client %s: %d, listed %v; want %d, %v\n%s", tc.client, w.Code, !tc.listed, tc.status, tc.listed, w.Body)
		}
	}
}
