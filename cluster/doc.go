// Package cluster moves learn events between the hosts of a site: it is the
// one place that knows NATS JetStream.
//
// A host's learner hands every learn, relearn and forget to a Node as a
// learn.Event. The Node gives it the origin's next sequence number (no
// gaps: the next number is persisted), appends it to a durable outbox in
// the data directory (one CRC'd record per event, fsync'd before Publish
// returns), and a publisher goroutine sends the outbox, in order, on
// subject sluice.learn.<origin> of the stream SLUICE_LEARN with
// Nats-Msg-Id "<site>/<origin>/<seq>" and the expected last sequence of
// that subject. So a resend after any crash is refused: as a duplicate
// inside the stream's dedup window, as a wrong last sequence after it.
// An event leaves the outbox when the stream acknowledges it; while the
// broker is unreachable events wait there and drain, in order, when it
// returns.
//
// Every host, the origin included, applies the whole stream in its one
// total order through an Applier (the statfile side, implemented by
// learn.Learner): an ordered consumer starting at Applier.Cursor()+1, with
// the stream's timestamp as the event's Time. A host's own learns take
// effect when they come back through the stream, so every host's learn
// cache decides alike. A host whose cursor fell behind the stream's
// retention (Cursor()+1 below the stream's first sequence) stops applying
// and says "re-bootstrap needed": it never skips a gap. So does a host
// whose cursor is past the stream's end (the stream was made anew).
//
// Snapshots (PutSnapshot, LatestSnapshot, GetSnapshot) carry a host's
// statfile, with its cursor and marks, through the object store
// sluice-snap, for a new host or one that fell behind the retention.
//
// Status is the node's state for `sluice cluster status` and the
// learner's metrics; Open builds everything from the [cluster] section.
//
// The broker is an embedded nats-server (StartServer: the site is the
// cluster name, routes to the peers, JetStream stored below the data
// directory with sync_interval always, because Jepsen lost acknowledged
// writes with the default two minutes) or an external NATS cluster
// (Options.URL). Replicas: three with three or more brokers, one on a hub.
//
// Events travel as a compact, versioned binary encoding (Encode, Decode):
// the message's token hashes sorted and delta-encoded as varints, never
// the message. Decode bounds every length by MaxHashes and the string
// limits before it allocates, and refuses trailing bytes.
package cluster
