package learner

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/sluicemail/sluice/cluster"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
)

// The daemon as a host of a cluster (package cluster): see "Several
// hosts" in the package doc.

// JoinCluster makes the daemon a host of h's cluster: from Run on, every
// learn it takes is published to h's node instead of being applied, and
// h's node applies the stream through Applier. Call it once, before Run;
// the caller closes h after Run returned (Run ends h's node first).
func (d *Daemon) JoinCluster(h *cluster.Host) { d.cl = h }

// Applier is the daemon's side of a cluster node: it applies the
// stream's events, reads the cursor and the marks, all on the daemon's
// single writer (the commit goroutine), between two commits of learns.
func (d *Daemon) Applier() cluster.Applier { return clusterApplier{d} }

type clusterApplier struct{ d *Daemon }

// ApplyEvent applies one event of the stream (learn.Learner.ApplyEvent).
func (a clusterApplier) ApplyEvent(ev learn.Event, streamSeq uint64) (learn.Outcome, error) {
	var out learn.Outcome
	var err error
	if werr := a.d.onWriter(context.Background(), func() { out, err = a.d.l.ApplyEvent(ev, streamSeq) }); werr != nil {
		return 0, werr
	}
	if errors.Is(err, mmapstore.ErrFailed) || errors.Is(err, mmapstore.ErrClosed) {
		a.d.fatalOnce.Do(func() { close(a.d.fatal) })
	}
	if err != nil && !learn.CursorAdvanced(err) {
		a.d.log.Warn("cluster: apply", "stream_seq", streamSeq, "origin", ev.Origin, "seq", ev.Seq, "err", err)
	}
	return out, err
}

// Cursor is the statfile's stream cursor.
func (a clusterApplier) Cursor() (uint64, error) {
	var c uint64
	var err error
	if werr := a.d.onWriter(context.Background(), func() { c, err = a.d.l.Cursor() }); werr != nil {
		return 0, werr
	}
	return c, err
}

// Marks are the statfile's per-origin marks.
func (a clusterApplier) Marks() (map[string]uint64, error) {
	var m map[string]uint64
	var err error
	if werr := a.d.onWriter(context.Background(), func() { m, err = a.d.l.Marks() }); werr != nil {
		return nil, werr
	}
	return m, err
}

// onWriter runs fn in the commit goroutine, between two commits, and
// waits for it (or ctx).
func (d *Daemon) onWriter(ctx context.Context, fn func()) error {
	_, err := d.submit(ctx, &job{fn: fn})
	return err
}

// publish hands a group of learns to the cluster: each becomes an event
// (learn.EventOf, with the statfile's tokenizer parameters) in the
// node's outbox, fsync'd, and its answer is Queued. Nothing is applied
// here: the event takes effect on this host, as on the others, when it
// comes back through the stream.
func (d *Daemon) publish(batch []*job, rs []result) {
	params := d.w.Params()
	for i, j := range batch {
		ev := learn.EventOf(j.res, j.label, j.user, j.source, params)
		if _, err := d.cl.Node.Publish(ev); err != nil {
			rs[i].err = fmt.Errorf("learner: queue for the cluster: %w", err)
			continue
		}
		rs[i].out = learn.Queued
	}
}

// runCluster runs the node until ctx ends.
func (d *Daemon) runCluster(ctx context.Context) {
	if err := d.cl.Run(ctx); err != nil && ctx.Err() == nil {
		d.log.Error("cluster: node stopped", "err", err)
	}
}

// ClusterStatus is `sluice cluster status`: the node's status and the
// statfile's replicated state as the writer sees it.
type ClusterStatus struct {
	cluster.Status
	// StatfileCursor and StatfileMarks are read from the statfile (the
	// node's copies may be a moment older).
	StatfileCursor uint64            `json:"statfile_cursor"`
	StatfileMarks  map[string]uint64 `json:"statfile_marks"`
	// Digest is the statfile's logical digest (learn.Learner.Digest):
	// hosts that applied the same stream have the same.
	Digest string    `json:"digest"`
	Time   time.Time `json:"time"`
}

// ClusterStatus reads the cluster status; an error when the daemon is
// not a host of a cluster.
func (d *Daemon) ClusterStatus(ctx context.Context) (ClusterStatus, error) {
	if d.cl == nil {
		return ClusterStatus{}, errors.New("learner: not in a cluster ([cluster] enabled = false)")
	}
	st := ClusterStatus{Status: d.cl.Node.Status(), Time: time.Now().UTC()}
	var err error
	var dg [32]byte
	werr := d.onWriter(ctx, func() {
		if st.StatfileCursor, err = d.l.Cursor(); err != nil {
			return
		}
		if st.StatfileMarks, err = d.l.Marks(); err != nil {
			return
		}
		dg, err = d.l.Digest()
	})
	if werr != nil {
		return st, werr
	}
	if err != nil {
		return st, fmt.Errorf("learner: cluster status: %w", err)
	}
	st.Digest = hex.EncodeToString(dg[:])
	return st, nil
}
