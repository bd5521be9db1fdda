package milter

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/textproto"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-milter"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicemail/sluice/feed"
	"github.com/sluicemail/sluice/lifecycle"
	"github.com/sluicemail/sluice/scan"
	"github.com/sluicemail/sluice/spamheader"
)

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = lifecycle.ErrServerClosed

// Scanner is the scan pipeline; *scan.Scanner implements it.
type Scanner interface {
	Scan(ctx context.Context, r io.Reader, req scan.Request) (*scan.Verdict, error)
}

// InputNamer names the network inputs of Verdict.Inputs; *scan.Scanner
// implements it. With a Feed, a scanner that does sends each record with
// the input vector, for the learner to train the network.
type InputNamer interface {
	InputNames() []string
}

// ProfileMatcher maps recipients to a settings profile name ("" none);
// *profile.Matcher implements it.
type ProfileMatcher interface {
	Match(recipients ...string) string
}

// RecordSender takes scan records without blocking; *feed.Sender
// implements it.
type RecordSender interface {
	Send(r *feed.Record) error
	Sent() uint64
	Dropped() uint64
}

// DefaultAction is the verdict given when Sluice itself fails.
type DefaultAction uint8

const (
	DefaultAccept   DefaultAction = iota // fail-open: deliver unscanned
	DefaultTempFail                      // 451: the client retries later
	DefaultReject                        // 550
)

// ParseDefaultAction reads accept, tempfail or reject.
func ParseDefaultAction(s string) (DefaultAction, error) {
	switch s {
	case "accept":
		return DefaultAccept, nil
	case "tempfail":
		return DefaultTempFail, nil
	case "reject":
		return DefaultReject, nil
	}
	return 0, fmt.Errorf("milter: default action %q is not accept, tempfail or reject", s)
}

// Options configure a Server. Zero durations and sizes take the defaults
// noted; Scanner is required.
type Options struct {
	Scanner     Scanner
	Logger      *slog.Logger  // default: discard
	MaxSize     int64         // largest message scanned (10 MiB)
	IdleTimeout time.Duration // wait for the next command (10 min)
	ReadTimeout time.Duration // finish a command, write a reply (1 min)
	// MaxConns bounds the MTA connections served at once; one more is
	// refused at once (the MTA applies milter_default_action). 0:
	// DefaultMaxConns.
	MaxConns        int
	DefaultAction   DefaultAction
	RejectReply     string // "550 5.7.1 Message rejected as spam"
	GreylistReply   string // "451 4.7.1 Try again later"
	SubjectTemplate string // "***SPAM*** %s"
	Quarantine      bool   // quarantine instead of reject
	SkipAuth        bool   // accept authenticated senders unscanned
	TrustedNetworks []netip.Prefix
	UserHeader      string // header naming the user; "" = first recipient
	// Profiles choose a message's settings profile from the user header
	// (when set and matched) or the first envelope recipient that has
	// one; nil: no profiles.
	Profiles ProfileMatcher
	Feed     RecordSender // nil: no scan records
	// Greylist remembers triplets for the greylist action: a message it
	// lets pass (a retry after the delay) gets the action its score has
	// without greylisting. nil: the greylist action always defers.
	Greylist Greylister
	// Headers choose the optional X-Spam-* fields (X-Spam-Report,
	// X-Spamd-Result, X-Spam); the zero value: SpamAssassin's five.
	Headers spamheader.Options
	Now     func() time.Time
}

// Greylister is the triplet memory of the greylist action (package
// greylist): Check records an attempt and reports whether it may pass.
type Greylister interface {
	Check(client netip.Addr, from string, rcpts []string) bool
}

// maxRcpts bounds the recipients a message keeps for Greylister and the
// lists.
const maxRcpts = 1000

func (o *Options) withDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxSize <= 0 {
		o.MaxSize = 10 << 20
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 10 * time.Minute
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = time.Minute
	}
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.RejectReply == "" {
		o.RejectReply = "550 5.7.1 Message rejected as spam"
	}
	if o.GreylistReply == "" {
		o.GreylistReply = "451 4.7.1 Try again later"
	}
	if o.SubjectTemplate == "" {
		o.SubjectTemplate = "***SPAM*** %s"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// DefaultMaxConns is the default bound on concurrent MTA connections:
// far above what a Postfix (default_process_limit 100) or Sendmail opens,
// well below the 1024 descriptors of a default nofile limit.
const DefaultMaxConns = 768

// Actions is what the server asks the MTA to allow: add and change
// headers, quarantine. It stays within the mask a protocol-2 peer offers.
const Actions = milter.OptAddHeader | milter.OptChangeHeader | milter.OptQuarantine

// Server serves the milter protocol to any number of MTA connections.
type Server struct {
	opts   Options
	inputs []string // the scanner's network input names, for scan records
	ours   []string // canonical names of the header fields Sluice writes
	log    *slog.Logger
	m      counters
	ids    atomic.Uint64
	bufs   sync.Pool // *bytes.Buffer for message contents

	srv *lifecycle.Server
}

// New returns a server; call Serve with a listener from Listen.
func New(opts Options) *Server {
	opts.withDefaults()
	var inputs []string
	if in, ok := opts.Scanner.(InputNamer); ok && opts.Feed != nil {
		inputs = in.InputNames()
	}
	s := &Server{opts: opts, inputs: inputs, log: opts.Logger, m: newCounters()}
	for _, n := range opts.Headers.Names() {
		s.ours = append(s.ours, textproto.CanonicalMIMEHeaderKey(n))
	}
	s.srv = lifecycle.New(s.handle, lifecycle.Options{Name: "milter", Logger: opts.Logger, MaxConns: opts.MaxConns})
	return s
}

// Serve accepts connections on ln until Shutdown (then it returns
// ErrServerClosed) or a permanent accept error; temporary ones (out of
// descriptors included) are retried with a growing pause.
func (s *Server) Serve(ln net.Listener) error { return s.srv.Serve(ln) }

// handle serves one connection with its own go-milter Server, whose
// backend factory closes over the connection.
func (s *Server) handle(_ context.Context, lc *lifecycle.Conn) {
	s.m.connections.Inc()
	c := newConn(lc, s, s.ids.Add(1))
	defer c.Close()
	ms := &milter.Server{
		NewMilter: func() milter.Milter { return newSession(s, c) },
		Actions:   Actions,
	}
	_ = ms.Serve(&oneConn{c: c}) // returns when the connection is closed
}

// Shutdown stops accepting, closes idle connections, and waits for the
// messages in flight; when ctx ends first it closes the rest and returns
// ctx's error.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

// Register registers the server's metrics on reg (one server per
// registry): the counters of package milter's metrics.go, and the
// refused connections and scan records as counters read at scrape time.
func (s *Server) Register(reg prometheus.Registerer) error {
	cs := append(s.m.collectors(),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "sluice_milter_refused_total",
			Help: "MTA connections closed at once because max_connections were open (the MTA applies its milter_default_action).",
		}, func() float64 { lc := s.srv.Counters(); return float64(lc.RefusedFull + lc.RefusedClient) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "sluice_milter_panics_total",
			Help: "Connections ended by a recovered panic (counted in no other milter counter).",
		}, func() float64 { return float64(s.srv.Counters().Panics) }),
	)
	if f := s.opts.Feed; f != nil {
		records := prometheus.NewDesc("sluice_milter_records_total",
			"Scan records for the learner (autolearn, the network's training), by result: sent, or dropped (the learner's queue full or down).",
			[]string{"result"}, nil)
		cs = append(cs, recordsCollector{desc: records, feed: f})
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("milter: register metrics: %w", err)
		}
	}
	return nil
}

// recordsCollector reads the feed's own counts at scrape time.
type recordsCollector struct {
	desc *prometheus.Desc
	feed RecordSender
}

func (r recordsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- r.desc }

func (r recordsCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(r.desc, prometheus.CounterValue, float64(r.feed.Sent()), "sent")
	ch <- prometheus.MustNewConstMetric(r.desc, prometheus.CounterValue, float64(r.feed.Dropped()), "dropped")
}

// Counters returns a snapshot of the counters.
func (s *Server) Counters() Counters {
	c := s.m.snapshot()
	lc := s.srv.Counters()
	c.Refused = lc.RefusedFull + lc.RefusedClient
	c.Errors += lc.Panics
	if s.opts.Feed != nil {
		c.RecordsSent, c.RecordsDropped = s.opts.Feed.Sent(), s.opts.Feed.Dropped()
	}
	return c
}
