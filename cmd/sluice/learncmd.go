package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/learner"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/tokenizer"
)

// cmdLearn learns messages as spam or ham (or forgets them). It goes
// through the learner daemon when one runs; when none can be reached it
// writes the statfile itself under the writer lock; when that lock is held
// too (or the write fails), a message read from stdin is queued in the
// learner's spool, which the daemon drains when it runs.
//
// Exit codes (what Dovecot's sieve pipe and admins' scripts rely on): 0
// when every message was learned, already learned, or spooled; 65 when an
// input is not a message; 75 only when a message could be neither learned
// nor spooled (Dovecot does not retry, so spooling comes first). With no
// paths it reads one message from stdin to its end, as a pipe program
// must, and finishes within learner.client_timeout (Dovecot kills pipes
// after 10s).
func cmdLearn(ctx context.Context, std *stdio, args []string) error {
	fs, c := newFlags("learn", "spam|ham|forget [PATH...]", std, true)
	user := fs.String("user", "", "learn into this user's statistics as well (with users_enabled)")
	source := fs.String("source", "cli", "`name` of the client for the learner's metrics (e.g. dovecot)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 1 {
		fs.Usage()
		return &exitError{code: exitUsage}
	}
	var op learner.Op
	switch fs.Arg(0) {
	case "spam":
		op = learner.OpSpam
	case "ham":
		op = learner.OpHam
	case "forget":
		op = learner.OpForget
	default:
		return &exitError{code: exitUsage, err: fmt.Errorf("class %q is not spam, ham or forget", fs.Arg(0))}
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	lc := &learnCmd{std: std, cfg: cfg, op: op, user: *user, source: *source, paths: fs.Args()[1:], start: time.Now()}
	if len(lc.paths) == 0 {
		err = lc.pipe(ctx)
	} else {
		err = lc.bulk(ctx)
	}
	if err != nil {
		return err
	}
	return lc.report(c.json)
}

// learnCmd is one run of `sluice learn`.
type learnCmd struct {
	std      *stdio
	cfg      config.Config
	op       learner.Op
	user     string
	source   string
	paths    []string
	start    time.Time
	via      string
	mu       sync.Mutex
	counts   [learn.NotLearned + 1]int // by outcome; [0] = not a message
	spooled  int
	firstBad error
}

func (lc *learnCmd) count(out learn.Outcome, name string, err error) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if err != nil {
		lc.counts[0]++
		if lc.firstBad == nil {
			lc.firstBad = fmt.Errorf("%s: %w", name, err)
		}
		return
	}
	lc.counts[out]++
}

// pipe learns one message from stdin: daemon, else direct, else spool.
func (lc *learnCmd) pipe(ctx context.Context) error {
	data, err := readAllLimited(lc.std.in)
	if err != nil {
		return err
	}
	max := int64(lc.cfg.Learner.MaxMessageSize)
	if int64(len(data)) > max {
		data = data[:max] // the tokenizer reads less than this anyway
	}
	req := &learner.Request{Op: lc.op, User: lc.user, Source: lc.source, Message: data}
	ctx, cancel := context.WithTimeout(ctx, lc.cfg.Learner.ClientTimeout.D())
	defer cancel()

	var why []error
	socket, err := learnerSocket(lc.cfg)
	if err == nil {
		var c *learner.Client
		if c, err = learner.Dial(ctx, socket, max); err == nil {
			lc.via = "learner"
			out, err := c.Learn(ctx, req)
			c.Close()
			if err == nil || errors.Is(err, learn.ErrNotMessage) {
				lc.count(out, "-", err)
				return nil
			}
		}
	}
	why = append(why, err)

	out, err := lc.direct(req)
	if err == nil || errors.Is(err, learn.ErrNotMessage) {
		lc.via = "direct"
		lc.count(out, "-", err)
		return nil
	}
	why = append(why, err)

	// Neither: queue it, unless it is not a message at all.
	if _, err := tokenizer.New(tokenizerOptions(lc.cfg)).Tokenize(bytes.NewReader(data)); errors.Is(err, tokenizer.ErrNotMessage) {
		lc.count(0, "-", fmt.Errorf("%w: %v", learn.ErrNotMessage, err))
		return nil
	}
	spool, err := learnerSpool(lc.cfg)
	if err == nil {
		err = spool.Put(req)
	}
	if err != nil {
		why = append(why, err)
		return &exitError{code: exitTempFail, err: fmt.Errorf("not learned and not spooled: %w", errors.Join(why...))}
	}
	lc.via = "spool"
	lc.spooled++
	fmt.Fprintf(lc.std.err, "sluice learn: queued in %s for the learner (%v)\n", spool.Dir(), errors.Join(why...))
	return nil
}

// direct learns req with the statfile opened for writing, if no one
// holds it.
func (lc *learnCmd) direct(req *learner.Request) (learn.Outcome, error) {
	path, err := statfilePath(lc.cfg)
	if err != nil {
		return 0, err
	}
	w, err := mmapstore.OpenWriter(path, writerOptions(lc.cfg, nil))
	if err != nil {
		return 0, err
	}
	l := learn.New(w, learnOptions(lc.cfg))
	var out learn.Outcome
	switch req.Op {
	case learner.OpForget:
		out, err = l.Forget(bytes.NewReader(req.Message), req.User)
	default:
		out, err = l.Learn(bytes.NewReader(req.Message), classOfOp(req.Op), req.User)
	}
	if cerr := w.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return out, err
}

func classOfOp(op learner.Op) mmapstore.Class {
	if op == learner.OpHam {
		return mmapstore.Ham
	}
	return mmapstore.Spam
}

// bulkWorkers is how many connections a bulk learn keeps busy: enough for
// the daemon to commit many learns per fsync.
const bulkWorkers = 8

// bulk learns the messages under lc.paths: through the daemon with
// several connections, or directly in batches (one fsync per batch) when
// no daemon runs. With a daemon unreachable and the statfile locked it
// exits 75: bulk imports are retried by whoever runs them.
func (lc *learnCmd) bulk(ctx context.Context) error {
	socket, err := learnerSocket(lc.cfg)
	if err != nil {
		return err
	}
	max := int64(lc.cfg.Learner.MaxMessageSize)
	dctx, cancel := context.WithTimeout(ctx, lc.cfg.Learner.ClientTimeout.D())
	probe, err := learner.Dial(dctx, socket, max)
	cancel()
	if err != nil {
		return lc.bulkDirect(ctx)
	}
	probe.Close()
	lc.via = "learner"
	progress := newProgress(lc.std.err, true)
	msgs := make(chan message)
	errs := make(chan error, bulkWorkers)
	var wg sync.WaitGroup
	for range bulkWorkers {
		wg.Go(func() {
			c, err := learner.Dial(ctx, socket, max)
			if err != nil {
				errs <- err
				for range msgs {
				}
				return
			}
			defer c.Close()
			for m := range msgs {
				data := m.data
				if int64(len(data)) > max {
					data = data[:max]
				}
				out, err := c.Learn(ctx, &learner.Request{Op: lc.op, User: lc.user, Source: lc.source, Message: data})
				if err != nil && !errors.Is(err, learn.ErrNotMessage) {
					errs <- fmt.Errorf("%s: %w", m.name, err)
					for range msgs {
					}
					return
				}
				lc.count(out, m.name, err)
				lc.mu.Lock()
				progress.tick()
				lc.mu.Unlock()
			}
		})
	}
	werr := walkMessages(lc.std, lc.paths, func(m message) error {
		select {
		case msgs <- m:
			return nil
		case err := <-errs:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(msgs)
	wg.Wait()
	progress.done()
	close(errs)
	if werr == nil {
		werr = <-errs
	}
	if werr != nil {
		return &exitError{code: exitTempFail, err: werr}
	}
	return nil
}

// bulkDirect is the old way: the writer lock, batches of learns.
func (lc *learnCmd) bulkDirect(ctx context.Context) error {
	path, err := statfilePath(lc.cfg)
	if err != nil {
		return err
	}
	log := newLogger(lc.cfg, lc.std.err)
	w, err := mmapstore.OpenWriter(path, writerOptions(lc.cfg, log))
	if errors.Is(err, mmapstore.ErrLocked) {
		return &exitError{code: exitTempFail, err: fmt.Errorf("no learner reachable and the statfile is busy: %w", err)}
	}
	if err != nil {
		return err
	}
	lc.via = "direct"
	l := learn.New(w, learnOptions(lc.cfg))
	batch := l.NewBatch(0)
	progress := newProgress(lc.std.err, len(lc.paths) > 1 || isDir(lc.paths))
	err = walkMessages(lc.std, lc.paths, func(m message) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		var out learn.Outcome
		var err error
		if lc.op == learner.OpForget {
			if err = batch.Flush(); err == nil {
				out, err = l.Forget(bytes.NewReader(m.data), lc.user)
			}
		} else {
			out, err = batch.Add(bytes.NewReader(m.data), classOfOp(lc.op), lc.user)
		}
		if errors.Is(err, learn.ErrNotMessage) {
			lc.count(0, m.name, err)
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		lc.count(out, m.name, nil)
		progress.tick()
		return nil
	})
	progress.done()
	if ferr := batch.Flush(); err == nil && ferr != nil {
		err = ferr
	}
	if cerr := w.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return err
}

func (lc *learnCmd) report(asJSON bool) error {
	s := learnSummary{
		Class: lc.op.String(), Via: lc.via,
		Learned: lc.counts[learn.Learned], AlreadyLearned: lc.counts[learn.AlreadyLearned],
		Relearned: lc.counts[learn.Relearned], Forgotten: lc.counts[learn.Forgotten], NotLearned: lc.counts[learn.NotLearned],
		Spooled: lc.spooled, NotMessages: lc.counts[0], Seconds: time.Since(lc.start).Seconds(),
	}
	if s.Seconds > 0 {
		s.PerSecond = float64(s.Learned+s.AlreadyLearned+s.Relearned+s.Forgotten+s.NotLearned) / s.Seconds
	}
	if asJSON {
		if err := writeJSON(lc.std.out, s); err != nil {
			return err
		}
	} else {
		writeSummary(lc.std.out, s)
	}
	if lc.firstBad != nil {
		return &exitError{code: exitDataErr, err: lc.firstBad}
	}
	return nil
}

func writeSummary(w io.Writer, s learnSummary) {
	if s.Class == "forget" {
		fmt.Fprintf(w, "forget: %d forgotten, %d not learned before, %d not messages", s.Forgotten, s.NotLearned, s.NotMessages)
	} else {
		fmt.Fprintf(w, "%s: %d learned, %d already learned, %d relearned from the other class, %d not messages",
			s.Class, s.Learned, s.AlreadyLearned, s.Relearned, s.NotMessages)
	}
	if s.Spooled > 0 {
		fmt.Fprintf(w, ", %d spooled", s.Spooled)
	}
	fmt.Fprintf(w, " (via %s, %.0f msg/s)\n", s.Via, s.PerSecond)
}

type learnSummary struct {
	Class          string  `json:"class"`
	Via            string  `json:"via"` // learner, direct or spool
	Learned        int     `json:"learned"`
	AlreadyLearned int     `json:"already_learned"`
	Relearned      int     `json:"relearned"`
	Forgotten      int     `json:"forgotten,omitempty"`
	NotLearned     int     `json:"not_learned,omitempty"`
	Spooled        int     `json:"spooled,omitempty"`
	NotMessages    int     `json:"not_messages"`
	Seconds        float64 `json:"seconds"`
	PerSecond      float64 `json:"per_second"`
}
