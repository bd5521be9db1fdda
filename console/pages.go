package console

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sluicemail/sluice/activity"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/learner"
	"github.com/sluicemail/sluice/profile"
	"github.com/sluicemail/sluice/scan"
	"github.com/sluicemail/sluice/tokenizer"
)

// pageNames are the templates/*.html beside layout.html.
var pageNames = []string{"status", "throughput", "history", "record", "accuracy", "corrections", "scan", "result", "config", "error"}

var funcs = template.FuncMap{
	"score": func(f float64) string { return fmt.Sprintf("%.2f", f) },
	"pct":   func(f float64) string { return fmt.Sprintf("%.2f%%", f*100) },
	"when":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") },
	"hex":   func(d [32]byte) string { return hex.EncodeToString(d[:]) },
	"bytes": func(n int64) string {
		switch {
		case n >= 1<<30:
			return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
		case n >= 1<<20:
			return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
		case n >= 1<<10:
			return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
		}
		return fmt.Sprintf("%d B", n)
	},
	"seconds": func(s int64) time.Duration { return time.Duration(s) * time.Second },
	"actions": func() []string {
		return []string{scan.NoAction.String(), scan.AddHeader.String(), scan.RewriteSubject.String(), scan.Greylist.String(), scan.Reject.String()}
	},
}

// parsePages parses each page with the layout; the templates are
// embedded, so a failure is a bug the tests catch.
func parsePages() map[string]*template.Template {
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		pages[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return pages
}

// view is what the layout renders around a page.
type view struct {
	Title string
	Nav   string // the menu entry to mark
	CSRF  string
	// Refresh, when > 0, makes console.js reload the page after so many
	// seconds.
	Refresh int
	Data    any
}

// render writes a page; a template that fails is logged and answered 500
// (the page is rendered into a buffer first, never half written).
func (c *Console) render(w http.ResponseWriter, status int, page string, v view) {
	v.CSRF = c.csrf.token()
	var b bytes.Buffer
	if err := c.pages[page].ExecuteTemplate(&b, "layout", v); err != nil {
		c.log.Error("console: render", "page", page, "err", err)
		http.Error(w, "console: the page failed to render", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

func (c *Console) fail(w http.ResponseWriter, status int, msg string) {
	c.render(w, status, "error", view{Title: http.StatusText(status), Data: msg})
}

func (c *Console) status(w http.ResponseWriter, r *http.Request) {
	c.render(w, http.StatusOK, "status", view{Title: "Status", Nav: "status", Refresh: 60, Data: c.statusNow()})
}

func (c *Console) throughput(w http.ResponseWriter, r *http.Request) {
	minutes := c.opts.Activity.Throughput()
	c.render(w, http.StatusOK, "throughput", view{Title: "Throughput", Nav: "throughput", Refresh: 60, Data: struct {
		Minutes int
		Charts  []chart
	}{len(minutes), throughputCharts(minutes)}})
}

// historyLimit is the history page's default number of records.
const historyLimit = 100

func (c *Console) history(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := activity.Filter{Text: clip(q.Get("q"), fieldMax), Action: clip(q.Get("action"), fieldMax), Limit: historyLimit}
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 {
		f.Limit = n // the Log caps it at what it keeps
	}
	c.render(w, http.StatusOK, "history", view{Title: "History", Nav: "history", Data: struct {
		Filter activity.Filter
		Scans  []activity.Scan
	}{f, c.opts.Activity.History(f)}})
}

func (c *Console) record(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		c.fail(w, http.StatusNotFound, "no such scan record")
		return
	}
	s, ok := c.opts.Activity.Scan(id)
	if !ok {
		c.fail(w, http.StatusNotFound, fmt.Sprintf("scan record %d is no longer kept (the history keeps the last ones)", id))
		return
	}
	c.render(w, http.StatusOK, "record", view{Title: fmt.Sprintf("Scan %d", id), Nav: "history", Data: s})
}

func (c *Console) accuracy(w http.ResponseWriter, r *http.Request) {
	c.render(w, http.StatusOK, "accuracy", view{Title: "Accuracy", Nav: "accuracy", Data: c.opts.Activity.Accuracy()})
}

func (c *Console) corrections(w http.ResponseWriter, r *http.Request) {
	day, prof := r.PathValue("day"), clip(r.URL.Query().Get("profile"), fieldMax)
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		c.fail(w, http.StatusNotFound, "not a day (YYYY-MM-DD)")
		return
	}
	c.render(w, http.StatusOK, "corrections", view{Title: "Corrections of " + day, Nav: "accuracy", Data: struct {
		Day, Profile string
		Corrections  []activity.Correction
	}{day, prof, c.opts.Activity.Corrections(day, prof)}})
}

// formsView is the scan and learn page.
type formsView struct {
	CanScan, CanLearn bool
	MaxMessage        int64
}

func (c *Console) formsView() formsView {
	return formsView{CanScan: c.opts.Scanner != nil, CanLearn: c.opts.Learner != nil, MaxMessage: c.opts.MaxMessage}
}

func (c *Console) messageForms(w http.ResponseWriter, r *http.Request) {
	c.render(w, http.StatusOK, "scan", view{Title: "Scan or learn", Nav: "scan", Data: c.formsView()})
}

// resultView is what a scan or a learn from the console did.
type resultView struct {
	Kind    string // scan or learn
	Verdict *scan.Verdict
	Record  uint64 // the scan's history record
	Explain string // `sluice scan --explain`'s output
	Label   string
	User    string
	Outcome string
	Error   string
}

func (c *Console) formError(w http.ResponseWriter, err error) {
	var fe *formError
	if errors.As(err, &fe) {
		c.fail(w, fe.status, fe.msg)
		return
	}
	c.fail(w, http.StatusBadRequest, err.Error())
}

// scanMessage scans a posted message with --explain and records the
// verdict in the history (front end "console").
func (c *Console) scanMessage(w http.ResponseWriter, r *http.Request) {
	if c.opts.Scanner == nil {
		c.fail(w, http.StatusNotFound, "this process does not scan")
		return
	}
	f, err := c.readMessageForm(w, r)
	if err != nil {
		c.formError(w, err)
		return
	}
	env, err := scan.ParseEnvelope(f.Sender, f.Rcpt, f.Client)
	if err != nil {
		c.fail(w, http.StatusBadRequest, "client: "+err.Error())
		return
	}
	req := scan.Request{User: clip(f.User, 320), Explain: true, Envelope: env}
	if req.Profile, err = profile.New(c.opts.Running().Profiles).Choose("", req.User); err != nil {
		c.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	v, err := c.opts.Scanner.Scan(r.Context(), bytes.NewReader(f.Message), req)
	switch {
	case tokenizer.IsNotMessage(err):
		c.fail(w, http.StatusBadRequest, "not a mail message: "+err.Error())
		return
	case errors.Is(err, context.DeadlineExceeded):
		c.fail(w, http.StatusServiceUnavailable, "scan timed out")
		return
	case err != nil:
		c.log.Warn("console: scan failed", "err", err)
		c.fail(w, http.StatusServiceUnavailable, "scan failed: "+err.Error())
		return
	}
	var explain strings.Builder
	v.WriteText(&explain, "message", true)
	syms := make([]activity.Symbol, len(v.Symbols))
	for i, s := range v.Symbols {
		syms[i] = activity.Symbol{Name: s.Name, Score: s.Score}
	}
	id := c.opts.Activity.RecordScan(activity.Scan{Time: c.opts.Clock(), Frontend: "console", Client: f.Client, Sender: f.Sender, User: req.User, Profile: v.Profile,
		Score: v.Score, Action: v.Action.String(), Symbols: syms, Digest: v.Digest})
	c.log.Info("console: message scanned", "remote", r.RemoteAddr, "action", v.Action.String(), "score", v.Score)
	c.render(w, http.StatusOK, "result", view{Title: "Scan result", Nav: "scan",
		Data: resultView{Kind: "scan", Verdict: v, Record: id, Explain: explain.String(), User: req.User}})
}

// learnMessage learns a posted message through the learner's normal
// path (its queue, journal and learn cache), source "console".
func (c *Console) learnMessage(w http.ResponseWriter, r *http.Request) {
	if c.opts.Learner == nil {
		c.fail(w, http.StatusNotFound, "this process does not learn")
		return
	}
	f, err := c.readMessageForm(w, r)
	if err != nil {
		c.formError(w, err)
		return
	}
	label, err := learner.ParseLabel(f.Label)
	if err != nil {
		c.fail(w, http.StatusBadRequest, "learn as spam, ham or forget")
		return
	}
	user := clip(f.User, 320)
	out, err := c.opts.Learner.Learn(r.Context(), &learner.Request{Label: label, User: user, Source: "console", Message: f.Message})
	res := resultView{Kind: "learn", Label: label.String(), User: user}
	status := http.StatusOK
	switch {
	case err == nil:
		res.Outcome = out.String()
		if out == learn.AlreadyLearned {
			res.Outcome = "already learned as " + label.String() + ": nothing changed"
		}
	case errors.Is(err, learn.ErrNotMessage):
		status, res.Error = http.StatusBadRequest, "not a mail message"
	default:
		c.log.Warn("console: learn failed", "err", err)
		status, res.Error = http.StatusServiceUnavailable, "not learned, try again later: "+err.Error()
	}
	c.log.Info("console: learn", "remote", r.RemoteAddr, "label", label.String(), "user", user, "outcome", res.Outcome, "err", res.Error)
	c.render(w, status, "result", view{Title: "Learn result", Nav: "scan", Data: res})
}

func (c *Console) configPage(w http.ResponseWriter, r *http.Request) {
	cv, err := newConfigView(c.opts.Running())
	if err != nil {
		c.log.Error("console: config page", "err", err)
		c.fail(w, http.StatusInternalServerError, "the configuration could not be written")
		return
	}
	c.render(w, http.StatusOK, "config", view{Title: "Configuration", Nav: "config", Data: cv})
}

// clip bounds a string from a request.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
