package learner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sluicemail/sluice/cluster"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
)

// Snapshots and bootstrap of a cluster host (see the package doc,
// "Several hosts").

// ClusterOptions configure the daemon's snapshots and bootstrap in a
// cluster.
type ClusterOptions struct {
	// SnapshotInterval: how often the daemon puts a snapshot of its
	// statfile in the cluster's object store, when its cursor moved
	// since the last one (0: never).
	SnapshotInterval time.Duration
	// Bootstrap installs the newest snapshot at start even when the
	// statfile is not empty (a host that needs a re-bootstrap), if it is
	// ahead of the statfile's cursor. A host with an empty statfile
	// always does.
	Bootstrap bool
	// BootstrapAttempts bounds the tries to read the newest snapshot
	// while the broker is not ready (10), a second apart.
	BootstrapAttempts int
}

// snapshotSchema names what a snapshot's bytes are: a statfile of these
// tokenizer parameters; a host installs only its own schema's.
func snapshotSchema(p mmapstore.Params) string {
	return fmt.Sprintf("sluice-statfile hash=%s seed=%#x window=%d version=%d", p.Hash, p.Seed, p.Window, p.Version)
}

// runCluster bootstraps when it should, then runs the node (and the
// snapshot loop) until ctx ends.
func (d *Daemon) runCluster(ctx context.Context) {
	if err := d.bootstrap(ctx); err != nil && ctx.Err() == nil {
		d.log.Error("cluster: bootstrap failed: applying from the statfile's cursor", "err", err)
	}
	done := make(chan struct{})
	if iv := d.opts.Cluster.SnapshotInterval; iv > 0 {
		go func() {
			defer close(done)
			d.snapshotLoop(ctx, iv)
		}()
	} else {
		close(done)
	}
	if err := d.cl.Run(ctx); err != nil && ctx.Err() == nil {
		d.log.Error("cluster: node stopped", "err", err)
	}
	<-done
}

// bootstrap installs the newest snapshot the stream continues when the
// statfile is empty (or Bootstrap asks) and the snapshot is ahead of it.
// It never skips: without a snapshot the node applies the stream from the
// statfile's cursor, and says "re-bootstrap needed" if the stream no
// longer holds what follows.
func (d *Daemon) bootstrap(ctx context.Context) error {
	var cursor uint64
	var empty bool
	var err error
	if werr := d.onWriter(ctx, func() {
		if cursor, err = d.l.Cursor(); err != nil {
			return
		}
		var shared mmapstore.Totals
		shared, err = d.w.Lookup(mmapstore.Shared, nil, nil)
		empty = cursor == 0 && shared == (mmapstore.Totals{}) && len(d.w.Namespaces()) == 0
	}); werr != nil {
		return werr
	}
	if err != nil {
		return err
	}
	if !empty && !d.opts.Cluster.Bootstrap {
		return nil
	}
	attempts := d.opts.Cluster.BootstrapAttempts
	if attempts <= 0 {
		attempts = 10
	}
	var meta cluster.SnapshotMeta
	for i := range attempts {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		meta, err = d.cl.Node.LatestSnapshot(actx)
		cancel()
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			err = cluster.ErrNoSnapshot // a new site: no stream yet, so no snapshot
		}
		if err == nil || errors.Is(err, cluster.ErrNoSnapshot) || ctx.Err() != nil || i == attempts-1 {
			break
		}
		d.log.Info("cluster: bootstrap: no answer about snapshots yet", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	switch {
	case errors.Is(err, cluster.ErrNoSnapshot):
		d.log.Info("cluster: bootstrap: no snapshot; applying the stream from its start", "cursor", cursor)
		return nil
	case err != nil:
		return fmt.Errorf("find a snapshot: %w", err)
	case meta.Schema != snapshotSchema(d.w.Params()):
		return fmt.Errorf("the newest snapshot (of %s) is a %q, this host's statfile a %q", meta.Origin, meta.Schema, snapshotSchema(d.w.Params()))
	case meta.Cursor <= cursor:
		d.log.Info("cluster: bootstrap: the newest snapshot is not ahead of the statfile", "snapshot_cursor", meta.Cursor, "cursor", cursor)
		return nil
	}
	return d.installSnapshot(ctx, meta)
}

// installSnapshot fetches the snapshot meta describes into the statfile's
// directory and installs it through the writer.
func (d *Daemon) installSnapshot(ctx context.Context, meta cluster.SnapshotMeta) error {
	f, err := os.CreateTemp(filepath.Dir(d.w.Path()), ".bootstrap-*")
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	defer os.Remove(f.Name()) // gone after Install renamed it
	gctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	err = d.cl.Node.GetSnapshot(gctx, meta, f)
	cancel()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("bootstrap: fetch the snapshot of %s: %w", meta.Origin, err)
	}
	if werr := d.onWriter(ctx, func() {
		if err = d.w.Install(f.Name()); err == nil {
			d.l = learn.New(d.w, d.opts.Learn) // forget what it kept of the old file
		}
	}); werr != nil {
		return werr
	}
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	d.log.Info("cluster: bootstrap: installed a snapshot", "from", meta.Origin, "cursor", meta.Cursor, "taken", meta.Taken, "bytes", meta.Size)
	return nil
}

// snapshotLoop puts a snapshot every interval while the cursor moves.
func (d *Daemon) snapshotLoop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var last uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		meta, err := d.PutClusterSnapshot(ctx, last)
		switch {
		case err != nil && ctx.Err() == nil:
			d.log.Warn("cluster: snapshot", "err", err)
		case err == nil && meta.Cursor != last:
			last = meta.Cursor
			meta.Marks = nil // in the statfile; the status shows cursor and time
			d.lastSnapshot.Store(&meta)
			d.log.Info("cluster: snapshot stored", "cursor", meta.Cursor, "bytes", meta.Size)
		}
	}
}

// PutClusterSnapshot copies the statfile between two applies (with its
// cursor and marks) and puts it in the cluster's object store, unless
// its cursor is still unchanged (then it returns the meta of that
// cursor, nothing stored).
func (d *Daemon) PutClusterSnapshot(ctx context.Context, unchanged uint64) (cluster.SnapshotMeta, error) {
	if d.cl == nil {
		return cluster.SnapshotMeta{}, errors.New("learner: not in a cluster")
	}
	f, err := os.CreateTemp(filepath.Dir(d.w.Path()), ".snapshot-*")
	if err != nil {
		return cluster.SnapshotMeta{}, fmt.Errorf("learner: snapshot: %w", err)
	}
	os.Remove(f.Name())
	defer f.Close()
	meta := cluster.SnapshotMeta{Schema: snapshotSchema(d.w.Params())}
	if werr := d.onWriter(ctx, func() {
		if meta.Cursor, err = d.l.Cursor(); err != nil || meta.Cursor == unchanged {
			return
		}
		if meta.Marks, err = d.l.Marks(); err != nil {
			return
		}
		err = d.w.Snapshot(f)
	}); werr != nil {
		return meta, werr
	}
	if err != nil || meta.Cursor == unchanged {
		return meta, err
	}
	if _, err := f.Seek(0, 0); err != nil {
		return meta, err
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	return d.cl.Node.PutSnapshot(pctx, meta, f)
}
