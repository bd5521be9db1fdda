package learner

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"text/tabwriter"
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

// ApplyEvent queues one event of the stream for the writer and returns
// at once (Queued): the commit goroutine applies the events queued
// meanwhile as groups (learn.Learner.ApplyEvents: one journaled, fsync'd
// update for many events, crash-exact all the same, the cursor inside
// each group). The node need not wait: nothing depends on an event
// being durable but the cursor, which the statfile keeps with the
// counts. When a group fails, every event queued after it is dropped
// and the next ApplyEvent returns the error: the node then starts again
// from Cursor(), which the statfile says, so nothing is skipped.
func (a clusterApplier) ApplyEvent(ev learn.Event, streamSeq uint64) (learn.Outcome, error) {
	d := a.d
	d.apply.mu.Lock()
	err := d.apply.err
	d.apply.err = nil
	d.apply.mu.Unlock()
	if err != nil {
		return 0, err
	}
	d.admit.RLock()
	defer d.admit.RUnlock()
	if d.closed {
		return 0, ErrStopped
	}
	d.jobs <- &job{ev: &learn.StreamEvent{Event: ev, StreamSeq: streamSeq}}
	return learn.Queued, nil
}

// Cursor is the statfile's stream cursor, once the events queued before
// are applied. It is where the node starts (again): events queued after
// a failed group stop being dropped here.
func (a clusterApplier) Cursor() (uint64, error) {
	var c uint64
	var err error
	if werr := a.d.onWriter(context.Background(), func() {
		c, err = a.d.l.Cursor()
		a.d.apply.mu.Lock()
		a.d.apply.broken = false
		a.d.apply.mu.Unlock()
	}); werr != nil {
		return 0, werr
	}
	return c, err
}

// maxApplyGroup bounds the events the commit goroutine takes at once.
const maxApplyGroup = 1024

// applyState is the pipelined applies' error state.
type applyState struct {
	mu     sync.Mutex
	err    error // a group failed: for the next ApplyEvent
	broken bool  // drop queued events until Cursor() is read again
}

// applyGroup applies queued cluster events (in the commit goroutine).
func (d *Daemon) applyGroup(jobs []*job) {
	d.apply.mu.Lock()
	broken := d.apply.broken
	d.apply.mu.Unlock()
	if broken {
		return
	}
	evs := make([]learn.StreamEvent, len(jobs))
	for i, j := range jobs {
		evs[i] = *j.ev
	}
	res, err := d.l.ApplyEvents(evs)
	for i, r := range res {
		if r.Err != nil {
			d.log.Warn("cluster: apply", "stream_seq", evs[i].StreamSeq, "origin", evs[i].Event.Origin, "seq", evs[i].Event.Seq, "err", r.Err)
		}
	}
	if err == nil {
		return
	}
	if errors.Is(err, mmapstore.ErrFailed) || errors.Is(err, mmapstore.ErrClosed) {
		d.fatalOnce.Do(func() { close(d.fatal) })
	}
	d.log.Error("cluster: apply failed: the node starts again from the statfile's cursor", "events", len(evs)-len(res), "err", err)
	d.apply.mu.Lock()
	d.apply.err, d.apply.broken = fmt.Errorf("learner: apply: %w", err), true
	d.apply.mu.Unlock()
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

// ClusterStatus is `sluice cluster status`: the node's status and the
// statfile's replicated state as the writer sees it.
type ClusterStatus struct {
	cluster.Status
	// StatfileCursor and StatfileMarks are read from the statfile (the
	// node's copies may be a moment older).
	StatfileCursor uint64            `json:"statfile_cursor"`
	StatfileMarks  map[string]uint64 `json:"statfile_marks"`
	// Digest is the statfile's logical digest (learn.Learner.Digest):
	// hosts that applied the same stream have the same. Only when asked
	// for: it sorts every slot of the statfile on the writer's goroutine,
	// which waits meanwhile (a poller asking every few milliseconds spent
	// two thirds of a host's CPU on it during a burst).
	Digest string    `json:"digest,omitempty"`
	Time   time.Time `json:"time"`
	// LastSnapshot is the last snapshot this host stored since start.
	LastSnapshot *cluster.SnapshotMeta `json:"last_snapshot,omitempty"`
}

// ClusterStatus reads the cluster status, with the statfile's digest
// when digest is true; an error when the daemon is not a host of a
// cluster.
func (d *Daemon) ClusterStatus(ctx context.Context, digest bool) (ClusterStatus, error) {
	if d.cl == nil {
		return ClusterStatus{}, errors.New("learner: not in a cluster ([cluster] enabled = false)")
	}
	st := ClusterStatus{Status: d.cl.Node.Status(), Time: time.Now().UTC(), LastSnapshot: d.lastSnapshot.Load()}
	var err error
	var dg [32]byte
	werr := d.onWriter(ctx, func() {
		if st.StatfileCursor, err = d.l.Cursor(); err != nil {
			return
		}
		if st.StatfileMarks, err = d.l.Marks(); err != nil {
			return
		}
		if digest {
			dg, err = d.l.Digest()
		}
	})
	if werr != nil {
		return st, werr
	}
	if err != nil {
		return st, fmt.Errorf("learner: cluster status: %w", err)
	}
	if digest {
		st.Digest = hex.EncodeToString(dg[:])
	}
	return st, nil
}

// clusterStatusJSON is AdminClusterStatus's answer.
func (d *Daemon) clusterStatusJSON(digest bool) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), AdminTimeout)
	defer cancel()
	st, err := d.ClusterStatus(ctx, digest)
	if err != nil {
		return "", err
	}
	js, err := json.Marshal(st)
	if err != nil {
		return "", fmt.Errorf("learner: cluster status: %w", err)
	}
	if len(js) > maxAdminText {
		// Hundreds of origins: the marks are in the statfile anyway.
		st.Marks, st.StatfileMarks = nil, nil
		js, _ = json.Marshal(st)
	}
	return string(js), nil
}

// ReadClusterStatus asks the learner at socket for its cluster status,
// with the statfile's digest when digest is true (see ClusterStatus.Digest
// for its cost). An error wrapping ErrUnreachable means no learner
// answers there.
func ReadClusterStatus(ctx context.Context, socket string, digest bool) (ClusterStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, AdminTimeout)
	defer cancel()
	arg := ""
	if digest {
		arg = adminWithDigest
	}
	_, text, err := adminCall(ctx, socket, AdminClusterStatus, arg, maxAdminText)
	if err != nil {
		return ClusterStatus{}, err
	}
	var st ClusterStatus
	if err := json.Unmarshal([]byte(text), &st); err != nil {
		return ClusterStatus{}, fmt.Errorf("%w: cluster status: %v", ErrProtocol, err)
	}
	return st, nil
}

// WriteText writes the status for people, one fact a line.
func (st ClusterStatus) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "site\t%s\n", st.Site)
	fmt.Fprintf(tw, "origin\t%s (next event seq %d, %d published since start)\n", st.Origin, st.NextSeq, st.Published)
	fmt.Fprintf(tw, "broker\t%s\n", map[bool]string{true: "connected", false: "NOT CONNECTED"}[st.Connected])
	fmt.Fprintf(tw, "outbox\t%d events waiting for the stream\n", st.Outbox)
	fmt.Fprintf(tw, "stream\tseq %d to %d\n", st.StreamFirst, st.StreamLast)
	fmt.Fprintf(tw, "cursor\t%d applied (statfile), lag %d, %d applied since start\n", st.StatfileCursor, st.Lag, st.Applied)
	for _, o := range slices.Sorted(maps.Keys(st.StatfileMarks)) {
		fmt.Fprintf(tw, "  origin %s\tseq %d applied\n", o, st.StatfileMarks[o])
	}
	if st.Digest != "" {
		fmt.Fprintf(tw, "digest\t%s\n", st.Digest)
	}
	if ls := st.LastSnapshot; ls != nil {
		fmt.Fprintf(tw, "last snapshot\tcursor %d, %d bytes, %s\n", ls.Cursor, ls.Size, ls.Taken.Format(time.RFC3339))
	}
	if st.RebootstrapNeeded {
		fmt.Fprintf(tw, "RE-BOOTSTRAP NEEDED\tthe stream no longer holds the events after this host's cursor: restart the learner with --bootstrap\n")
	}
	for _, kv := range [][2]string{{"applying stopped", st.ApplyStopped}, {"publishing stopped", st.PublishStopped}, {"last error", st.LastError}} {
		if kv[1] != "" {
			fmt.Fprintf(tw, "%s\t%s\n", kv[0], kv[1])
		}
	}
	return tw.Flush()
}
