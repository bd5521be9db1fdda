package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Snapshots let a new host (or one whose cursor fell behind the stream's
// retention) start from another host's statfile instead of the whole
// stream: a learner copies its statfile between two applies (it is the
// only writer, so the copy is consistent with its cursor and marks) and
// puts it in the object store SnapshotBucket; the new host installs the
// newest snapshot whose cursor the stream still continues (cursor+1 at
// or above the stream's first sequence), and its node applies from
// there. The bytes are the statfile side's business; this file moves
// them and their description.

// SnapshotBucket is the JetStream object store of snapshots, one object
// per origin ("snapshot.<origin>"), each replacing the last.
const SnapshotBucket = "sluice-snap"

const snapshotMetaKey = "sluice-snapshot"

// SnapshotMeta describes a snapshot.
type SnapshotMeta struct {
	Origin string            `json:"origin"` // the host that took it
	Cursor uint64            `json:"cursor"` // the last stream sequence applied in it
	Marks  map[string]uint64 `json:"marks"`  // its per-origin marks
	Schema string            `json:"schema"` // what the bytes are (the statfile side's format and parameters)
	SHA256 string            `json:"sha256"` // of the bytes, hex
	Size   int64             `json:"size"`
	Taken  time.Time         `json:"taken"`
}

// ErrNoSnapshot is returned by LatestSnapshot when no snapshot the
// stream continues exists.
var ErrNoSnapshot = errors.New("cluster: no usable snapshot")

func (n *Node) snapshotStore(ctx context.Context) (jetstream.ObjectStore, error) {
	obs, err := n.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket: SnapshotBucket, Description: "Sluice statfile snapshots, one per origin",
		Storage: jetstream.FileStorage, Replicas: n.opts.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("snapshot store %s: %w", SnapshotBucket, err)
	}
	return obs, nil
}

// PutSnapshot stores r, a snapshot at meta.Cursor with meta.Marks, as
// this host's snapshot; it fills in Origin, SHA256, Size and Taken.
func (n *Node) PutSnapshot(ctx context.Context, meta SnapshotMeta, r io.Reader) (SnapshotMeta, error) {
	obs, err := n.snapshotStore(ctx)
	if err != nil {
		return meta, err
	}
	// The digest is computed as the object streams in; the description
	// goes on in a second step (ObjectStore.UpdateMeta), so that the
	// metadata never names bytes that are not stored.
	h := sha256.New()
	cr := &countingReader{r: io.TeeReader(r, h)}
	name := "snapshot." + n.opts.Origin
	if _, err := obs.Put(ctx, jetstream.ObjectMeta{Name: name}, cr); err != nil {
		return meta, fmt.Errorf("put snapshot %s: %w", name, err)
	}
	meta.Origin, meta.SHA256, meta.Size, meta.Taken = n.opts.Origin, hex.EncodeToString(h.Sum(nil)), cr.n, time.Now().UTC()
	js, err := json.Marshal(meta)
	if err != nil {
		return meta, err
	}
	if err := obs.UpdateMeta(ctx, name, jetstream.ObjectMeta{Name: name, Metadata: map[string]string{snapshotMetaKey: string(js)}}); err != nil {
		return meta, fmt.Errorf("describe snapshot %s: %w", name, err)
	}
	return meta, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n += int64(k)
	return k, err
}

// LatestSnapshot returns the description of the newest snapshot (highest
// cursor) that the stream continues: cursor+1 not below the stream's
// first sequence, and not past its last one.
func (n *Node) LatestSnapshot(ctx context.Context) (SnapshotMeta, error) {
	obs, err := n.snapshotStore(ctx)
	if err != nil {
		return SnapshotMeta{}, err
	}
	infos, err := obs.List(ctx)
	if err != nil && !errors.Is(err, jetstream.ErrNoObjectsFound) {
		return SnapshotMeta{}, fmt.Errorf("list snapshots: %w", err)
	}
	s, err := n.js.Stream(ctx, StreamName)
	if err != nil {
		return SnapshotMeta{}, fmt.Errorf("stream %s: %w", StreamName, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return SnapshotMeta{}, fmt.Errorf("stream %s: %w", StreamName, err)
	}
	var best SnapshotMeta
	found := false
	for _, oi := range infos {
		var m SnapshotMeta
		if raw, ok := oi.Metadata[snapshotMetaKey]; !ok || json.Unmarshal([]byte(raw), &m) != nil {
			continue // not described (yet)
		}
		if m.Cursor+1 < info.State.FirstSeq || m.Cursor > info.State.LastSeq {
			continue
		}
		if !found || m.Cursor > best.Cursor {
			best, found = m, true
		}
	}
	if !found {
		return SnapshotMeta{}, ErrNoSnapshot
	}
	return best, nil
}

// GetSnapshot writes the snapshot meta describes to w and checks its
// size and SHA-256; on a mismatch what was written must be discarded.
func (n *Node) GetSnapshot(ctx context.Context, meta SnapshotMeta, w io.Writer) error {
	obs, err := n.snapshotStore(ctx)
	if err != nil {
		return err
	}
	name := "snapshot." + meta.Origin
	res, err := obs.Get(ctx, name)
	if err != nil {
		return fmt.Errorf("get snapshot %s: %w", name, err)
	}
	defer res.Close()
	var h hash.Hash = sha256.New()
	got, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(res, meta.Size+1))
	if err != nil {
		return fmt.Errorf("get snapshot %s: %w", name, err)
	}
	if got != meta.Size || hex.EncodeToString(h.Sum(nil)) != meta.SHA256 {
		return fmt.Errorf("snapshot %s: %d bytes with another digest than described (replaced meanwhile?)", name, got)
	}
	return nil
}
