// Package feed carries scan records from the milter to the learner: after
// each verdict the milter sends one Record, and the learner (package learner,
// its Service) reads them for autolearn and for training the network.
//
// The transport is a unix datagram socket (SOCK_DGRAM), chosen so that the
// sender never waits: a Sender uses a non-blocking socket and sends each
// record as one datagram with sendto(2). When the learner is not running
// (ENOENT, ECONNREFUSED) or its receive queue is full (EAGAIN) the record is
// dropped and counted; scanning is never slowed by the learner, as the
// design requires. Datagrams keep record boundaries, so a receiver never
// sees half a record, and a restarted learner is found again by path on the
// next send.
//
// A record is a JSON object of at most MaxRecordSize bytes: readable with
// socat when debugging, and cheap next to the scan that produced it. The
// field "v" is the format version; a receiver refuses other versions and
// ignores fields it does not know, so fields can be added without a version
// change. Encode shortens a record that would be too large (symbols dropped
// from the end, long strings cut) rather than fail; Decode rejects anything
// that is not a well-formed record of this version.
//
// Autolearn needs the message's tokens, which the learner cannot compute
// from a digest. Rather than spool every message to disk on the scan path,
// a record carries the token hashes the scan computed (field "tokens",
// base64 of little-endian uint64s, at most MaxTokens of them, about 11
// bytes each). A message with more tokens is sent without them and is
// simply not autolearned. Datagrams stay well below the default unix
// socket buffer (208 KiB on Linux). What bounds a burst is rather the
// queue of unread datagrams on the learner's socket, net.unix.max_dgram_qlen
// (10 by default on Linux): past it the milter drops records (counted)
// rather than wait. The learner reads them into its own queue at once, so
// only a burst from many connections while the learner is descheduled
// loses records; raise the sysctl on a busy site that wants every sample.
//
// To train the neural network the learner needs the scan's input vector:
// field "inputs" maps each input name the scanner computes (rule symbols,
// the Bayes probability and evidence, metatokens; zeros included, so the
// input set is known) to its value. It is bounded (MaxInputs names of at
// most 255 bytes, finite values; Encode leaves out anything else, and
// drops the inputs after the tokens when a record would be too large).
// A milter whose scanner names its inputs (milter.InputNamer) sends them
// whenever a feed is configured; a learner that predates the field
// ignores it, and one that has it treats a record without it as no
// training sample.
package feed
