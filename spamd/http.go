package spamd

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/sluicemail/sluice/learner"
	"github.com/sluicemail/sluice/scan"
)

// This file is rspamd's HTTP API, the part that rspamc, Haraka and
// OpenSMTPD's rspamd filter use: POST /checkv2 with the message as the body
// and the SMTP facts as headers (Deliver-To, Rcpt, From, IP, Helo, Queue-Id,
// User), answered with rspamd's JSON; GET /ping; and, as rspamd's
// controller does, POST /learnspam and /learnham. One request per
// connection (Connection: close).

// isHTTPLine reports whether a first line is an HTTP request line.
func isHTTPLine(line string) bool {
	return strings.HasSuffix(line, " HTTP/1.1") || strings.HasSuffix(line, " HTTP/1.0")
}

// serveHTTP reads the rest of an HTTP request whose first line was line and
// returns the whole response; bodyPhase is called after the header.
func (s *Server) serveHTTP(ctx context.Context, br *bufio.Reader, line string, bodyPhase func()) []byte {
	budget := &budgetReader{r: br, n: maxHeaderBytes}
	hr := bufio.NewReaderSize(io.MultiReader(strings.NewReader(line+"\r\n"), budget), 4096)
	req, err := http.ReadRequest(hr)
	if err != nil {
		if errors.Is(err, errBudget) {
			return httpError(http.StatusRequestHeaderFieldsTooLarge, "header section too large")
		}
		return httpError(http.StatusBadRequest, "bad request: "+err.Error())
	}
	if len(req.Header) > s.opts.Limits.MaxHeaders {
		return httpError(http.StatusRequestHeaderFieldsTooLarge, fmt.Sprintf("more than %d header fields", s.opts.Limits.MaxHeaders))
	}
	budget.n = -1 // the body is bounded below
	bodyPhase()
	s.count.requests[ProtoHTTP].Inc()
	switch {
	case req.URL.Path == "/ping":
		return httpReply(http.StatusOK, "text/plain", []byte("pong\r\n"))
	case req.Method != http.MethodPost:
		if req.URL.Path == "/checkv2" || req.URL.Path == "/learnspam" || req.URL.Path == "/learnham" {
			return httpError(http.StatusMethodNotAllowed, "use POST")
		}
		return httpError(http.StatusNotFound, "no such endpoint")
	}
	var label learner.Label
	switch req.URL.Path {
	case "/checkv2":
	case "/learnspam":
		label = learner.Spam
	case "/learnham":
		label = learner.Ham
	default:
		return httpError(http.StatusNotFound, "no such endpoint")
	}
	if req.ContentLength > s.opts.Limits.MaxSize {
		return httpError(http.StatusRequestEntityTooLarge, fmt.Sprintf("message larger than %d bytes", s.opts.Limits.MaxSize))
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, s.opts.Limits.MaxSize+1))
	if err != nil {
		return httpError(http.StatusBadRequest, "read message: "+err.Error())
	}
	if int64(len(body)) > s.opts.Limits.MaxSize {
		return httpError(http.StatusRequestEntityTooLarge, fmt.Sprintf("message larger than %d bytes", s.opts.Limits.MaxSize))
	}
	hdr := lowerHeader(req.Header)
	who := s.rspamdRequest(hdr)
	if label != 0 {
		if s.opts.Learner == nil {
			return httpError(http.StatusForbidden, "learning is disabled on this server")
		}
		if perr := s.authorizeLearn(ctx, req.Header.Get("Password"), label); perr != nil {
			return httpError(http.StatusForbidden, perr.Msg)
		}
		return s.httpLearn(ctx, body, label, who.User)
	}
	v, perr := s.verdict(ctx, body, who, rspamdEnvelope(ProtoHTTP, hdr))
	if perr != nil {
		return httpError(httpStatus(perr.Code), perr.Msg)
	}
	b, err := json.Marshal(s.checkReply(v))
	if err != nil {
		return httpError(http.StatusInternalServerError, err.Error())
	}
	return httpReply(http.StatusOK, "application/json", b)
}

// httpLearn learns like rspamd's controller: 200 {"success":true}, or 208
// with an error text when the message was learned as this class before.
func (s *Server) httpLearn(ctx context.Context, body []byte, label learner.Label, user string) []byte {
	if s.opts.Learner == nil {
		return httpError(http.StatusForbidden, "learning is disabled on this server")
	}
	out, err := s.learn(ctx, body, label, user)
	if err != nil {
		perr := s.learnError(err)
		return httpError(httpStatus(perr.Code), perr.Msg)
	}
	s.count.learns.Inc()
	if out == learner.AlreadyLearned {
		return httpError(http.StatusAlreadyReported, "message has been already learned as "+label.String()+", ignore it")
	}
	return httpReply(http.StatusOK, "application/json", []byte(`{"success":true}`))
}

// checkReply is rspamd's /checkv2 answer, the fields clients read.
type checkReply struct {
	IsSkipped     bool                  `json:"is_skipped"`
	Score         float64               `json:"score"`
	RequiredScore float64               `json:"required_score"`
	Action        string                `json:"action"`
	Thresholds    map[string]float64    `json:"thresholds"`
	Symbols       map[string]jsonSymbol `json:"symbols"`
	Messages      map[string]string     `json:"messages"`
}

type jsonSymbol struct {
	Name        string   `json:"name"`
	Score       float64  `json:"score"`
	MetricScore float64  `json:"metric_score"`
	Description string   `json:"description,omitempty"`
	Options     []string `json:"options,omitempty"`
}

func (s *Server) checkReply(v *scan.Verdict) checkReply {
	t := v.Thresholds
	r := checkReply{
		Score:         round2(v.Score),
		RequiredScore: s.rejectScore(v),
		Action:        v.Action.String(),
		Thresholds:    map[string]float64{},
		Symbols:       map[string]jsonSymbol{},
		Messages:      map[string]string{},
	}
	for name, at := range map[string]float64{"reject": t.Reject, "greylist": t.Greylist, "rewrite subject": t.RewriteSubject, "add header": t.AddHeader} {
		if at > 0 {
			r.Thresholds[name] = at
		}
	}
	for _, sym := range v.Symbols {
		js := jsonSymbol{Name: sym.Name, Score: round2(sym.Score), MetricScore: round2(sym.Score), Description: describe(sym)}
		if sym.Detail != "" {
			js.Options = []string{sym.Detail}
		}
		r.Symbols[sym.Name] = js
	}
	if v.Silent != "" {
		r.Messages["bayes"] = "bayes silent: " + v.Silent
	}
	if v.Truncated != "" {
		r.Messages["truncated"] = v.Truncated
	}
	return r
}

func round2(f float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', 2, 64), 64)
	return v
}

func lowerHeader(h http.Header) map[string][]string {
	out := make(map[string][]string, len(h))
	for k, v := range h {
		out[strings.ToLower(k)] = v
	}
	return out
}

// httpStatus maps a sysexits code to an HTTP status.
func httpStatus(code int) int {
	switch code {
	case exDataErr, exProtocol:
		return http.StatusBadRequest
	case exTempFail, exUnavailable:
		return http.StatusServiceUnavailable
	case exTimeout:
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// httpError is rspamd's error shape: {"error": "text"}.
func httpError(status int, msg string) []byte {
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	return httpReply(status, "application/json", b)
}

func httpReply(status int, ctype string, body []byte) []byte {
	out := fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nConnection: close\r\nServer: sluice\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		status, http.StatusText(status), ctype, len(body))
	return append(out, body...)
}

// errBudget is returned by a budgetReader that has given all it may.
var errBudget = errors.New("spamd: request header too large")

// budgetReader reads at most n bytes from r (n < 0: no bound), then fails
// with errBudget: it bounds what the HTTP parser buffers for headers.
type budgetReader struct {
	r io.Reader
	n int64
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.n < 0 {
		return b.r.Read(p)
	}
	if b.n == 0 {
		return 0, errBudget
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= int64(n)
	return n, err
}
