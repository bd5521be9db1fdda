// Package learner is the learner daemon: the statfile's single writer
// (it holds mmapstore's writer lock for its whole life) and the one place
// where learns from every source meet; and its front door, Door, the one
// way in for everything that is not the daemon.
//
// Files: daemon.go (the queue and group commit), door.go (the front door:
// daemon, else the statfile directly, else the spool), protocol.go (the
// framed request/response protocol of the unix socket and of spool files,
// and the label and outcome types front ends use), server.go (the unix
// socket server), client.go (the socket's client, which the Door uses),
// spool.go (the durable spool), autolearn.go (scan records → learns, and
// their guards), http.go (rspamd-compatible learn endpoints, /metrics,
// and rspamd's /stat and /counters from package metrics), auth.go (who may learn: the password, the learn slots),
// metrics.go (Prometheus counters), neural.go (the neural network's
// training cycle), activity.go (the activity log the daemon keeps of
// every scan record and learn, its file, and AdminAccuracy's answer),
// admin.go (backups and the accuracy over the unix socket), cluster.go
// (the daemon as a host of a cluster).
//
// # Who may learn
//
// Learning changes every later verdict, so it is a privilege (auth.go):
// the unix socket's mode and group (learner.socket_mode, socket_group)
// say who may use `sluice learn`; the HTTP endpoints learn only with the
// password (rspamc -P), and with none set refuse every learn (403).
// Refusals are logged and counted (sluice_learner_refused_total). Each
// listener reads and serves at most MaxLearns learns at once: a slot is
// taken before a message is read, one more request is answered busy at
// once (sluice_learner_busy_total), and the Door then takes its next way.
//
// Names: package learn applies one labelled message to a statfile through
// a writer it is given (it knows nothing of processes); package learner
// decides who holds that writer and how a learn reaches it. Front ends
// (spamd, the command line) import learner only: Label, Outcome and
// ErrNotMessage are learn's, re-exported here.
//
// Sources: `sluice learn` (Dovecot's sieve pipe, bulk imports), through
// the Door over the unix socket; rspamc and existing Dovecot scripts over
// HTTP (POST /learnspam, /learnham, as rspamd's controller on
// 127.0.0.1:11334); the spool; the milters' scan records (autolearn);
// spamd's TELL and rspamd endpoints through the Door (the daemon in
// process in `sluice serve`, its socket or the statfile directly in
// `sluice spamd`).
//
// # The front door
//
// Door.Learn takes one request the first way that works: the running
// learner (in process, or over its socket); else the statfile opened for
// writing under the writer lock and closed at once; else the spool. Its
// Result says which way (Via), what the learn did (Outcome) and why the
// earlier ways were not taken (Detours). A message is tokenized at most
// once in the calling process: the direct way and the spool share one
// tokenization, which also tells "not a message" (EX_DATAERR) from "could
// not learn" (ErrUnavailable, EX_TEMPFAIL) without a second pass.
// Door.LearnAll is the bulk import: several connections to the daemon, or
// batches of learns directly (one fsync per batch). OpenWriter is the one
// place outside mmapstore that opens the statfile for writing.
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
// the content digest alone for the shared statistics, whoever taught it
// (and by digest and user for the user's own statistics): the same class
// again is "already learned" (success, nothing counted), the other class
// unlearns and learns as one journaled operation. User namespaces are
// capped (learn.Options.MaxUserNamespaces), the least recently learned
// expired first. Autolearn never relearns: a message a user (or an
// earlier autolearn) has classified keeps its class.
//
// # Spool
//
// Dovecot never retries a failed pipe (and does not undo the MOVE), so
// `sluice learn` must not lose a message when the daemon is down. The
// Door's order of preference: the daemon; the statfile directly if no
// daemon holds the lock; the spool (a file per request, written durably);
// exit 75 only when all three fail. The daemon drains the spool at start and
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
// # Training the neural network
//
// With Options.Neural (`[neural]` enabled), scan records that carry the
// network's input vector (feed.Record.Inputs) become training samples:
// spam at score >= spam_score, ham at <= ham_score, or whatever class an
// explicit learn gave that message (by content digest; the label wins
// over the score, moves a sample already pooled, and is kept for records
// that come later; a forget drops label and sample). A message seen again
// replaces its sample. Each class keeps at most pool_size samples, the
// oldest dropped. The pools belong to one input set (the record's
// feed.Inputs.Set, nn.InputDigest of its input names; records carry the
// names only now and then, and the trainer remembers them by digest: a
// record of a set it has no names for yet is no sample, counted as
// unknown_inputs). A record's values are copied as they are when they come
// in the pools' order, placed by name otherwise (pools files written
// before hold their names sorted). A record of another set starts new
// pools and a new network, and the replaced set is remembered (the last
// 8), so that scanners of old and new rules during a rollout do not reset
// the pools back and forth.
//
// After max_train new samples (and at least MinClass of each class) the
// daemon's training goroutine takes every sample of both pools (nn.Train
// weighs the classes equal), trains with nn.Train's defaults and a fixed
// seed — the recipe `sluice eval --nn` measures — and publishes with nn.Save into [neural] file (temporary file,
// fsync, rename), where the scanners' nn.Watcher picks it up. Before it
// trains, it rescores leave-one-out every sample whose explicit learn gave
// its tokens (Options.NewRescorer, neural.go's Rescorer): the Bayes inputs
// become those of the statfile as it is then, without the message, the
// verdicts `sluice eval --nn` trains on, instead of those of the scan,
// made by the statistics of that day (silent on a new site). The
// network's Epoch counts publications; after max_epoch of them the pools
// are cut to their newest max_train samples per class and the count
// starts again: a fresh network on recent mail. Shutdown cancels a
// training in progress (nothing is published; it is due again at the next
// start).
//
// The pools, the labels, the epoch and the count of new samples persist
// in <file>.pools in the data directory (gob, written atomically) after
// each publication and when the daemon stops; a crash loses at most the
// samples since the last publication. A pool file that does not decode or
// check is logged and replaced by new pools.
//
// An explicit learn is matched to a scan record by the content digest of
// its own tokenization, which leaves out the headers added in transit
// (tokenizer's Digest). Autolearns do not label.
//
// Settings profiles (rspamd's use_settings): with Options.NeuralProfiles,
// each profile has its own trainer — pools, pool file, network file,
// epoch — and a scan record trains the network of the profile it was
// judged by (feed.Record.Profile); records of no profile, or of a profile
// this daemon does not know, train the default network. An explicit
// learn labels the message in every trainer, since a learn does not say
// which profile judged it; only the pools that hold the message move it.
//
// # Several hosts (cluster.go)
//
// With [cluster] enabled the daemon is a host of its site's cluster
// (package cluster; ServiceOptions.Cluster opens the membership,
// JoinCluster hands it to the daemon). Every learn the daemon takes —
// socket, HTTP, spool, spamd's TELL, the console, autolearn — is
// tokenized as always, then becomes a learn.Event (learn.EventOf: the
// token hashes, the digest, the statfile's tokenizer parameters, the
// source and the user) that the commit goroutine appends to the node's
// outbox (cluster.Node.Publish: fsync'd before it returns). It is not
// applied then: it takes effect when it comes back through the stream,
// on this host as on every other, so that every host's learn cache
// decides alike (same class: nothing; the other class: relearn; a user
// outranks autolearn). The node applies the stream through Applier:
// ApplyEvent queues the event for the commit goroutine and returns, and
// the commit goroutine applies the events queued meanwhile as groups
// (learn.Learner.ApplyEvents: one journaled update and fsync for up to
// 256 events, the cursor inside it, crash-exact); Cursor and Marks run
// there too, after what was queued before them. There is still one
// writer. A group that fails drops the events queued after it until the
// node reads Cursor() again, which it does after the error the next
// ApplyEvent returns: it resumes from the statfile's cursor, never past
// it.
//
// The answer to a cluster learn is Queued ("queued"): the event is
// durable in the outbox, nothing more, and the answer never claims more.
// It is not "learned" because that is decided later, in the stream's
// order, and may be "already learned" or a relearn; waiting for the
// stream would make a user's IMAP MOVE wait for the broker, which may be
// away for hours while the outbox keeps the learn safe. `sluice learn`
// exits 0 for queued as for learned; `sluice cluster status` shows when
// the host's cursor passed the event. An outbox that is full or fails
// answers a temporary failure, and the Door spools.
//
// A cluster host's Door never learns into the statfile directly
// (DoorOptions.NoDirect): that learn would be no event, and the hosts
// would differ for ever. With the daemon down, learns go to the spool,
// which the daemon drains into the outbox when it is back.
//
// Explicit learns still label the networks' pools on the host that took
// them, when they are queued (events from other hosts do not: their scan
// records are on their hosts). The node runs as one of Run's workers,
// so it stops before the commit goroutine does; the Service closes it
// (outbox, connection, embedded server) after Run returned, then the
// statfile.
//
// # Protocol
//
// See Request and Response for the frames; both directions are bounded
// (user 320 bytes, source 32, message max_message_size, text 1 KiB), and
// every connection has an idle and a per-request deadline. A message is
// read before it is allocated: its buffer grows with what arrives, up to
// the length the header claims. The Door's calls to the daemon each have
// a deadline (DoorOptions.Timeout): a stopped daemon is a detour.
package learner
