package learner

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sluicemail/sluice/learn"
)

// HTTPOptions configure the HTTP endpoints.
type HTTPOptions struct {
	// Password, when not empty, must be sent in a Password header (rspamc
	// -P) by learn requests; it is compared in constant time. The config
	// requires one on a listener that is not loopback.
	Password string
	// Gatherer serves /metrics (nil: no /metrics).
	Gatherer prometheus.Gatherer
	// Timeout bounds one learn request (1 min).
	Timeout time.Duration
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
//	  403 {"error":"..."}        wrong or missing password
//	  413, 503 {"error":"..."}   too large; not learned now, try again
//	GET /ping                    "pong"
//	GET /metrics                 Prometheus text format
func NewHTTPHandler(d *Daemon, opts HTTPOptions) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = time.Minute
	}
	h := &httpHandler{d: d, opts: opts}
	if opts.Password != "" {
		sum := sha256.Sum256([]byte(opts.Password))
		h.pwSum = sum[:]
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /learnspam", func(w http.ResponseWriter, r *http.Request) { h.learn(w, r, Spam) })
	mux.HandleFunc("POST /learnham", func(w http.ResponseWriter, r *http.Request) { h.learn(w, r, Ham) })
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "pong\r\n") })
	if opts.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{}))
	}
	return mux
}

type httpHandler struct {
	d     *Daemon
	opts  HTTPOptions
	pwSum []byte
}

// authorized compares SHA-256 digests in constant time, so that neither
// the content nor the length of the password leaks through timing.
func (h *httpHandler) authorized(r *http.Request) bool {
	if h.pwSum == nil {
		return true
	}
	got := sha256.Sum256([]byte(r.Header.Get("Password")))
	return subtle.ConstantTimeCompare(got[:], h.pwSum) == 1
}

func (h *httpHandler) learn(w http.ResponseWriter, r *http.Request, label Label) {
	if !h.authorized(r) {
		jsonError(w, http.StatusForbidden, "unauthorized: wrong or missing Password header")
		return
	}
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

func jsonError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}
