// Package console serves the admin's web pages: the status of the
// services, the statfile and the networks; throughput charts, scan
// history and the accuracy the users see (from package activity); a form
// that scans or learns a pasted or uploaded message; and the
// configuration in effect with its secrets hidden. The learner's HTTP
// listener serves it at / (learner.HTTPOptions.Console), and so does
// `sluice serve`.
//
// The pages are server-rendered html/template, with one small script and
// one stylesheet, all embedded: no build step, nothing from another
// origin. Charts are inline SVG drawn on the server.
//
// Access (see access.go): a request from loopback, naming the host by an
// IP address or "localhost" and not forwarded by a proxy, needs no
// password; any other needs the learner's password (HTTP basic auth, any
// user name), and with no password configured it is refused. Every POST
// carries a CSRF token (an HMAC of a per-process secret and the time it
// was issued); every response carries a strict Content-Security-Policy.
// Every request has a deadline, and an upload is bounded by the learner's
// max_message_size before it is read.
package console

import (
	"context"
	"embed"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/sluicemail/sluice/activity"
	"github.com/sluicemail/sluice/buildinfo"
	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/learner"
	"github.com/sluicemail/sluice/scan"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Scanner scans a message (scanstack.Live in the daemons).
type Scanner interface {
	Scan(ctx context.Context, r io.Reader, req scan.Request) (*scan.Verdict, error)
}

// Learner learns through the learner's normal path (learner.Daemon).
type Learner interface {
	Learn(ctx context.Context, req *learner.Request) (learn.Outcome, error)
	MaxMessage() int64
}

// Service is a service of the process for the status page.
type Service struct {
	Name   string
	Listen string
	// Counters, when set, returns its counters so far (milter's and
	// spamd's Counters()); they are shown by their JSON names.
	Counters func() any
}

// Options configure the console.
type Options struct {
	// Config is the configuration in effect: the statfile and network
	// paths of the status page, the config page, the password and the
	// profiles.
	Config config.Config
	// Running, when set, is the configuration in effect now, with what
	// SIGHUP reloads applied (scanstack.Reloader.Running), for the config
	// page; nil: Config.
	Running func() config.Config
	// Learner takes the learn form's learns (nil: no learn form).
	Learner Learner
	// Scanner scans the scan form's messages (nil: no scan form).
	Scanner Scanner
	// Activity is the record of recent work the throughput, history and
	// accuracy pages show; nil: the Learner's, when it keeps one (an
	// Activity method: the learner daemon's), else an empty one.
	Activity *activity.Log
	// Version is the running build.
	Version buildinfo.Info
	// Services are the process's services besides the learner.
	Services []Service
	// Start is when the process started (default: when New ran).
	Start time.Time
	// Timeout bounds one request (30 s).
	Timeout time.Duration
	// MaxMessage bounds an uploaded or pasted message (default: the
	// Learner's, else config's learner.max_message_size).
	MaxMessage int64
	// Clock is the time (time.Now); tests set it.
	Clock  func() time.Time
	Logger *slog.Logger
}

// Console is the web console's handler.
type Console struct {
	opts    Options
	log     *slog.Logger
	pw      learner.Password
	csrf    csrfKey
	pages   map[string]*template.Template
	handler http.Handler
}

// New returns the console.
func New(opts Options) *Console {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Running == nil {
		cfg := opts.Config
		opts.Running = func() config.Config { return cfg }
	}
	if opts.Start.IsZero() {
		opts.Start = opts.Clock()
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.MaxMessage <= 0 {
		opts.MaxMessage = int64(opts.Config.Learner.MaxMessageSize)
		if opts.Learner != nil {
			opts.MaxMessage = opts.Learner.MaxMessage()
		}
	}
	if a, ok := opts.Learner.(interface{ Activity() *activity.Log }); ok && opts.Activity == nil {
		opts.Activity = a.Activity()
	}
	if opts.Activity == nil {
		opts.Activity = activity.New(activity.Options{Clock: opts.Clock})
	}
	c := &Console{opts: opts, log: opts.Logger, pw: learner.NewPassword(opts.Config.Learner.Password),
		csrf: newCSRFKey(opts.Clock), pages: parsePages()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", c.status)
	mux.HandleFunc("GET /throughput", c.throughput)
	mux.HandleFunc("GET /history", c.history)
	mux.HandleFunc("GET /history/{id}", c.record)
	mux.HandleFunc("GET /accuracy", c.accuracy)
	mux.HandleFunc("GET /accuracy/{day}", c.corrections)
	mux.HandleFunc("GET /scan", c.messageForms)
	mux.HandleFunc("POST /scan", c.scanMessage)
	mux.HandleFunc("POST /learn", c.learnMessage)
	mux.HandleFunc("GET /config", c.configPage)
	static, _ := fs.Sub(staticFS, "static") // a constant path of the embedded tree
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	c.handler = secureHeaders(http.TimeoutHandler(c.guard(mux), opts.Timeout, "console: request timed out\n"))
	return c
}

// ServeHTTP serves the console's pages.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.handler.ServeHTTP(w, r) }
