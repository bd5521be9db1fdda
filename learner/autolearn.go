package learner

import (
	"context"
	"errors"
	"net"
	"sync/atomic"

	"github.com/sluicemail/sluice/activity"
	"github.com/sluicemail/sluice/feed"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/tokenizer"
)

// Autolearn decides which scanned messages are learned without a user
// saying so. The zero value learns nothing.
type Autolearn struct {
	Enabled    bool
	SpamScore  float64 // learn spam at score >= SpamScore
	HamScore   float64 // learn ham at score <= HamScore
	MinProb    float64 // skip a class Bayes is already this sure of (0.95)
	MinBalance float64 // skip a class with learns/(other+1) > 1/MinBalance (0.9)
	Local      bool    // also learn mail from local clients
}

// Why a record is not autolearned (the metric's reason label).
const (
	SkipDisabled      = "disabled"
	SkipAuthenticated = "authenticated"
	SkipTrusted       = "trusted"
	SkipLocal         = "local"
	SkipUncertain     = "between_thresholds"
	SkipBayesSure     = "bayes_sure"
	SkipUnbalanced    = "unbalanced"
	SkipNoTokens      = "no_tokens"
	SkipLearned       = "already_learned"
)

// Decide returns the class to learn r as, or 0 and why not. totals are
// the learn totals of the shared statistics. The guards follow rspamd's
// lua_bayes_learn: never authenticated or local/trusted mail (its verdict
// says more about our users than about spam), never a class Bayes is
// already sure of (nothing to gain, and it entrenches its own mistakes),
// never a class that already outnumbers the other by more than
// 1/MinBalance (one-sided learning skews every probability).
func (a Autolearn) Decide(r *feed.Record, totals mmapstore.Totals) (Label, string) {
	minProb, minBal := a.MinProb, a.MinBalance
	if minProb <= 0.5 || minProb > 1 {
		minProb = 0.95
	}
	if minBal <= 0 || minBal > 1 {
		minBal = 0.9
	}
	var class Label
	switch {
	case !a.Enabled:
		return 0, SkipDisabled
	case r.Authenticated:
		return 0, SkipAuthenticated
	case r.Trusted:
		return 0, SkipTrusted
	case r.Local && !a.Local:
		return 0, SkipLocal
	case r.Score >= a.SpamScore:
		class = Spam
	case r.Score <= a.HamScore:
		class = Ham
	default:
		return 0, SkipUncertain
	}
	mine, other := totals.Spam, totals.Ham
	if class == Ham {
		mine, other = other, mine
	}
	switch {
	case class == Spam && r.BayesProb >= minProb,
		class == Ham && r.BayesProb <= 1-minProb:
		return 0, SkipBayesSure
	case float64(mine)/float64(other+1) > 1/minBal:
		return 0, SkipUnbalanced
	case len(r.Tokens) == 0:
		return 0, SkipNoTokens
	}
	return class, ""
}

// LocalFeed passes scan records from a milter in the same process to the
// daemon's autolearn without blocking; it implements milter.RecordSender.
type LocalFeed struct {
	ch      chan *feed.Record
	m       *Metrics
	act     *activity.Log // every record, queued or not
	sent    atomic.Uint64
	dropped atomic.Uint64
}

// Send notes r in the activity log and queues it for autolearn and
// training, or drops and counts it when the queue is full. A record whose
// verdict a list decided is only noted: a list's verdict says nothing
// about the message's words.
func (f *LocalFeed) Send(r *feed.Record) error {
	if f.act != nil {
		f.act.RecordScan(activityScan(r))
	}
	if r.Listed {
		f.m.records.WithLabelValues("listed").Inc()
		return nil
	}
	select {
	case f.ch <- r:
		f.sent.Add(1)
		f.m.records.WithLabelValues("received").Inc()
		return nil
	default:
		f.dropped.Add(1)
		f.m.records.WithLabelValues("dropped").Inc()
		return feed.ErrDropped
	}
}

// Sent is how many records were queued.
func (f *LocalFeed) Sent() uint64 { return f.sent.Load() }

// Dropped is how many were not.
func (f *LocalFeed) Dropped() uint64 { return f.dropped.Load() }

// receiveLoop moves records from the datagram socket to the autolearn
// queue until the socket is closed.
func (d *Daemon) receiveLoop(r *feed.Receiver) {
	for {
		rec, err := r.Read()
		switch {
		case errors.Is(err, net.ErrClosed):
			return
		case errors.Is(err, feed.ErrMalformed):
			d.m.records.WithLabelValues("malformed").Inc()
			d.log.Debug("learner: malformed scan record", "err", err)
			continue
		case err != nil:
			d.log.Warn("learner: read scan record", "err", err)
			return
		}
		_ = d.feed.Send(rec) // counted there
	}
}

// autolearnLoop learns the records Decide picks until ctx ends.
func (d *Daemon) autolearnLoop(ctx context.Context) {
	for {
		var r *feed.Record
		select {
		case <-ctx.Done():
			return
		case r = <-d.records:
		}
		if t := d.trainerFor(r.Profile); t != nil {
			t.observe(r)
		}
		totals, err := d.w.Lookup(mmapstore.Shared, nil, nil)
		if err != nil {
			d.log.Warn("learner: read totals for autolearn", "err", err)
			continue
		}
		class, why := d.opts.Autolearn.Decide(r, totals)
		if class == 0 {
			d.m.autoSkip.WithLabelValues(why).Inc()
			continue
		}
		res := &tokenizer.Result{Digest: r.Digest, Tokens: make([]tokenizer.Token, len(r.Tokens))}
		for i, h := range r.Tokens {
			res.Tokens[i].Hash = h
		}
		out, err := d.submit(ctx, &job{label: class, user: r.User, source: "autolearn", res: res, noRelearn: true})
		switch {
		case err != nil:
			if ctx.Err() == nil {
				d.log.Warn("learner: autolearn", "queue_id", r.QueueID, "err", err)
			}
		case out == learn.AlreadyLearned:
			d.m.autoSkip.WithLabelValues(SkipLearned).Inc()
		default:
			d.log.Debug("learner: autolearned", "queue_id", r.QueueID, "class", class, "score", r.Score)
		}
	}
}
