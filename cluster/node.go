package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/sluicemail/sluice/learn"
)

// StreamName is the JetStream stream of learn events; its subjects are
// SubjectPrefix + origin.
const (
	StreamName    = "SLUICE_LEARN"
	SubjectPrefix = "sluice.learn."
)

// Applier is the statfile side: it applies events in the stream's order,
// exactly once (implemented by learn.Learner).
type Applier interface {
	// ApplyEvent applies ev, the stream's message streamSeq. It is
	// idempotent: streamSeq <= Cursor() is a no-op.
	ApplyEvent(ev learn.Event, streamSeq uint64) (learn.Outcome, error)
	// Cursor is the last stream sequence applied (0: none).
	Cursor() (uint64, error)
	// Marks are, per origin, the highest origin sequence applied.
	Marks() (map[string]uint64, error)
}

// Options configure a Node.
type Options struct {
	Site   string // the site; events of another site are never applied
	Origin string // this host, never reused; the subject sluice.learn.<origin>
	// OutboxPath is the outbox file (below the data directory).
	OutboxPath     string
	MaxOutboxBytes int64 // bytes of events waiting for the broker (0: 256 MiB)

	// The stream, created or updated by every node at start.
	Replicas   int           // 3 with three or more brokers, 1 on a hub
	MaxAge     time.Duration // retention (0: 14 days)
	MaxBytes   int64         // (0: no limit)
	MaxMsgs    int64         // (0: no limit)
	Duplicates time.Duration // dedup window of Nats-Msg-Id (0: 2 minutes)

	// OpTimeout bounds each request to the broker (0: 5s); the backoff
	// between failed attempts goes from RetryMin to RetryMax (0: 50ms,
	// 5s); FetchWait is the longest wait for new events (0: 1s).
	OpTimeout, RetryMin, RetryMax, FetchWait time.Duration
	FetchBatch                               int // events fetched at once (0: 256)
	// StallAfter: when the stream is ahead and no event came for this
	// long, the consumer is made anew (0: 5s).
	StallAfter time.Duration
	// ConfirmStop: how long the stream must keep saying that the cursor
	// is outside it (aged out, or past its end) before applying stops
	// for a re-bootstrap. Right after a partition heals, a stream's info
	// can report an old state for a moment (seen with a 30 s cut: last
	// sequence 6 while 26 were committed); one such read must not stop a
	// host for good. Until then the apply session retries, applying
	// nothing.
	ConfirmStop time.Duration

	Logger  *slog.Logger
	Metrics *Metrics // nil: not exported
}

func (o *Options) defaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&o.MaxAge, 14*24*time.Hour)
	set(&o.Duplicates, 2*time.Minute)
	set(&o.OpTimeout, 5*time.Second)
	set(&o.RetryMin, 50*time.Millisecond)
	set(&o.RetryMax, 5*time.Second)
	set(&o.FetchWait, time.Second)
	set(&o.StallAfter, 5*time.Second)
	set(&o.ConfirmStop, 20*time.Second)
	if o.FetchBatch <= 0 {
		o.FetchBatch = 256
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
}

// ClientOptions configure the connection to a NATS server.
type ClientOptions struct {
	Name            string      // connection name, shown by the server
	TLS             *tls.Config // nil: plain (loopback)
	CredentialsFile string      // NATS credentials (JWT and seed) file
	Timeout         time.Duration
}

// Connect connects to the NATS servers of url (comma-separated) and keeps
// reconnecting for ever: a learner outlives its broker's restarts.
func Connect(url string, o ClientOptions) (*nats.Conn, error) {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.Timeout(o.Timeout),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(true),
		nats.PingInterval(5 * time.Second),
	}
	if o.TLS != nil {
		opts = append(opts, nats.Secure(o.TLS))
	}
	if o.CredentialsFile != "" {
		opts = append(opts, nats.UserCredentials(o.CredentialsFile))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to nats %s: %w", url, err)
	}
	return nc, nil
}

// Node moves one host's learn events: it publishes the host's own (from
// its outbox) and applies everybody's in the stream's order.
type Node struct {
	opts    Options
	nc      *nats.Conn
	js      jetstream.JetStream
	app     Applier
	outbox  *Outbox
	subject string
	log     *slog.Logger
	m       *Metrics
	wake    chan struct{} // a new event is in the outbox
	// outsideSince: when the stream first said the cursor is outside it
	// (zero: it does not); owned by the apply goroutine.
	outsideSince time.Time

	mu sync.Mutex
	st Status

	afterPublish  func(seq uint64) hookAction // tests only
	beforePublish func(seq uint64) hookAction // tests only
}

// NewNode opens the outbox and returns a node publishing and applying
// through nc (which the caller closes, after Run returns).
func NewNode(nc *nats.Conn, app Applier, opts Options) (*Node, error) {
	opts.defaults()
	if opts.Site == "" || len(opts.Site) > MaxNameLen || !validToken(opts.Origin) {
		return nil, fmt.Errorf("cluster: site %q and origin %q must be set (origin: letters, digits, - and _ only)", opts.Site, opts.Origin)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("cluster: jetstream: %w", err)
	}
	ob, err := OpenOutbox(opts.OutboxPath, opts.MaxOutboxBytes, opts.Logger)
	if err != nil {
		return nil, err
	}
	n := &Node{opts: opts, nc: nc, js: js, app: app, outbox: ob, subject: SubjectPrefix + opts.Origin,
		log: opts.Logger.With("origin", opts.Origin), m: opts.Metrics, wake: make(chan struct{}, 1)}
	n.st = Status{Site: opts.Site, Origin: opts.Origin}
	// The broker's max_payload bounds an event; headers and subject take
	// a little of it.
	if mp := nc.MaxPayload(); mp > 1024 {
		ob.maxEvent = int(mp) - 512
	}
	n.m.outbox.Set(float64(ob.Len()))
	return n, nil
}

// validToken: an origin is one subject token, at most MaxNameLen bytes.
func validToken(s string) bool {
	if s == "" || len(s) > MaxNameLen {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Publish queues ev, a learn of this host: it gets the node's site and
// origin and the origin's next sequence, and is in the outbox (fsync'd)
// when Publish returns. It takes effect on this host, as on the others,
// when it comes back through the stream.
func (n *Node) Publish(ev learn.Event) (uint64, error) {
	ev.Site, ev.Origin = n.opts.Site, n.opts.Origin
	seq, err := n.outbox.Append(&ev)
	if err != nil {
		return 0, err
	}
	n.m.outbox.Set(float64(n.outbox.Len()))
	select {
	case n.wake <- struct{}{}:
	default:
	}
	return seq, nil
}

// Run makes sure the stream exists, then publishes the outbox and
// applies the stream until ctx is cancelled; it returns ctx's error. A
// condition it cannot get past (the origin's name taken by another
// host's events, the cursor behind the stream's retention, an event it
// cannot decode) stops that half and shows in Status; the other half
// goes on.
func (n *Node) Run(ctx context.Context) error {
	if err := n.ensureStream(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	wg.Go(func() { n.publishLoop(ctx) })
	wg.Go(func() { n.applyLoop(ctx) })
	wg.Wait()
	return ctx.Err()
}

// Close closes the outbox (after Run returned).
func (n *Node) Close() error { return n.outbox.Close() }

// streamConfig is the stream every node creates or updates.
func (n *Node) streamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        StreamName,
		Description: "Sluice learn events, one subject per origin host",
		Subjects:    []string{SubjectPrefix + ">"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    n.opts.Replicas,
		MaxAge:      n.opts.MaxAge,
		MaxBytes:    orNoLimit(n.opts.MaxBytes),
		MaxMsgs:     orNoLimit(n.opts.MaxMsgs),
		MaxMsgSize:  16 << 20,
		Duplicates:  n.opts.Duplicates,
		Discard:     jetstream.DiscardOld,
	}
}

func orNoLimit(v int64) int64 {
	if v <= 0 {
		return -1
	}
	return v
}

// ensureStream creates or updates the stream, retrying with a short
// deadline per attempt (a first attempt made before the cluster elected
// its meta leader would otherwise wait its whole deadline).
func (n *Node) ensureStream(ctx context.Context) error {
	cfg := n.streamConfig()
	b := n.backoff()
	for {
		actx, cancel := context.WithTimeout(ctx, n.opts.OpTimeout)
		_, err := n.js.CreateOrUpdateStream(actx, cfg)
		cancel()
		if err == nil {
			return nil
		}
		n.fail(fmt.Errorf("create stream %s: %w", StreamName, err))
		if err := b.wait(ctx); err != nil {
			return err
		}
	}
}

// backoff is an exponential wait between failed attempts.
type backoff struct{ cur, min, max time.Duration }

func (n *Node) backoff() *backoff {
	return &backoff{min: n.opts.RetryMin, max: n.opts.RetryMax}
}

func (b *backoff) wait(ctx context.Context) error {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	t := time.NewTimer(b.cur)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (b *backoff) reset() { b.cur = 0 }
