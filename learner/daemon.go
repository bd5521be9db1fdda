package learner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicemail/sluice/activity"
	"github.com/sluicemail/sluice/cluster"
	"github.com/sluicemail/sluice/feed"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/tokenizer"
)

// ErrStopped is returned for requests that arrive while the daemon stops.
var ErrStopped = errors.New("learner: stopping")

// Options configure a Daemon. Zero values take the defaults noted.
type Options struct {
	Logger        *slog.Logger  // default: discard
	Metrics       *Metrics      // default: unregistered counters
	Learn         learn.Options // tokenizer options, per-user statistics
	MaxBatch      int           // learns journaled per commit (256)
	MaxMessage    int64         // largest message of a request (32 MiB)
	Spool         *Spool        // nil: no spool to drain
	SpoolInterval time.Duration // spool drain period (30s)
	Autolearn     Autolearn     // autolearn thresholds and guards
	Receiver      *feed.Receiver
	RecordQueue   int // scan records waiting for autolearn (1024)
	// Neural trains the network from scan records and explicit learns;
	// no Neural.File: no training.
	Neural Neural
	// NeuralProfiles are the networks of settings profiles (use_settings),
	// each with its own File and PoolFile: a scan record of a profile
	// named here trains that profile's network; other records, and all
	// records without NeuralProfiles, train Neural's. An explicit learn
	// labels the message in every network's pools.
	NeuralProfiles map[string]Neural
	// Activity configures the activity log the daemon keeps (Activity):
	// its bounds, and its clock for tests.
	Activity activity.Options
	// ActivityFile keeps the activity log across restarts: read by New,
	// written every ActivitySave (10 min) when it changed and when Run
	// returns ("": not kept).
	ActivityFile string
	ActivitySave time.Duration
	// NewRescorer makes the networks' Rescorer from the statfile (nil:
	// pool samples keep the inputs of their scans).
	NewRescorer func(*mmapstore.Writer) Rescorer
	// Cluster configures snapshots and bootstrap when the daemon is a
	// host of a cluster (JoinCluster).
	Cluster ClusterOptions

	beforeCommit func() // tests: stands in for a slow disk
}

func (o *Options) withDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 256
	}
	if o.MaxMessage <= 0 {
		o.MaxMessage = 32 << 20
	}
	if o.SpoolInterval <= 0 {
		o.SpoolInterval = 30 * time.Second
	}
	if o.RecordQueue <= 0 {
		o.RecordQueue = 1024
	}
	if o.ActivitySave <= 0 {
		o.ActivitySave = 10 * time.Minute
	}
}

// Daemon serialises learns onto the statfile's single writer. Learn is
// safe for concurrent use: callers tokenize in their own goroutine, queue
// the result, and one committer goroutine journals whatever is queued as
// one mmapstore.Apply (one fsync), then answers every caller in it. Run
// owns the committer, the spool drainer and the autolearn workers.
type Daemon struct {
	w    *mmapstore.Writer
	l    *learn.Learner
	opts Options
	log  *slog.Logger
	m    *Metrics
	toks sync.Pool // *tokenizer.Tokenizer

	admit   sync.RWMutex // held for reading while a job is queued
	closed  bool         // under admit: no more jobs
	jobs    chan *job
	records chan *feed.Record
	feed    *LocalFeed
	act     *activity.Log
	saved   atomic.Uint64 // act.Recorded() when the activity file was last written
	// nets are the networks' trainers by settings profile, "" the default
	// one; empty without Options.Neural.File.
	nets map[string]*trainer

	// cl is the cluster this daemon is a host of (JoinCluster; nil:
	// none): learns are published to it, and it applies the stream
	// through Applier.
	cl *cluster.Host
	// lastSnapshot is the last snapshot this daemon stored (nil: none).
	lastSnapshot atomic.Pointer[cluster.SnapshotMeta]
	// apply is the state of the pipelined applies (clusterApplier).
	apply applyState

	fatalOnce sync.Once
	fatal     chan struct{} // closed when the writer failed for good
	running   atomic.Bool
}

// job is one queued learn; done gets exactly one result.
type job struct {
	label     Label
	user      string
	source    string
	res       *tokenizer.Result
	noRelearn bool // autolearn: no network label (learn's rank rule keeps users' classes)
	// fn, when set, is work on the writer in the commit goroutine (the
	// cluster's cursor and marks, a status read, a snapshot) instead of a
	// learn.
	fn func()
	// ev, when set, is a cluster event to apply (clusterApplier); no one
	// waits for it: done is nil.
	ev   *learn.StreamEvent
	done chan result
}

type result struct {
	out learn.Outcome
	err error
}

// New returns a Daemon writing through w. The caller keeps owning w and
// closes it after Run returns.
func New(w *mmapstore.Writer, opts Options) *Daemon {
	opts.withDefaults()
	d := &Daemon{
		w:       w,
		l:       learn.New(w, opts.Learn),
		opts:    opts,
		log:     opts.Logger,
		m:       opts.Metrics,
		jobs:    make(chan *job, opts.MaxBatch),
		records: make(chan *feed.Record, opts.RecordQueue),
		fatal:   make(chan struct{}),
		act:     activity.New(opts.Activity),
	}
	d.feed = &LocalFeed{ch: d.records, m: d.m, act: d.act}
	d.loadActivity()
	if opts.Neural.File != "" {
		var r Rescorer
		if opts.NewRescorer != nil {
			r = opts.NewRescorer(w)
		}
		n := opts.Neural
		n.Rescorer = r
		d.nets = map[string]*trainer{"": newTrainer(n, d.log, d.m)}
		for name, o := range opts.NeuralProfiles {
			if name != "" && o.File != "" {
				o.Rescorer = r
				d.nets[name] = newTrainer(o, d.log.With("profile", name), d.m)
			}
		}
	}
	tokOpts := opts.Learn.Tokenizer
	d.toks.New = func() any { return tokenizer.New(tokOpts) }
	return d
}

// Feed returns an in-process scan record sink for a milter in the same
// process (`sluice serve`); it implements milter.RecordSender.
func (d *Daemon) Feed() *LocalFeed { return d.feed }

// MaxMessage is the largest message a request may carry.
func (d *Daemon) MaxMessage() int64 { return d.opts.MaxMessage }

// Run commits learns until ctx ends, draining the spool (at start and
// every SpoolInterval) and autolearning from scan records meanwhile. On
// return every queued learn has been committed and answered, and the
// Receiver (if any) is closed. It returns an error only when the writer
// failed for good: the process should exit and replay its journal.
func (d *Daemon) Run(ctx context.Context) error {
	if !d.running.CompareAndSwap(false, true) {
		return errors.New("learner: Run called twice")
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var workers sync.WaitGroup
	committed := make(chan struct{})
	go func() {
		defer close(committed)
		d.commitLoop()
	}()
	if d.opts.Spool != nil {
		workers.Go(func() { d.spoolLoop(wctx) })
	}
	workers.Go(func() { d.autolearnLoop(wctx) })
	if d.opts.ActivityFile != "" {
		workers.Go(func() { d.saveActivityLoop(wctx) })
	}
	for _, t := range d.nets {
		workers.Go(func() { t.run(wctx) })
	}
	if d.cl != nil {
		workers.Go(func() { d.runCluster(wctx) })
	}
	if r := d.opts.Receiver; r != nil {
		workers.Go(func() { d.receiveLoop(r) })
		go func() {
			<-wctx.Done()
			if err := r.Close(); err != nil {
				d.log.Warn("close scan record socket", "err", err)
			}
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case <-d.fatal:
		err = errors.New("learner: the statfile writer failed; restart to replay the journal")
	}
	cancel()
	workers.Wait()
	d.admit.Lock()
	d.closed = true
	close(d.jobs)
	d.admit.Unlock()
	<-committed
	d.saveActivity()
	for _, t := range d.nets {
		if serr := t.save(); serr != nil {
			d.log.Warn("learner: save neural pools", "file", t.opts.PoolFile, "err", serr)
		}
	}
	return err
}

// Learn tokenizes req's message in the caller's goroutine, queues it and
// waits until it is durable. An error wrapping learn.ErrNotMessage means
// the input is not a message; ErrStopped and others mean try again later.
func (d *Daemon) Learn(ctx context.Context, req *Request) (learn.Outcome, error) {
	if err := req.validate(d.opts.MaxMessage); err != nil {
		return 0, err
	}
	tok := d.toks.Get().(*tokenizer.Tokenizer)
	res, err := tok.Tokenize(bytes.NewReader(req.Message))
	d.toks.Put(tok)
	if errors.Is(err, tokenizer.ErrNotMessage) {
		d.m.learn(req.Source, req.Label, "not_message")
		d.logLearn(req.Source, req.User, req.Label, "not_message", err)
		d.recordLearn(req.Source, req.User, req.Label, "not_message", [32]byte{})
		return 0, fmt.Errorf("%w: %v", learn.ErrNotMessage, err)
	}
	if err != nil {
		d.m.learn(req.Source, req.Label, "error")
		d.logLearn(req.Source, req.User, req.Label, "error", err)
		d.recordLearn(req.Source, req.User, req.Label, "error", [32]byte{})
		return 0, fmt.Errorf("learner: tokenize: %w", err)
	}
	return d.submit(ctx, &job{label: req.Label, user: req.User, source: req.Source, res: res})
}

func (d *Daemon) submit(ctx context.Context, j *job) (learn.Outcome, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("learner: queue: %w", err)
	}
	j.done = make(chan result, 1)
	d.admit.RLock()
	if d.closed {
		d.admit.RUnlock()
		return 0, ErrStopped
	}
	select {
	case d.jobs <- j:
	case <-ctx.Done():
		d.admit.RUnlock()
		return 0, fmt.Errorf("learner: queue: %w", ctx.Err())
	}
	d.admit.RUnlock()
	select {
	case r := <-j.done:
		return r.out, r.err
	case <-ctx.Done():
		// The learn may still be committed; a retry is "already learned".
		return 0, fmt.Errorf("learner: wait for commit: %w", ctx.Err())
	}
}

// commitLoop takes whatever is queued (up to MaxBatch) and commits it as
// one group, until the job channel is closed and empty. Writer work (fn)
// runs in queue order: what was queued before it is committed first.
// Consecutive cluster events (ev) are applied as groups (applyGroup).
func (d *Daemon) commitLoop() {
	batch := make([]*job, 0, d.opts.MaxBatch)
	var applies []*job
	flush := func() {
		if len(batch) > 0 {
			d.commit(batch)
			batch = batch[:0]
		}
		if len(applies) > 0 {
			d.applyGroup(applies)
			applies = applies[:0]
		}
	}
	for j := range d.jobs {
		for j != nil {
			switch {
			case j.ev != nil:
				if len(batch) > 0 {
					d.commit(batch)
					batch = batch[:0]
				}
				applies = append(applies, j)
			case j.fn != nil:
				flush()
				j.fn()
				j.done <- result{}
			default:
				if len(applies) > 0 {
					d.applyGroup(applies)
					applies = applies[:0]
				}
				batch = append(batch, j)
			}
			j = nil
			if len(batch) < d.opts.MaxBatch && len(applies) < maxApplyGroup {
				select {
				case next, ok := <-d.jobs:
					if ok {
						j = next
					}
				default:
				}
			}
		}
		flush()
	}
}

// commit journals a group of learns with one Apply and answers each.
func (d *Daemon) commit(batch []*job) {
	if d.opts.beforeCommit != nil {
		d.opts.beforeCommit()
	}
	start := time.Now()
	rs := make([]result, len(batch))
	var ferr error
	if d.cl != nil {
		d.publish(batch, rs)
	} else {
		b := d.l.NewBatch(len(batch) + 1) // never flushes by size on its own
		for i, j := range batch {
			// The learn cache's rank rule decides (learn package doc): an
			// autolearn never overturns a class a user gave, a user's learn
			// overturns an autolearned one, as every cluster host applies it.
			rs[i].out, rs[i].err = b.AddTokensFrom(j.res, j.label, j.user, j.source)
		}
		ferr = b.Flush()
	}
	for i, j := range batch {
		r := &rs[i]
		if r.err == nil && ferr != nil && r.out != learn.AlreadyLearned && r.out != learn.NotLearned {
			r.out, r.err = 0, ferr
		}
		outcome := outcomeLabel(r.out)
		switch {
		case errors.Is(r.err, learn.ErrNotMessage):
			outcome = "not_message"
		case r.err != nil:
			outcome = "error"
			if errors.Is(r.err, mmapstore.ErrFailed) || errors.Is(r.err, mmapstore.ErrClosed) {
				d.fatalOnce.Do(func() { close(d.fatal) })
			}
		}
		d.m.learn(j.source, j.label, outcome)
		d.logLearn(j.source, j.user, j.label, outcome, r.err)
		d.recordLearn(j.source, j.user, j.label, outcome, j.res.Digest)
		if len(d.nets) > 0 && r.err == nil && !j.noRelearn {
			d.labelNeural(j)
		}
		j.done <- *r
	}
	if ferr != nil {
		d.log.Error("learner: commit failed", "messages", len(batch), "err", ferr)
	}
	d.m.batchSize.Observe(float64(len(batch)))
	d.m.commitDur.Observe(time.Since(start).Seconds())
}

// logLearn writes the one log line of a learn the daemon answered:
// source (dovecot, cli, http, spool, autolearn, spamd), user, class and
// outcome, with the error when there is one. Autolearns, one per scan
// record taken, are logged at debug level.
func (d *Daemon) logLearn(source, user string, label Label, outcome string, err error) {
	level := slog.LevelInfo
	switch {
	case err != nil && outcome == "error":
		level = slog.LevelWarn
	case source == "autolearn":
		level = slog.LevelDebug
	}
	attrs := []slog.Attr{slog.String("source", source), slog.String("user", clipUser(user)),
		slog.String("class", label.String()), slog.String("outcome", outcome), slog.String("via", ViaLearner.String())}
	if err != nil {
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	d.log.LogAttrs(context.Background(), level, "learn", attrs...)
}

// clipUser bounds a client-given user name in a log line.
func clipUser(u string) string {
	if len(u) > 256 {
		return u[:256]
	}
	return u
}

// labelNeural gives the networks' pools an explicit learn's class (or
// takes it back for a forget). Every network's: a learn does not say
// which profile the message was judged by, and its digest finds it in
// whichever pools hold it.
func (d *Daemon) labelNeural(j *job) {
	for _, t := range d.nets {
		switch j.label {
		case Spam:
			t.label(j.res.Digest, true, j.res)
		case Ham:
			t.label(j.res.Digest, false, j.res)
		case Forget:
			t.forget(j.res.Digest)
		}
	}
}

// trainerFor is the trainer of a scan record's settings profile: its own
// with use_settings, the default one otherwise; nil without training.
func (d *Daemon) trainerFor(profile string) *trainer {
	if t, ok := d.nets[profile]; ok {
		return t
	}
	return d.nets[""]
}

func outcomeLabel(o learn.Outcome) string {
	switch o {
	case learn.Learned:
		return "learned"
	case learn.AlreadyLearned:
		return "already_learned"
	case learn.Relearned:
		return "relearned"
	case learn.Forgotten:
		return "forgotten"
	case learn.NotLearned:
		return "not_learned"
	case learn.Queued:
		return "queued"
	}
	return "error"
}
