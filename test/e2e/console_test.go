package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-milter"
)

// This file drives the web console of `sluice serve` in a real browser:
// headless Chromium from Debian through the DevTools protocol (chromedp).
// It loads every page, checks the status page's figures against `sluice
// stat --json`, learns a pasted message through the learn form and sees
// the count change, scans one with its explanation, and counts every
// console error and Content-Security-Policy violation (there must be
// none). The HTTP listener is bound to every address with a password:
// the browser comes from loopback (no password), and a request to the
// machine's own non-loopback address comes from that address, which must
// give the password.
//
// SLUICE_CONSOLE_SCREENSHOTS=1 writes a PNG of each page to docs/console
// (another value: that directory).

// chromium finds the browser; under SLUICE_E2E=1 a missing one fails the
// test (.ci/run installs Debian's chromium).
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("SLUICE_CHROMIUM"), "/usr/bin/chromium", "chromium"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	msg := "the console's browser test needs Chromium (apt-get install chromium)"
	if os.Getenv("SLUICE_E2E") == "1" {
		t.Fatal(msg + "; SLUICE_E2E=1 requires it")
	}
	t.Skip(msg + "; set SLUICE_E2E=1 to make this a failure")
	return ""
}

// browserLog collects what the browser reports as wrong: console errors
// and warnings, uncaught exceptions, and log entries (CSP violations,
// failed loads) of level warning or error.
type browserLog struct {
	mu       sync.Mutex
	problems []string
}

func (b *browserLog) listen(ev any) {
	var p string
	switch ev := ev.(type) {
	case *cdplog.EventEntryAdded:
		if e := ev.Entry; e.Level == cdplog.EntryLevelError || e.Level == cdplog.EntryLevelWarning {
			p = fmt.Sprintf("log %s %s: %s (%s)", e.Level, e.Source, e.Text, e.URL)
		}
	case *runtime.EventExceptionThrown:
		p = "exception: " + ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil {
			p += " " + ev.ExceptionDetails.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value))
			}
			p = fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " "))
		}
	}
	if p != "" {
		b.mu.Lock()
		b.problems = append(b.problems, p)
		b.mu.Unlock()
	}
}

func (b *browserLog) take() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.problems
	b.problems = nil
	return p
}

// violations records the page's securitypolicyviolation events, installed
// by DevTools before any script of the page runs.
const violations = `window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});`

// nonLoopback is an IPv4 address of this machine that is not loopback or
// link-local ("" none).
func nonLoopback() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	return ""
}

// statJSON is what the status page must agree with.
type statJSON struct {
	Used   uint64 `json:"used"`
	Shared struct {
		Spam uint64 `json:"spam"`
		Ham  uint64 `json:"ham"`
	} `json:"shared"`
	Capacity   uint64 `json:"capacity"`
	Generation uint64 `json:"generation"`
}

func TestConsoleInBrowser(t *testing.T) {
	browser := chromium(t)
	const password = "console-e2e-password"
	s := newSluice(t)
	httpPort := freePort(t)
	extra := fmt.Sprintf("[spamd]\nlisten = \"off\"\n[learner]\nhttp_listen = \"inet:0.0.0.0:%d\"\npassword = %q\n", httpPort, password)
	f, err := os.OpenFile(s.config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(extra)
	f.Close()
	s.learnCorpus(10)
	startDaemon(t, filepath.Join(s.dir, "serve.log"), s.config, func(*daemon) bool {
		return portOpen(httpPort) && portOpen(s.port)
	}, "serve")
	base := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	// Mail through the milter, as Postfix sends it: a spam (rejected) and
	// a message of ham words that the user then learns as spam through
	// the learner's socket: a false negative as the users see it.
	spamMsg := mail("console-milter-spam", 501, "milter spam", spamWords, 0)
	fnMsg := mail("console-milter-fn", 502, "milter fn", hamWords, 0)
	if act := milterSend(t, s.port, "4QCONSOLE1", spamMsg); act.Code == milter.ActContinue || act.Code == milter.ActAccept {
		t.Errorf("the milter let the spam through: %+v", act)
	}
	milterSend(t, s.port, "4QCONSOLE2", fnMsg)
	fnPath := filepath.Join(s.dir, "fn.eml")
	if err := os.WriteFile(fnPath, []byte(fnMsg), 0o644); err != nil {
		t.Fatal(err)
	}
	s.run("learn", "spam", fnPath)
	stat := func() statJSON {
		t.Helper()
		var st statJSON
		if err := json.Unmarshal([]byte(s.run("stat", "--json")), &st); err != nil {
			t.Fatal(err)
		}
		return st
	}

	shots := os.Getenv("SLUICE_CONSOLE_SCREENSHOTS")
	if shots == "1" {
		shots = "../../docs/console"
	}
	if shots != "" {
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, chromedp.ExecPath(browser),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("hide-scrollbars", true), chromedp.UserDataDir(t.TempDir()))
	defer cancelAlloc()
	blog := &browserLog{}
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithListener(blog.listen))
	defer cancelBrowser()
	if _, err := chromedp.Call(bctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	if _, err := chromedp.Call(bctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: violations}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}

	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	number := func(sel string) uint64 {
		t.Helper()
		n, err := strconv.ParseUint(text(sel), 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		return n
	}
	// clean checks that the page loaded so far broke no rule of the CSP and
	// logged no error.
	clean := func(what string) {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`window.__cspViolations || []`))
		if err != nil {
			t.Fatal(err)
		}
		if len(v) > 0 {
			t.Errorf("%s: CSP violations: %q", what, v)
		}
		if p := blog.take(); len(p) > 0 {
			t.Errorf("%s: the browser reports: %q", what, p)
		}
	}
	shot := func(name string) {
		t.Helper()
		if shots == "" {
			return
		}
		// The viewport (1280×900), not the whole page: the config page
		// alone would be a megabyte.
		res, err := chromedp.Call(bctx, page.CaptureScreenshot, page.CaptureScreenshotParams{Format: page.CaptureScreenshotFormatPng})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), res.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	open := func(path, title string) {
		t.Helper()
		if err := chromedp.Do(bctx, chromedp.Navigate(base+path), chromedp.WaitVisible(chromedp.CSS("main h1"))); err != nil {
			t.Fatalf("open %s: %v", path, err)
		}
		if got := text("main h1"); got != title {
			t.Fatalf("%s: heading %q, want %q", path, got, title)
		}
		// The stylesheet applied: the header is dark, not the default.
		bg, err := chromedp.Run(bctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("header")).backgroundColor`))
		if err != nil || bg != "rgb(34, 48, 60)" {
			t.Errorf("%s: the stylesheet did not apply (header background %q, %v)", path, bg, err)
		}
		clean(path)
	}

	// Status: the figures are those of sluice stat --json.
	open("/", "Status")
	before := stat()
	if got := number("#tokens"); got != before.Used {
		t.Errorf("status tokens %d, sluice stat %d", got, before.Used)
	}
	if spam, ham := number("#spam-learned"), number("#ham-learned"); spam != before.Shared.Spam || ham != before.Shared.Ham {
		t.Errorf("status learned spam %d ham %d, sluice stat spam %d ham %d", spam, ham, before.Shared.Spam, before.Shared.Ham)
	}
	if got := number("#capacity"); got != before.Capacity {
		t.Errorf("status capacity %d, sluice stat %d", got, before.Capacity)
	}
	if before.Shared.Spam != 11 || before.Shared.Ham != 10 {
		t.Errorf("sluice stat after learning 11 spam and 10 ham: %+v", before)
	}
	if got := text("#cluster"); got != "not configured" {
		t.Errorf("cluster: %q", got)
	}
	shot("status")

	for _, p := range []struct{ path, title, shot string }{
		{"/throughput", "Throughput", "throughput"},
		{"/history", "History", "history"},
		{"/accuracy", "Accuracy", "accuracy"},
		{"/config", "Configuration", "config"},
	} {
		open(p.path, p.title)
		shot(p.shot)
		switch p.path {
		case "/throughput":
			if got := text("#by-frontend"); !strings.Contains(got, "milter") {
				t.Errorf("throughput by front end lacks the milter's scans:\n%s", got)
			}
		case "/history":
			if got := text("#history tbody"); !strings.Contains(got, "4QCONSOLE1") || !strings.Contains(got, "4QCONSOLE2") {
				t.Errorf("the history lacks the milter's scans:\n%s", got)
			}
		case "/accuracy":
			if got := text("#accuracy tbody tr.day td.fn"); got != "1" {
				t.Errorf("accuracy: FN %q, want 1 (a message let through, then learned as spam)", got)
			}
			if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS("#accuracy tbody tr.day a")), chromedp.WaitVisible(chromedp.CSS("#corrections"))); err != nil {
				t.Fatalf("open the day's corrections: %v", err)
			}
			if got := text("#corrections"); !strings.Contains(got, "false negative") || !strings.Contains(got, "4QCONSOLE2") {
				t.Errorf("the corrections:\n%s", got)
			}
			clean("corrections")
			shot("corrections")
		}
	}
	if body := text("#config"); strings.Contains(body, password) || !strings.Contains(body, "password = '(set)'") {
		t.Errorf("the config page shows the password, or not that one is set:\n%s", body)
	}

	// Learn a pasted message through the form; the status page counts it.
	open("/scan", "Scan or learn")
	// A textarea holds lines ending in \n; the browser posts them as \r\n.
	learned := strings.ReplaceAll(mail("console-learn", 77, "console learn", spamWords, 0), "\r\n", "\n")
	if err := chromedp.Do(bctx, chromedp.SetValue(chromedp.CSS("#learn-form textarea"), learned)); err != nil {
		t.Fatal(err)
	}
	shot("scan")
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS("#learn-form button")), chromedp.WaitVisible(chromedp.CSS("#outcome"))); err != nil {
		t.Fatalf("submit the learn form: %v", err)
	}
	if got := text("#outcome"); got != "learned" {
		t.Errorf("learn outcome %q", got)
	}
	clean("learn result")
	open("/", "Status")
	after := stat()
	if after.Shared.Spam != before.Shared.Spam+1 {
		t.Errorf("after a learn from the console, sluice stat says spam %d (before %d)", after.Shared.Spam, before.Shared.Spam)
	}
	if got := number("#spam-learned"); got != after.Shared.Spam {
		t.Errorf("status learned spam %d, sluice stat %d", got, after.Shared.Spam)
	}
	if got := number("#tokens"); got != after.Used {
		t.Errorf("status tokens %d, sluice stat %d", got, after.Used)
	}

	// Scan a pasted spam: the verdict and --explain's output.
	open("/scan", "Scan or learn")
	probe := strings.ReplaceAll(mail("console-scan", 1001, "console scan", spamWords, 0), "\r\n", "\n")
	if err := chromedp.Do(bctx, chromedp.SetValue(chromedp.CSS("#scan-form textarea"), probe),
		chromedp.Click(chromedp.CSS("#scan-form button")), chromedp.WaitVisible(chromedp.CSS("#explain"))); err != nil {
		t.Fatalf("submit the scan form: %v", err)
	}
	if got := text("#action"); got != "reject" {
		t.Errorf("scan of a spam: action %q", got)
	}
	if got := text("#explain"); !strings.Contains(got, "BAYES_SPAM") || !strings.Contains(got, "p=") {
		t.Errorf("the explanation lacks Bayes and its tokens:\n%s", got)
	}
	clean("scan result")
	shot("scan-result")
	// The scan is in the history, and its record explains it.
	{
		if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`a[href^="/history/"]`)), chromedp.WaitVisible(chromedp.CSS("#symbols"))); err != nil {
			t.Fatalf("open the scan's record: %v", err)
		}
		if got := text("#action"); got != "reject" {
			t.Errorf("the record's action %q", got)
		}
		clean("record")
		shot("record")
		open("/history", "History")
		if got := text("#history tbody"); !strings.Contains(got, "BAYES_SPAM") {
			t.Errorf("the history lacks the console's scan:\n%s", got)
		}
		shot("history")
	}

	// The collector sees a violation: an inline style the page's script
	// would set is refused and reported.
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`(function () {
		var s = document.createElement("style"); s.textContent = "body { color: red }";
		document.head.appendChild(s); return true; })()`)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, _ := chromedp.Run(bctx, chromedp.Evaluate[[]string](`window.__cspViolations || []`))
		if len(v) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("an inline style went unreported: the CSP check above proves nothing")
		}
		time.Sleep(20 * time.Millisecond)
	}
	blog.take()

	// Off loopback the console wants the password.
	addr := nonLoopback()
	if addr == "" {
		t.Log("this machine has no non-loopback address: console.TestAccess covers remote requests with forged addresses")
		return
	}
	remote := fmt.Sprintf("http://%s:%d/", addr, httpPort)
	for _, tc := range []struct {
		name, pw string
		want     int
	}{{"no password", "", 401}, {"a wrong password", "wrong", 401}, {"the password", password, 200}} {
		req, _ := http.NewRequest("GET", remote, nil)
		if tc.pw != "" {
			req.SetBasicAuth("admin", tc.pw)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", remote, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s with %s: %d, want %d", remote, tc.name, resp.StatusCode, tc.want)
		}
	}
	// And the browser, from that address, is refused: Chromium, with no
	// one to ask for the password, ends the load on the 401's challenge.
	resp, err := chromedp.RunResponse(bctx, chromedp.Navigate(remote))
	switch {
	case err != nil && strings.Contains(err.Error(), "ERR_INVALID_AUTH_CREDENTIALS"):
	case err != nil:
		t.Fatalf("open %s: %v", remote, err)
	case resp.Status != 401:
		t.Errorf("the browser at %s: %d, want 401", remote, resp.Status)
	}
}

// milterSend sends one message through the milter on 127.0.0.1:port as
// Postfix would (client, envelope, header, queue id, body) and returns
// the final action.
func milterSend(t *testing.T, port int, qid, msg string) *milter.Action {
	t.Helper()
	c := milter.NewClientWithOptions("tcp", fmt.Sprintf("127.0.0.1:%d", port), milter.ClientOptions{
		Dialer: &net.Dialer{Timeout: 5 * time.Second}, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second,
		ActionMask: milter.OptAddHeader | milter.OptChangeHeader | milter.OptQuarantine,
	})
	s, err := c.Session()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if act, err := s.Conn("client.example", milter.FamilyInet, 4321, "192.0.2.55"); err != nil || act.Code != milter.ActContinue {
		t.Fatalf("milter conn: %v %v", act, err)
	}
	if act, err := s.Mail("<bulk@sender.example>", nil); err != nil || act.Code != milter.ActContinue {
		t.Fatalf("milter mail: %v %v", act, err)
	}
	if act, err := s.Rcpt("<user@sluice-e2e.test>", nil); err != nil || act.Code != milter.ActContinue {
		t.Fatalf("milter rcpt: %v %v", act, err)
	}
	br := bufio.NewReader(strings.NewReader(msg))
	hdr, err := textproto.ReadHeader(br)
	if err != nil {
		t.Fatal(err)
	}
	if act, err := s.Header(hdr); err != nil || act.Code != milter.ActContinue {
		t.Fatalf("milter header: %v %v", act, err)
	}
	if err := s.Macros(milter.CodeEOB, "i", qid); err != nil {
		t.Fatal(err)
	}
	_, act, err := s.BodyReadFrom(br)
	if err != nil {
		t.Fatalf("milter body: %v", err)
	}
	return act
}
