// Package learner is the learner daemon: the statfile's single writer
// (it holds mmapstore's writer lock for its whole life) and the one place
// where learns from every source meet.
//
// Files: daemon.go (the queue and group commit), protocol.go (the framed
// request/response protocol of the unix socket and of spool files),
// server.go (the unix socket server), client.go (what `sluice learn` and
// `sluice spamd` use), spool.go (the durable spool), autolearn.go (scan
// records → learns, and their guards), http.go (rspamd-compatible learn
// endpoints and /metrics), metrics.go (Prometheus counters).
//
// Sources: `sluice learn` (Dovecot's sieve pipe, bulk imports) over the
// unix socket; rspamc and existing Dovecot scripts over HTTP (POST
// /learnspam, /learnham, as rspamd's controller on 127.0.0.1:11334); the
// spool; the milters' scan records (autolearn); spamd's TELL in `sluice
// serve`.
//
// # Durability and group commit
//
// A learn is acknowledged only once mmapstore.Apply returned, which is
// after the journal record holding it was fsynced: `kill -9` of the daemon
// loses nothing that was acknowledged. Requests are tokenized in their own
// goroutines (in parallel), then queued; one committer goroutine takes
// everything that is queued (up to MaxBatch), plans it with the learn cache
// (learn.Batch) and journals it as one Apply — one fsync for the whole
// group — then answers each request. While one group is being fsynced the
// next one queues, so the fsync rate bounds commits, not learns.
//
// # The learn cache
//
// package learn keeps it in the statfile (a reserved namespace), keyed by
// the content digest and user: the same class again is "already learned"
// (success, nothing counted), the other class unlearns and learns as one
// journaled operation. Autolearn never relearns: a message a user (or an
// earlier autolearn) has classified keeps its class.
//
// # Spool
//
// Dovecot never retries a failed pipe (and does not undo the MOVE), so
// `sluice learn` must not lose a message when the daemon is down. Its
// order of preference: the daemon; the statfile directly if no daemon
// holds the lock; the spool (a file per request, written durably); exit
// 75 only when all three fail. The daemon drains the spool at start and
// every SpoolInterval. The spool is bounded (spool_max files).
//
// # Autolearn from scan records
//
// Scan records carry the token hashes the milter computed (feed.Record.
// Tokens; at most feed.MaxTokens, else the message is not autolearned), so
// autolearn learns exactly the tokens the verdict was made from, without
// the message being written anywhere. Guards (Autolearn.Decide): off by
// default; never authenticated, trusted or (unless allowed) local mail;
// not when Bayes was already MinProb sure of that class; not when that
// class's learns exceed the other's (+1) by more than 1/MinBalance. Note
// that a later explicit learn of the delivered copy tokenizes it afresh:
// headers added in transit change a few metatokens, so a relearn unlearns
// a nearly identical token set (counts never go below zero).
//
// # Protocol
//
// See Request and Response for the frames; both directions are bounded
// (user 320 bytes, source 32, message max_message_size, text 1 KiB), and
// every connection has an idle and a per-request deadline.
package learner
