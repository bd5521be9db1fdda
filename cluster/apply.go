package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// errStop is a condition applying cannot get past by retrying: it stops
// until an admin acts (Status says why).
type errStop struct{ reason string }

func (e *errStop) Error() string { return e.reason }

// applyLoop applies the stream to the Applier, in order, until ctx is
// done or a condition stops it.
func (n *Node) applyLoop(ctx context.Context) {
	b := n.backoff()
	for ctx.Err() == nil {
		err := n.applySession(ctx, b)
		if ctx.Err() != nil {
			return
		}
		var stop *errStop
		if errors.As(err, &stop) {
			n.fail(err)
			n.setStatus(func(s *Status) { s.ApplyStopped = stop.reason })
			n.log.Error("cluster: applying stopped", "reason", stop.reason)
			<-ctx.Done()
			return
		}
		if err != nil {
			n.fail(err)
		}
		if b.wait(ctx) != nil {
			return
		}
	}
}

// applySession applies from the Applier's cursor through one ordered
// consumer, until an error.
func (n *Node) applySession(ctx context.Context, b *backoff) error {
	cursor, err := n.app.Cursor()
	if err != nil {
		return fmt.Errorf("apply: read cursor: %w", err)
	}
	n.refreshMarks()
	actx, cancel := context.WithTimeout(ctx, n.opts.OpTimeout)
	defer cancel()
	stream, err := n.js.Stream(actx, StreamName)
	if err != nil {
		return fmt.Errorf("apply: stream %s: %w", StreamName, err)
	}
	if err := n.checkRetention(actx, stream, cursor); err != nil {
		return err
	}
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if cursor > 0 {
		cfg = jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: cursor + 1}
	}
	// One attempt when the iterator recreates its consumer: nats.go
	// retries for ever by default, inside Next, holding a lock that Stop
	// needs, so a node whose broker is gone never stopped (seen in
	// test/e2e's cluster test); the session's own retry takes over.
	cfg.MaxResetAttempts = 1
	cons, err := stream.OrderedConsumer(actx, cfg)
	if err != nil {
		return fmt.Errorf("apply: consumer from %d: %w", cursor+1, err)
	}
	cancel()
	iter, err := cons.Messages(jetstream.PullMaxMessages(n.opts.FetchBatch),
		jetstream.PullExpiry(10*time.Second), jetstream.PullHeartbeat(2*time.Second))
	if err != nil {
		return fmt.Errorf("apply: consume from %d: %w", cursor+1, err)
	}
	defer iter.Stop()
	lastInfo, lastEvent := time.Now(), time.Now()
	for ctx.Err() == nil {
		msg, err := iter.Next(jetstream.NextMaxWait(n.opts.FetchWait))
		idle := errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded)
		if err != nil && !idle {
			return fmt.Errorf("apply: next event: %w", err)
		}
		if err == nil {
			if err := n.applyMsg(ctx, stream, msg, &cursor); err != nil {
				return err
			}
			b.reset()
			lastEvent = time.Now()
		}
		if idle || time.Since(lastInfo) > 5*time.Second {
			lastInfo = time.Now()
			n.refreshMarks()
			ictx, cancel := context.WithTimeout(ctx, n.opts.OpTimeout)
			err := n.checkRetention(ictx, stream, cursor)
			cancel()
			if err != nil {
				return err
			}
			// A consumer the server lost (a leader change, a restart)
			// may deliver nothing until its heartbeats are missed: when
			// the stream is ahead and nothing came for a while, start
			// over from the cursor.
			if ahead := n.Status().StreamLast > cursor; ahead && time.Since(lastEvent) > n.opts.StallAfter {
				return fmt.Errorf("apply: no event for %v while the stream is ahead of cursor %d: new consumer", n.opts.StallAfter, cursor)
			}
		}
	}
	return ctx.Err()
}

// applyMsg applies one message of the stream and advances cursor.
func (n *Node) applyMsg(ctx context.Context, stream jetstream.Stream, msg jetstream.Msg, cursor *uint64) error {
	meta, err := msg.Metadata()
	if err != nil {
		return fmt.Errorf("apply: message metadata: %w", err)
	}
	seq := meta.Sequence.Stream
	if seq <= *cursor {
		return nil
	}
	if seq > *cursor+1 {
		// Deleted messages, or retention passed while we read: only the
		// stream's first sequence tells.
		ictx, cancel := context.WithTimeout(ctx, n.opts.OpTimeout)
		err := n.checkRetention(ictx, stream, *cursor)
		cancel()
		if err != nil {
			return err
		}
	}
	ev, err := Decode(msg.Data())
	if err != nil {
		return &errStop{fmt.Sprintf("the event at stream seq %d does not decode (%v): applying stops, it is never skipped", seq, err)}
	}
	if ev.Site != n.opts.Site {
		return &errStop{fmt.Sprintf("the event at stream seq %d is of site %q, this host's is %q", seq, ev.Site, n.opts.Site)}
	}
	if msg.Subject() != SubjectPrefix+ev.Origin {
		// An origin's marks are its subject's: an event claiming
		// another origin would move that origin's marks.
		return &errStop{fmt.Sprintf("the event at stream seq %d claims origin %q on subject %s (remove it from the stream to go on)", seq, ev.Origin, msg.Subject())}
	}
	ev.Time = meta.Timestamp
	start := time.Now()
	if _, err := n.app.ApplyEvent(ev, seq); err != nil {
		return fmt.Errorf("apply stream seq %d (%s/%d): %w", seq, ev.Origin, ev.Seq, err)
	}
	n.m.applyDur.Observe(time.Since(start).Seconds())
	n.m.applied.Inc()
	*cursor = seq
	n.setStatus(func(s *Status) {
		s.Cursor, s.StreamLast, s.Lag = seq, max(s.StreamLast, seq+meta.NumPending), meta.NumPending
		s.Applied++
		if s.Marks == nil {
			s.Marks = make(map[string]uint64)
		}
		s.Marks[ev.Origin] = max(s.Marks[ev.Origin], ev.Seq)
	})
	n.m.cursor.Set(float64(seq))
	n.m.lag.Set(float64(meta.NumPending))
	return nil
}

// checkRetention reads the stream's state: when the next event the host
// needs (cursor+1) is below the stream's first sequence, it has aged
// out, and the host needs a snapshot (re-bootstrap); it never skips.
func (n *Node) checkRetention(ctx context.Context, stream jetstream.Stream, cursor uint64) error {
	info, err := stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("apply: stream info: %w", err)
	}
	st := info.State
	lag := uint64(0)
	if st.LastSeq > cursor {
		lag = st.LastSeq - cursor
	}
	n.setStatus(func(s *Status) {
		s.Cursor, s.StreamFirst, s.StreamLast, s.Lag = cursor, st.FirstSeq, st.LastSeq, lag
	})
	n.m.lag.Set(float64(lag))
	var why string
	switch {
	case cursor > st.LastSeq:
		why = fmt.Sprintf("the host's cursor %d is past the stream's last sequence %d (the stream was deleted or purged)", cursor, st.LastSeq)
	case st.FirstSeq > cursor+1:
		why = fmt.Sprintf("the host's cursor is %d, the stream starts at %d (events %d to %d aged out)",
			cursor, st.FirstSeq, cursor+1, st.FirstSeq-1)
	default:
		n.outsideSince = time.Time{}
		return nil
	}
	// Only a state that lasts stops the host (Options.ConfirmStop); until
	// then the session retries and applies nothing.
	if n.outsideSince.IsZero() {
		n.outsideSince = time.Now()
	}
	if time.Since(n.outsideSince) < n.opts.ConfirmStop {
		return fmt.Errorf("apply: %s: checking again before stopping", why)
	}
	n.setStatus(func(s *Status) { s.RebootstrapNeeded = true })
	n.m.rebootstrap.Set(1)
	return &errStop{"re-bootstrap needed: " + why}
}

// refreshMarks copies the Applier's per-origin marks into the status.
func (n *Node) refreshMarks() {
	marks, err := n.app.Marks()
	if err != nil {
		n.fail(fmt.Errorf("apply: read marks: %w", err))
		return
	}
	n.setStatus(func(s *Status) { s.Marks = marks })
}
