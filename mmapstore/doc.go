// Package mmapstore is Sluice's statfile: the token statistics of one
// classifier in one memory-mapped file, shared by many milter processes
// (readers) and one learner (the writer). It knows nothing of mail: keys
// are 64-bit token hashes, values are spam and ham counts.
//
// # Overview
//
//   - [OpenReader] maps the file read-only (PROT_READ, MAP_SHARED).
//     [Reader.Lookup] answers a batch of hashes without a lock, a system
//     call or an allocation, and follows the file when it is replaced.
//   - [Follow] is the scanners' reader: it maps the file when it appears,
//     and until then (or while the file cannot be mapped, which it logs)
//     answers with empty statistics, so that scanning never fails for the
//     statfile's sake.
//   - [OpenWriter] takes an exclusive flock on path+".lock" (a second
//     writer gets [ErrLocked]), replays the journal path+".journal", and
//     [Writer.Apply] learns and unlearns messages durably.
//   - [Stat] describes a file; [Check] verifies every invariant below (fsck).
//   - [Writer.Digest] and [DigestFile] hash what the statistics say (counts
//     per key, totals per namespace), not how the file lays them out, so
//     hosts that learned the same things compare equal; a [Digester] sums
//     the same digest from statistics held elsewhere (a model, an oracle).
//   - Backups (snapshot.go): [Writer.Snapshot] copies the file between two
//     Applys; [OpenImage] reads such a copy; [NewBuilder] writes a new
//     file from a backup's parts and [Writer.Install] puts it in service
//     by the same rename-and-supersede that growth uses.
//
// # File format (version 2)
//
// All integers are little-endian. The file is a 4096-byte header page, a
// table of Capacity 16-byte slots (Capacity a power of two), then a
// namespace directory of NSCapacity 128-byte records:
//
//	size = 4096 + Capacity*16 + NSCapacity*128
//
// Header, static part (written once when the file is made; covered by the
// checksum):
//
//	offset size field
//	     0    8 magic "SLUICEST"
//	     8    4 format version (2; 1 is read and upgraded, see below)
//	    12    4 slot size (16)
//	    16    8 capacity: slots in the table, a power of two >= 1024
//	    24    8 namespace directory capacity, a power of two >= 64
//	    32    4 namespace record size (128)
//	    36    4 probe bound: a key lives at most this many slots past its home
//	    40    8 generation: 1 for a new file, +1 per rebuild (growth, expiry)
//	    48    8 creation time of this file, unix nanoseconds
//	    56    8 tokenizer hash seed
//	    64    4 tokenizer window
//	    68    4 tokenizer version
//	    72   32 tokenizer hash name, ASCII, NUL padded
//	   104  148 reserved, zero
//	   252    4 CRC32C (Castagnoli) of bytes [0, 252)
//
// Header, dynamic part: aligned 8-byte counters, changed while readers run
// and therefore read and written with atomic loads and stores. They are
// outside the static checksum. The counters the writer can rebuild (used,
// namespaces) it recounts on every open (invariant 6); the learn totals,
// which nothing else records, have a checksum of their own (offset 320)
// over the shared totals and the whole namespace directory, stored by the
// writer after every change of them (invariant 9).
//
//	offset size field
//	   256    8 used: slots holding a key
//	   264    8 namespaces in the directory
//	   272    8 applied sequence: last journal record contained in the file
//	   280    8 expired: tokens dropped to stay within MaxBytes, ever
//	   288    8 superseded: 1 once a newer file was renamed over this one
//	   296    8 clean: 1 when the last writer closed the file, 0 while open
//	   304    8 spam messages learned, shared namespace
//	   312    8 ham messages learned, shared namespace
//	   320    8 totals checksum: CRC32C (low 32 bits) of bytes [304, 320)
//	            then of the whole namespace directory
//	   328 3768 reserved, zero
//
// Slot (at 4096 + i*16):
//
//	offset size field
//	     0    8 key: mix(token hash, namespace); 0 = empty slot
//	     8    4 spam count   \ one aligned 8-byte word, so a reader
//	    12    4 ham count    / gets both counts with one atomic load
//
// Namespace record (at 4096 + Capacity*16 + j*128):
//
//	offset size field
//	     0    8 namespace id; 0 = empty record
//	     8    8 spam messages learned in the namespace
//	    16    8 ham messages learned in the namespace
//	    24    8 length of the name (0 = unknown)
//	    32   96 name, as given in Op.Name (truncated to 96 bytes)
//
// # Keys, probing and namespaces
//
// A key is mixKey(hash, ns): the hash XOR ns*0x9e3779b97f4a7c15, through
// the murmur3 64-bit finalizer (a bijection), with 0 mapped to 1. The home
// slot is the key's top log2(Capacity) bits. Lookups probe linearly with
// wraparound and stop at the key, at an empty slot, or after the probe
// bound. Slots are never emptied in place (unlearning to 0/0 keeps the
// slot; rebuilds drop such slots), so stopping at an empty slot is sound.
//
// Namespaces (per user, per language) are part of the key; [Shared] (0) is
// the global one and keeps its totals in the header. Every other
// namespace's learn totals (and name, for [Stat]) live in the directory, a
// second open-addressing table probed from mixKey(ns, 0) and kept at most
// half full. A rebuild drops the records whose totals are both zero (a
// missing record reads as zero totals), so namespaces unlearned to
// nothing, such as the users the learner's cap expires, do not grow the
// directory for ever.
//
// # Who writes, and in what order
//
// Only the Writer writes, through its own read-write shared mapping, with
// aligned atomic stores. Readers map PROT_READ, so a stray write faults.
// A new slot gets its counts first and its key last; an existing slot gets
// one store of the counts word. Readers load the key, then the counts, then
// the key again. Counts saturate at 2^32-1 and stop at 0; totals likewise.
//
// Apply, for a batch of ops:
//
//  1. computes the absolute values the ops lead to;
//  2. if they would pass the load limit, rebuilds first (see below);
//  3. appends one journal record (seq, length, CRC32C, absolute values)
//     and fsyncs the journal: from here the learn is durable;
//  4. stores the values into the mapping, then returns seq.
//
// Checkpoint (when the journal passes Options.CheckpointBytes, and on
// Close): msync the mapping; store the applied seq in the header; msync the
// header; truncate the journal to its header and fsync it. A crash between
// any two steps leaves records that replay idempotently: replay on open
// sets the values of every record with seq > the applied seq, drops a torn
// tail, and checkpoints. A torn tail is a bad record (cut short, an
// impossible length, a CRC mismatch) with no good record after it: every
// acknowledged record was fsynced, so a crash can tear only the last one.
// A bad record followed by a good one is corruption in the middle: the
// writer refuses to open (ErrJournalCorrupt, naming the record) and leaves
// the journal as it is, because dropping the tail would silently lose
// acknowledged learns; [RepairJournal] (`sluice fsck --repair`) replays
// every good record and reports what it dropped. A flipped bit in the
// very last record still reads as a torn tail.
//
// An Op with Set stores a namespace's totals absolutely instead of
// counting: the journal records totals as absolute values anyway, so a
// value set in an Apply is set exactly when its counts are (package learn
// keeps its replication cursor and per-origin marks in namespaces of
// their own this way; no format change was needed). Options.Failpoint
// names every step above (journal write, fsync, each slot and totals
// store, the seal, a rebuild, a checkpoint) so that crash tests can kill
// a process at an exact point.
//
// Group commit is not implemented: concurrent Apply calls are serialised,
// each with its own fsync. To learn in bulk, pass many ops to one Apply
// (one record, one fsync), or use Options.NoSync and Checkpoint at the end.
//
// # Growth and expiry
//
// A file never changes size in place. When a batch would pass
// Options.MaxLoad (0.8 by default: 20 bytes per token at the limit), or a
// key finds no empty slot within the probe bound, the writer writes a new
// file at path+".tmp" with twice the capacity (more if needed), msyncs and
// fsyncs it, renames it over path, fsyncs the directory, and only then
// sets the superseded flag in the old file's header. Readers check that
// flag (one atomic load per batch) and map the new file; each mapping is
// reference counted per batch and unmapped after the last batch using it.
// Once a second, readers also compare the inode at path with their mapping,
// in case a writer died between the rename and the flag.
//
// When the doubled file would pass Options.MaxBytes, the new file instead
// gets the largest capacity that fits, and the least useful tokens are
// expired until the table is at 75% of its load limit: lowest spam+ham
// first (hapaxes), then the smallest |spam-ham| (no information), then an
// order by re-mixed key, so the choice is deterministic and spread over
// the table. Tokens of the batch being learned are never expired. The
// number expired accumulates in the header. Learning only fails for lack
// of room ([ErrFull]) if one batch alone holds more distinct tokens than
// the largest table within MaxBytes.
//
// # Invariants (checked by [Check])
//
//  1. The static header has the magic, version 1, slot size 16, record
//     size 128, power-of-two capacities, and a valid CRC32C; the file size
//     is exactly 4096 + Capacity*16 + NSCapacity*128.
//  2. Every non-empty slot's key is at most probe-bound-1 slots past its
//     home slot, with no empty slot between its home and itself.
//  3. No key appears twice.
//  4. An empty slot has zero counts.
//  5. The same hold for the namespace directory, which is at most half full.
//  6. When the clean flag is 1, used and the namespace count equal the
//     table's; otherwise the next writer recounts them.
//  7. The journal starts with its header; its records have consecutive
//     sequence numbers, and the first is at most the applied seq + 1 (no
//     acknowledged learn is missing). A torn last record is not an error;
//     a bad record with a good one after it is.
//  8. The file at path is never superseded; a superseded file is unlinked.
//  9. The totals checksum matches the totals, whenever it must: the file
//     was closed cleanly, or no journal record awaits replay. (Apply
//     journals a record, changes the totals, then seals them; a
//     checkpoint, which empties the journal, comes after the seal. After a
//     crash the checksum can lag by the one record that replay re-applies.)
//     A mismatch is ErrTotalsChecksum: OpenWriter refuses the file, a
//     running writer fails at its next Apply, Check and Stat report it.
//     The header's counters are within the table's and directory's sizes.
//
// # Format versions
//
// Version 2 added the totals checksum. A version 1 file (its word at 320
// is zero) is read by readers, Stat and Check as it is, without that
// check; the next OpenWriter upgrades it in place (version field, static
// checksum, totals checksum) and logs it. A build that knows only version
// 1 refuses a version 2 file with a *VersionError.
//
// # Platforms and caveats
//
// The package needs a little-endian unix (linux, the BSDs, darwin): the
// counters are read with native atomic loads. A statfile must not be
// truncated or rewritten by anything but the Writer while mapped. If it is,
// a Reader does not die of SIGBUS: its periodic stat of the path compares
// the size with the mapping, and its lookups run with
// debug.SetPanicOnFault, so a shrunk file gives errors wrapping
// [ErrTruncated] (counted by [Reader.Faults], logged) until a whole file
// is at the path again. Params are compared field by field; a file built
// with other tokenizer parameters is refused with a [*ParamsError] naming
// each difference.
package mmapstore
