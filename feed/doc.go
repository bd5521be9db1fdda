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
// To train the neural network the learner needs the scan's input vector.
// It travels in one form from the scanner to the learner's pools (Inputs,
// field "input_vector"): the input set's digest (nn.InputDigest of the
// names, computed once per scanner), the values in the scanner's order as
// base64 of little-endian float32s (every input, zeros included), and the
// names in that order only with the first record of a set, the first
// after a record with names was lost, and every NamesEvery-th (a Sender's
// namesPolicy), so that a learner started later learns them within
// NamesEvery records. It replaced a name → value JSON object ("inputs"),
// which the milter built from the vector and the learner sorted back into
// one: about 25 bytes per input per record against about 5 now. It is
// bounded (MaxInputs values, names of 1 to 255 bytes, finite values;
// Encode leaves out anything else, and drops the inputs after the tokens
// when a record would be too large). A learner that predates the field
// ignores it, one that has it ignores the former "inputs" object (no
// training sample from a milter that predates it) and treats a record
// without input_vector as no training sample.
package feed
