package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// MsgID is the Nats-Msg-Id of an origin's event: the stream refuses a
// second message with it inside its dedup window.
func MsgID(site, origin string, seq uint64) string {
	return site + "/" + origin + "/" + strconv.FormatUint(seq, 10)
}

// publisher is the publishing half's state: what the stream holds of
// this origin.
type publisher struct {
	synced     bool   // lastStream and lastOrigin are known
	lastStream uint64 // stream sequence of the origin's last event (0: none)
	lastOrigin uint64 // its origin sequence
}

// publishLoop sends the outbox's events in order until ctx is done.
func (n *Node) publishLoop(ctx context.Context) {
	var p publisher
	b := n.backoff()
	for ctx.Err() == nil {
		if !p.synced {
			if err := n.syncPublisher(ctx, &p); err != nil {
				if errors.Is(err, errOriginTaken) {
					n.fail(err)
					n.setStatus(func(s *Status) { s.PublishStopped = err.Error() })
					<-ctx.Done()
					return
				}
				n.fail(err)
				if b.wait(ctx) != nil {
					return
				}
				continue
			}
		}
		pending := n.outbox.Pending(n.opts.FetchBatch)
		if len(pending) == 0 {
			select {
			case <-ctx.Done():
				return
			case <-n.wake:
			}
			continue
		}
		for _, ev := range pending {
			if !p.synced {
				// A refusal (duplicate, wrong last sequence) leaves what
				// the stream holds unknown: the events behind must not go
				// out with the stale expected sequence (a conflict on the
				// leader could let the next one in after a gap).
				break
			}
			if err := n.publishOne(ctx, &p, ev); err != nil {
				if errors.Is(err, errCrashed) {
					<-ctx.Done()
					return
				}
				n.fail(err)
				if b.wait(ctx) != nil {
					return
				}
				break
			}
			b.reset()
		}
	}
}

// errOriginTaken: the stream holds events of this origin beyond the
// outbox's sequence (another host uses the name, or the data directory
// was lost); publishing stops rather than be refused for ever.
var errOriginTaken = errors.New("cluster: the stream has events of this origin beyond its outbox")

// syncPublisher reads the origin's last event in the stream: events of
// the outbox up to it are in the stream already (a crash came between
// the publish and the ack) and leave it.
func (n *Node) syncPublisher(ctx context.Context, p *publisher) error {
	actx, cancel := context.WithTimeout(ctx, n.opts.OpTimeout)
	defer cancel()
	s, err := n.js.Stream(actx, StreamName)
	if err != nil {
		return fmt.Errorf("publish: stream %s: %w", StreamName, err)
	}
	msg, err := s.GetLastMsgForSubject(actx, n.subject)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		p.lastStream, p.lastOrigin = 0, 0
	case err != nil:
		return fmt.Errorf("publish: last event of %s: %w", n.subject, err)
	default:
		ev, err := Decode(msg.Data)
		if err != nil {
			return fmt.Errorf("%w: its last event (stream seq %d) does not decode: %v", errOriginTaken, msg.Sequence, err)
		}
		if ev.Site != n.opts.Site || ev.Origin != n.opts.Origin {
			return fmt.Errorf("%w: its last event (stream seq %d) is %s/%s's", errOriginTaken, msg.Sequence, ev.Site, ev.Origin)
		}
		p.lastStream, p.lastOrigin = msg.Sequence, ev.Seq
	}
	if next := n.outbox.Next(); p.lastOrigin >= next {
		return fmt.Errorf("%w: stream has seq %d, outbox is at %d", errOriginTaken, p.lastOrigin, next-1)
	}
	if first := n.outbox.firstPendingSeq(); p.lastOrigin+1 < first {
		// Acknowledged events of this origin are not in the stream:
		// retention dropped them (nothing to do), or the stream lost
		// them (hosts' marks then jump; the log says which).
		n.log.Warn("cluster: the stream lacks acknowledged events of this origin (aged out, or lost by the broker)",
			"stream_last", p.lastOrigin, "outbox_first", first)
	}
	if err := n.outbox.Ack(p.lastOrigin); err != nil {
		return err
	}
	n.m.outbox.Set(float64(n.outbox.Len()))
	p.synced = true
	return nil
}

// publishOne publishes one event, expecting the origin's last event in
// the stream to be the one before it. A resend of an event the stream
// has (the ack was lost) is refused: as a duplicate within the dedup
// window, as a wrong last sequence after it; either way the publisher
// reads the stream's state again and the outbox drops what it holds.
func (n *Node) publishOne(ctx context.Context, p *publisher, ev pendingEvent) error {
	if ev.seq <= p.lastOrigin {
		return n.outbox.Ack(p.lastOrigin)
	}
	if n.beforePublish != nil && n.beforePublish(ev.seq) == hookRefuse {
		n.setStatus(func(s *Status) { s.ResendsRefused++ })
		p.synced = false
		return nil
	}
	msg := &nats.Msg{Subject: n.subject, Data: ev.data, Header: nats.Header{}}
	actx, cancel := context.WithTimeout(ctx, n.opts.OpTimeout)
	defer cancel()
	ack, err := n.js.PublishMsg(actx, msg,
		jetstream.WithMsgID(MsgID(n.opts.Site, n.opts.Origin, ev.seq)),
		jetstream.WithExpectLastSequencePerSubject(p.lastStream),
		jetstream.WithRetryAttempts(0))
	if err != nil {
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
			n.log.Info("cluster: publish refused: the stream's last event of this origin is not the one expected; reading it again",
				"seq", ev.seq, "expected_last", p.lastStream, "code", apiErr.ErrorCode, "err", apiErr.Description)
			n.m.refused.WithLabelValues("wrong_last_sequence").Inc()
			n.setStatus(func(s *Status) { s.ResendsRefused++ })
			p.synced = false
			return nil
		}
		n.m.publishErrors.Inc()
		p.synced = false // the publish may have landed: ask the stream
		return fmt.Errorf("publish %s seq %d: %w", n.subject, ev.seq, err)
	}
	if n.afterPublish != nil {
		switch n.afterPublish(ev.seq) {
		case hookDropAck:
			return fmt.Errorf("publish %s seq %d: %w", n.subject, ev.seq, errAckDropped)
		case hookCrash:
			return errCrashed
		}
	}
	if ack.Duplicate {
		n.log.Info("cluster: publish refused as a duplicate: the stream has this event already", "seq", ev.seq, "stream_seq", ack.Sequence)
		n.m.refused.WithLabelValues("duplicate").Inc()
		n.setStatus(func(s *Status) { s.ResendsRefused++ })
		p.synced = false
		return nil
	}
	p.lastStream, p.lastOrigin = ack.Sequence, ev.seq
	if err := n.outbox.Ack(ev.seq); err != nil {
		return err
	}
	n.m.published.Inc()
	n.m.outbox.Set(float64(n.outbox.Len()))
	n.setStatus(func(s *Status) { s.Published++ })
	return nil
}

// Test hooks: what the publisher does after the stream acknowledged an
// event, to play a lost ack or a crash between publish and ack.
type hookAction int

const (
	hookNone    hookAction = iota
	hookDropAck            // the ack is lost: resend, with the stale state
	hookCrash              // the publisher dies before recording the ack
	hookRefuse             // before publishing: as if the stream refused it (a conflict)
)

var (
	errAckDropped = errors.New("ack dropped (test)")
	errCrashed    = errors.New("crashed between publish and ack (test)")
)
