package spamd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/netip"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sluicemail/sluice/learner"
	"github.com/sluicemail/sluice/lifecycle"
	"github.com/sluicemail/sluice/metrics"
	"github.com/sluicemail/sluice/scan"
	"github.com/sluicemail/sluice/spamheader"
	"github.com/sluicemail/sluice/tokenizer"
)

// Scanner scans one message: *scan.Scanner.
type Scanner interface {
	Scan(ctx context.Context, r io.Reader, req scan.Request) (*scan.Verdict, error)
}

// Options configure a Server. Zero values take the defaults named.
type Options struct {
	Scanner Scanner // required
	Learner Learner // nil: TELL and /learn* are refused
	// LearnPassword lets learns over TCP through: spamd's TELL and
	// rspamd's /learnspam and /learnham must carry it in a Password
	// header (rspamc -P). Learns over a unix socket need none: the
	// socket's mode and group say who may connect. Without it every
	// learn over TCP is refused (EX_NOPERM, HTTP 403). Every refusal is
	// logged and counted (Counters.LearnsRefused).
	LearnPassword string
	// Profiles choose a message's settings profile: rspamd's Settings-ID
	// header names one, else the recipients (spamd's User, rspamd's
	// Deliver-To and Rcpt) are matched; nil: no profiles.
	Profiles ProfileMatcher
	Limits   Limits // defaults: 10 MiB, 1024 header lines, 8 KiB lines
	// HeaderTimeout bounds the wait for a request's line and header
	// fields, from the connection's start (default 10s): an idle or slow
	// client holds a connection no longer than that.
	HeaderTimeout time.Duration
	// Timeout bounds one request: reading it, scanning or learning, and
	// writing the reply (default 60s; Exim waits 2 minutes).
	Timeout time.Duration
	// MaxConns bounds connections served at once; one more is refused at
	// once (default 512).
	MaxConns int
	// MaxConnsPerClient bounds the connections from one client IP address
	// (default 64). Loopback clients are exempt: every local client, the
	// MTA included, shares 127.0.0.1, and MaxConns with HeaderTimeout
	// bound them.
	MaxConnsPerClient int
	// Headers choose the optional X-Spam-* fields of PROCESS and HEADERS
	// (X-Spam-Report, X-Spamd-Result, X-Spam); the zero value:
	// SpamAssassin's five.
	Headers spamheader.Options
	// Feed takes a scan record of every verdict (the learner's scan
	// record socket, milter.feed_socket), without blocking; nil: none.
	Feed   RecordSender
	Logger *slog.Logger // default: discard
}

// Default limits.
const (
	DefaultMaxSize       = 10 << 20
	DefaultMaxHeaders    = 1024
	DefaultMaxLineLength = 8 << 10
	DefaultHeaderTimeout = 10 * time.Second
	DefaultTimeout       = 60 * time.Second
	DefaultMaxConns      = 512
	DefaultMaxPerClient  = 64
)

func (o Options) withDefaults() Options {
	if o.Limits.MaxSize <= 0 {
		o.Limits.MaxSize = DefaultMaxSize
	}
	if o.Limits.MaxHeaders <= 0 {
		o.Limits.MaxHeaders = DefaultMaxHeaders
	}
	if o.Limits.MaxLineLength <= 0 {
		o.Limits.MaxLineLength = DefaultMaxLineLength
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.HeaderTimeout <= 0 {
		o.HeaderTimeout = DefaultHeaderTimeout
	}
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.MaxConnsPerClient <= 0 {
		o.MaxConnsPerClient = DefaultMaxPerClient
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// After a reply: the time it may take to write, and how long and how much
// the server reads of what the client still sends before closing.
const (
	writeGrace = 10 * time.Second
	drainTime  = time.Second
	drainBytes = 1 << 20
)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = lifecycle.ErrServerClosed

// Server answers spamd, legacy rspamd and rspamd HTTP requests on any
// number of listeners. It is safe for concurrent use. Accepting, caps,
// tracking and shutting down are lifecycle's: a connection over a cap is
// closed at once, never left in the backlog behind idle ones.
type Server struct {
	opts  Options
	log   *slog.Logger
	count counters
	ids   atomic.Uint64 // request ids of the log lines, one per connection
	srv   *lifecycle.Server
	pw    learner.Password
}

// New returns a Server; Serve starts it.
func New(opts Options) *Server {
	opts = opts.withDefaults()
	s := &Server{opts: opts, log: opts.Logger, pw: learner.NewPassword(opts.LearnPassword), count: newCounters()}
	s.srv = lifecycle.New(s.serveConn, lifecycle.Options{
		Name: "spamd", Logger: opts.Logger,
		MaxConns: opts.MaxConns, MaxPerClient: opts.MaxConnsPerClient, Exempt: netip.Addr.IsLoopback,
	})
	return s
}

// Serve accepts connections on ln until Shutdown or Close, and returns
// ErrServerClosed then; temporary accept errors (out of descriptors
// included) are retried with a growing pause, others returned.
func (s *Server) Serve(ln net.Listener) error { return s.srv.Serve(ln) }

// Shutdown stops accepting, ends connections that have not started a
// request, lets the requests in flight finish until ctx is done, then
// closes what is left (Close). It returns ctx's error if it had to cut
// requests short.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

// Close stops at once: listeners and connections are closed and requests in
// flight are cancelled.
func (s *Server) Close() error { return s.srv.Close() }

// serveConn serves the one request of a connection and closes it. A panic
// ends only this connection (and is counted and logged with its stack).
func (s *Server) serveConn(base context.Context, c *lifecycle.Conn) {
	s.count.conns.Inc()
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			s.count.panics.Inc()
			s.log.Error("panic serving connection", "remote", remote(c), "panic", p, "stack", string(debug.Stack()))
			c.Write(spamdError(protoErr(exSoftware, "internal error")))
		}
	}()
	// Two deadlines from the start: a short one for the request line and
	// header fields, so that idle and slow clients let go of their
	// connection soon, and one for the whole request (reading the
	// message, scanning it). The reply, even one that says time ran out,
	// gets a short grace of its own.
	deadline := start.Add(s.opts.Timeout)
	headerDeadline := start.Add(min(s.opts.HeaderTimeout, s.opts.Timeout))
	br := bufio.NewReaderSize(c, s.opts.Limits.MaxLineLength+2)
	if !c.ArmRead(headerDeadline) {
		return
	}
	if _, err := br.Peek(1); err != nil {
		if c.Draining() || errors.Is(err, io.EOF) {
			return // closed before a request: a health check, or shutdown
		}
	}
	c.SetBusy(true)
	if err := c.SetWriteDeadline(deadline); err != nil {
		s.log.Debug("set deadline", "err", err)
	}
	ctx, cancel := context.WithDeadline(base, deadline)
	defer cancel()
	ctx = context.WithValue(ctx, peerKey{}, peer{id: s.ids.Add(1), unix: c.LocalAddr().Network() == "unix", remote: remote(c)})
	bodyPhase := func() { c.SetReadDeadline(deadline) }
	reply, proto, err := s.handle(ctx, br, bodyPhase)
	if err != nil {
		s.noteError(c, proto, err)
	}
	c.SetWriteDeadline(time.Now().Add(min(s.opts.Timeout, writeGrace)))
	if len(reply) > 0 {
		if _, werr := c.Write(reply); werr != nil {
			s.noteError(c, proto, fmt.Errorf("spamd: write reply: %w", werr))
			return
		}
	}
	// Half-close first so that a client reading to EOF (Exim) sees it at
	// once; then read what the client still sends (after an error reply to
	// a request cut short), briefly and boundedly, so that closing with
	// unread input does not reset the connection before the client read
	// the reply.
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	c.SetReadDeadline(time.Now().Add(min(s.opts.Timeout, drainTime)))
	io.CopyN(io.Discard, br, drainBytes)
	s.log.Debug("request served", "remote", remote(c), "proto", proto.String(), "duration", time.Since(start))
}

func (s *Server) noteError(c net.Conn, proto Proto, err error) {
	s.count.errors.Inc()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		s.count.timeouts.Inc()
	}
	var perr *ProtocolError
	if errors.As(err, &perr) {
		s.log.Info("bad request", "remote", remote(c), "proto", proto.String(), "err", err)
		return
	}
	s.log.Info("request failed", "remote", remote(c), "proto", proto.String(), "err", err)
}

func remote(c net.Conn) string {
	if a := c.RemoteAddr(); a != nil && a.String() != "" {
		return a.String()
	}
	return "local"
}

// handle reads one request from br and returns the reply to write (nil for
// none), the protocol, and the error that made the request fail, if any
// (for logs and counters; the reply already says it to the client).
//
// bodyPhase is called once the request line and header fields are read:
// it moves the read deadline from the header's to the request's.
func (s *Server) handle(ctx context.Context, br *bufio.Reader, bodyPhase func()) (reply []byte, proto Proto, err error) {
	line, err := readLine(br, s.opts.Limits.MaxLineLength)
	if err != nil {
		if errors.Is(err, errLineTooLong) {
			perr := protoErr(exProtocol, "request line longer than %d bytes", s.opts.Limits.MaxLineLength)
			return spamdError(perr), 0, perr
		}
		if errors.Is(err, io.EOF) {
			return nil, 0, nil // connected and closed: a health check
		}
		return spamdError(ioError(err)), 0, fmt.Errorf("spamd: read request line: %w", err)
	}
	if isHTTPLine(line) {
		return s.serveHTTP(ctx, br, line, bodyPhase), ProtoHTTP, nil
	}
	req, err := readRequest(br, line, s.opts.Limits, bodyPhase)
	if err != nil {
		var perr *ProtocolError
		if !errors.As(err, &perr) {
			perr = ioError(err)
		}
		if isRspamcLine(line) {
			return rspamcError(perr), ProtoRspamc, err
		}
		return spamdError(perr), ProtoSpamd, err
	}
	if req.Truncated {
		s.count.truncated.Inc()
	}
	s.count.requests[req.Proto].Inc()
	if req.Proto == ProtoRspamc {
		return s.serveRspamc(ctx, req), req.Proto, nil
	}
	return s.serveSpamd(ctx, req), req.Proto, nil
}

func isRspamcLine(line string) bool {
	p, _, _, err := ParseRequestLine(line)
	return err == nil && p == ProtoRspamc
}

// ioError is the reply to a request that could not be read in full.
func ioError(err error) *ProtocolError {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return protoErr(exTimeout, "request not received in time")
	}
	return protoErr(exIOErr, "request cut short: %v", err)
}

// ProfileMatcher picks settings profiles; *profile.Matcher implements it.
type ProfileMatcher interface {
	// Match returns the profile of the first recipient that has one.
	Match(recipients ...string) string
	// Named resolves a profile named by a client: ok is false for an
	// unknown name.
	Named(id string) (name string, ok bool)
}

// profileOf is the settings profile of a message for its recipients.
func (s *Server) profileOf(recipients ...string) string {
	if s.opts.Profiles == nil {
		return ""
	}
	return s.opts.Profiles.Match(recipients...)
}

// envelope is what a client said of a message besides its text, for the
// log line: rspamd's Queue-Id, IP, From and Rcpt headers (spamc sends
// none of them).
type envelope struct {
	proto                 Proto
	queueID, client, from string
	rcpts                 int
	auth                  bool // rspamd's User header: an authenticated SMTP session
}

// rspamdEnvelope reads an rspamd request's envelope headers (lower-case
// names).
func rspamdEnvelope(proto Proto, h map[string][]string) envelope {
	first := func(k string) string {
		if v := h[k]; len(v) > 0 {
			return metrics.Clip(trimAngle(strings.TrimSpace(v[0])))
		}
		return ""
	}
	return envelope{proto: proto, queueID: first("queue-id"), client: first("ip"), from: first("from"), rcpts: len(h["rcpt"]),
		auth: first("user") != ""}
}

// verdict scans a message (req names its user and profile), counts and
// logs it (one line per message), and maps failures to reply codes.
func (s *Server) verdict(ctx context.Context, msg []byte, req scan.Request, env envelope) (*scan.Verdict, *ProtocolError) {
	p, _ := ctx.Value(peerKey{}).(peer)
	start := time.Now()
	req.KeepTokens = s.opts.Feed != nil // for autolearn
	v, err := s.opts.Scanner.Scan(ctx, bytes.NewReader(msg), req)
	elapsed := time.Since(start)
	if err == nil {
		s.count.scanned(v, elapsed)
		s.sendRecord(v, req, env)
		s.log.Info("message scanned", "request_id", p.id, "queue_id", env.queueID, "proto", env.proto.String(), "peer", p.remote,
			"client_ip", env.client, "from", env.from, "rcpts", env.rcpts, "user", metrics.Clip(req.User), "profile", v.Profile,
			"score", math.Round(v.Score*100)/100, "action", metrics.ActionLabel(v.Action),
			"symbols", metrics.SymbolList(v.Symbols), "size", len(msg), "elapsed", elapsed)
		return v, nil
	}
	log := s.log.With("request_id", p.id, "queue_id", env.queueID, "proto", env.proto.String(), "peer", p.remote,
		"client_ip", env.client, "from", env.from, "size", len(msg), "elapsed", elapsed)
	switch {
	case tokenizer.IsNotMessage(err):
		log.Info("message not scanned: not a mail message")
		return nil, protoErr(exDataErr, "input is not a mail message")
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		log.Warn("message not scanned: out of time", "err", err)
		return nil, protoErr(exTimeout, "scan took too long")
	}
	log.Error("scan failed", "err", err)
	return nil, protoErr(exTempFail, "scan failed, try again later")
}

// rejectScore is the required score of the rspamd protocols: the reject
// threshold of the verdict (its profile's), or the add-header one when
// rejecting is off.
func (s *Server) rejectScore(v *scan.Verdict) float64 {
	if r := v.Thresholds.Reject; r > 0 {
		return r
	}
	return v.Required
}

// Counters is a snapshot of a Server's totals since it started.
type Counters struct {
	Connections uint64            `json:"connections"`
	Requests    map[string]uint64 `json:"requests"` // by protocol: spamd, rspamc, http
	Scans       uint64            `json:"scans"`
	Learns      uint64            `json:"learns"`
	// LearnsRefused counts learns refused as not authorized: over TCP
	// without the password (or with none set).
	LearnsRefused uint64 `json:"learns_refused"`
	Errors        uint64 `json:"errors"`    // requests that failed (bad, cut short, timed out)
	Timeouts      uint64 `json:"timeouts"`  // of which timed out
	Panics        uint64 `json:"panics"`    // recovered
	Truncated     uint64 `json:"truncated"` // messages over the size limit
	Refused       uint64 `json:"refused"`   // connections over max_connections or the per-client cap
	AcceptRetry   uint64 `json:"accept_retries"`
}

// LogValue writes the counters as attributes named like their JSON keys
// (requests by protocol as requests_<proto>), as the milter's are.
func (c Counters) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.Uint64("connections", c.Connections), slog.Uint64("scans", c.Scans),
		slog.Uint64("learns", c.Learns), slog.Uint64("learns_refused", c.LearnsRefused),
		slog.Uint64("errors", c.Errors), slog.Uint64("timeouts", c.Timeouts),
		slog.Uint64("panics", c.Panics), slog.Uint64("truncated", c.Truncated),
		slog.Uint64("refused", c.Refused), slog.Uint64("accept_retries", c.AcceptRetry),
	}
	for _, proto := range slices.Sorted(maps.Keys(c.Requests)) {
		attrs = append(attrs, slog.Uint64("requests_"+proto, c.Requests[proto]))
	}
	return slog.GroupValue(attrs...)
}

// Counters returns the totals so far.
func (s *Server) Counters() Counters {
	c := Counters{
		Connections: value(s.count.conns), Requests: map[string]uint64{},
		Scans: s.count.scans(), Learns: value(s.count.learns), LearnsRefused: value(s.count.learnsRefused),
		Errors: value(s.count.errors), Timeouts: value(s.count.timeouts),
		Panics: value(s.count.panics), Truncated: value(s.count.truncated),
	}
	lc := s.srv.Counters()
	c.Refused, c.AcceptRetry = lc.RefusedFull+lc.RefusedClient, lc.AcceptErrors
	c.Panics += lc.Panics
	for p := ProtoSpamd; p <= ProtoHTTP; p++ {
		c.Requests[p.String()] = value(s.count.requests[p])
	}
	return c
}
