package learner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/metrics"
	"github.com/sluicemail/sluice/mmapstore"
)

// HTTPOptions configure the HTTP endpoints.
type HTTPOptions struct {
	// Password must be sent in a Password header (rspamc -P) by learn
	// requests; it is compared in constant time. Without one the learn
	// endpoints refuse every request (learning over TCP is off); the
	// config requires one on a listener that is not loopback.
	Password string
	// MaxLearns bounds the learns read and served at once (DefaultMaxLearns);
	// one more is answered 503 at once, before its body is read.
	MaxLearns int
	// Gatherer serves /metrics, and rspamd's /stat and /counters summed
	// from it (nil: none of the three).
	Gatherer prometheus.Gatherer
	// Statfile is the statfile's path, for /stat's statfiles.
	Statfile string
	// Weights are the symbols' configured weights, for /counters.
	Weights map[string]float64
	// Start is when the process started, for /counters' frequencies.
	Start time.Time
	// Timeout bounds one learn request (1 min).
	Timeout time.Duration
	// Console, when set, serves every path the endpoints above do not
	// claim (the web console, package console, at /); it guards itself.
	Console http.Handler
	Logger  *slog.Logger
}

// NewHTTPHandler serves rspamd's controller learn endpoints, so that
// `rspamc learn_spam|learn_ham` and existing Dovecot scripts work
// unchanged:
//
//	POST /learnspam, /learnham  body: the raw message; Deliver-To: the user
//	  200 {"success":true}       learned (or relearned from the other class)
//	  208 {"error":"..."}        already learned as this class (rspamd >= 3)
//	  400 {"error":"..."}        not a message
//	  403 {"error":"..."}        wrong or missing password, or none set
//	  413, 503 {"error":"..."}   too large; busy or not learned now, try again
//	GET /ping                    "pong"
//	GET /metrics                 Prometheus text format
//	GET /stat, /counters         rspamd's JSON (rspamc stat, rspamc counters)
//	anything else                the console, when HTTPOptions.Console is set
func NewHTTPHandler(d *Daemon, opts HTTPOptions) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = time.Minute
	}
	if opts.MaxLearns <= 0 {
		opts.MaxLearns = DefaultMaxLearns
	}
	h := &httpHandler{d: d, opts: opts, pw: NewPassword(opts.Password), slots: newLimiter(opts.MaxLearns)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /learnspam", func(w http.ResponseWriter, r *http.Request) { h.learn(w, r, Spam) })
	mux.HandleFunc("POST /learnham", func(w http.ResponseWriter, r *http.Request) { h.learn(w, r, Ham) })
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "pong\r\n") })
	if opts.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{}))
		co := metrics.ControllerOptions{Gatherer: opts.Gatherer, Weights: opts.Weights, Start: opts.Start, Logger: opts.Logger}
		if opts.Statfile != "" {
			co.Statfiles = func() ([]metrics.Statfile, error) { return statfiles(opts.Statfile) }
		}
		mux.Handle("GET /stat", metrics.StatHandler(co))
		mux.Handle("GET /counters", metrics.CountersHandler(co))
	}
	if opts.Console != nil {
		mux.Handle("/", opts.Console)
	}
	return mux
}

type httpHandler struct {
	d     *Daemon
	opts  HTTPOptions
	pw    Password
	slots limiter
}

// authorized checks the Password header; a refusal is logged, counted
// and answered 403.
func (h *httpHandler) authorized(w http.ResponseWriter, r *http.Request, label Label) bool {
	reason, msg := "", ""
	switch {
	case !h.pw.Set():
		reason, msg = "no_password", "learning over HTTP is off: set learner.password and send it (rspamc -P)"
	case !h.pw.Match(r.Header.Get("Password")):
		reason, msg = "wrong_password", "unauthorized: wrong or missing Password header"
	default:
		return true
	}
	h.d.m.refused.WithLabelValues("http", reason).Inc()
	h.opts.Logger.Warn("learner: HTTP learn refused", "reason", reason, "remote", r.RemoteAddr, "class", label.String())
	jsonError(w, http.StatusForbidden, msg)
	return false
}

func (h *httpHandler) learn(w http.ResponseWriter, r *http.Request, label Label) {
	if !h.authorized(w, r, label) {
		return
	}
	if !h.slots.tryAcquire() {
		h.d.m.busy.WithLabelValues("http").Inc()
		jsonError(w, http.StatusServiceUnavailable, fmt.Sprintf("busy: %d learns in progress, try again later", cap(h.slots)))
		return
	}
	defer h.slots.release()
	max := h.d.MaxMessage()
	if r.ContentLength > max {
		jsonError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("message larger than %d bytes", max))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			jsonError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("message larger than %d bytes", max))
			return
		}
		jsonError(w, http.StatusBadRequest, "read message: "+err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.Timeout)
	defer cancel()
	req := &Request{Label: label, User: r.Header.Get("Deliver-To"), Source: "http", Message: body}
	out, err := h.d.Learn(ctx, req)
	switch {
	case err == nil && out == learn.AlreadyLearned:
		jsonError(w, http.StatusAlreadyReported, fmt.Sprintf("message has been already learned as %s, ignore it", label))
	case err == nil:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"success":true}`)
	case errors.Is(err, learn.ErrNotMessage):
		jsonError(w, http.StatusBadRequest, "input is not a mail message")
	case errors.Is(err, ErrProtocol):
		jsonError(w, http.StatusBadRequest, err.Error())
	default:
		h.opts.Logger.Warn("learner: HTTP learn failed", "err", err)
		jsonError(w, http.StatusServiceUnavailable, "not learned, try again later: "+err.Error())
	}
}

// statfiles describes the statfile as rspamd's two (BAYES_SPAM, BAYES_HAM
// share one file here: both entries give its size and slots).
func statfiles(path string) ([]metrics.Statfile, error) {
	info, err := mmapstore.Stat(path)
	if err != nil {
		return nil, err
	}
	users, langs := 0, 0
	for _, ns := range info.Namespaces {
		if strings.HasPrefix(ns.Name, "lang:") {
			langs++
		} else {
			users++
		}
	}
	sf := metrics.Statfile{Type: "mmap", Size: info.FileSize, Total: info.Capacity, Used: info.Used, Users: users, Languages: langs}
	spam, ham := sf, sf
	spam.Symbol, spam.Revision = "BAYES_SPAM", info.Shared.Spam
	ham.Symbol, ham.Revision = "BAYES_HAM", info.Shared.Ham
	return []metrics.Statfile{spam, ham}, nil
}

func jsonError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}
