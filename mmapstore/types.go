package mmapstore

import (
	"hash/fnv"
	"log/slog"
)

// Params are the tokenizer parameters a statfile was built with. A file is
// only opened by a caller whose Params are equal in every field.
type Params struct {
	Hash    string // hash function name, e.g. "xxh64"; at most 32 bytes
	Seed    uint64 // hash seed
	Window  int    // OSB window
	Version int    // tokenizer (normalisation, metatoken) version
}

// Counts are the number of spam and ham messages a token was learned from.
type Counts struct{ Spam, Ham uint32 }

// Totals are the number of messages learned per class in one namespace.
type Totals struct{ Spam, Ham uint64 }

// Namespace separates statistics (per user, per language). It is mixed into
// every key; Shared (0) is the global namespace.
type Namespace uint64

// Shared is the global namespace.
const Shared Namespace = 0

// NamespaceOf returns the namespace for a name such as
// "user:alice@example.org" or "lang:de". The empty name is Shared; no other
// name maps to Shared.
func NamespaceOf(name string) Namespace {
	if name == "" {
		return Shared
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	ns := Namespace(mixKey(h.Sum64(), 0))
	if ns == Shared {
		ns = 1
	}
	return ns
}

// Class is the class of a learned message.
type Class uint8

// The two classes.
const (
	Spam Class = iota + 1
	Ham
)

// Op is one message learned into (Delta +1) or unlearned from (Delta -1)
// one namespace. Hashes are the message's token hashes; the caller removes
// duplicates (a duplicate is counted twice).
//
// An Op with Set true instead sets NS's totals to Totals, absolutely: not
// counted, not clamped, journaled like every other change (the journal
// holds absolute values), so a value set in the same Apply as learns is
// set if and only if they are counted. Class, Delta and Hashes must be
// zero. Callers keep 64-bit values in namespaces of their own with it
// (package learn keeps the replication cursor and per-origin marks so).
// Setting a namespace to zero totals is removing it: rebuilds drop such
// records and a missing record reads as zero.
type Op struct {
	NS     Namespace
	Name   string // optional name of NS, kept for Stat (at most MaxNameLen bytes)
	Class  Class
	Delta  int // +1 learn, -1 unlearn
	Hashes []uint64

	Set    bool   // set NS's totals to Totals instead of counting
	Totals Totals // with Set
}

// Options configure a Writer. A nil *Options or zero fields mean defaults.
type Options struct {
	// Params are the tokenizer parameters. They are written into a new
	// file and must equal those of an existing one.
	Params Params

	// InitialSlots is the table capacity of a new file, rounded up to a
	// power of two. 0 means 1<<16 (1 MiB of slots).
	InitialSlots int

	// MaxBytes bounds the file size. When the table cannot grow within it,
	// the least useful tokens are expired. 0 or negative means no limit.
	MaxBytes int64

	// MaxLoad is the fraction of slots in use that triggers growth or
	// expiry, in (0.1, 0.95]. 0 means 0.8 (20 bytes per stored token at
	// the limit).
	MaxLoad float64

	// CheckpointBytes is the journal size after which Apply checkpoints.
	// 0 means 64 MiB; negative means only on Checkpoint and Close.
	CheckpointBytes int64

	// NoSync skips every fsync and msync. THIS IS UNSAFE: an acknowledged
	// learn can be lost and, after a machine crash, the file can be
	// inconsistent. Meant for tests and for bulk imports that can be
	// restarted from scratch (call Checkpoint or Close at the end).
	NoSync bool

	// Logger receives growth, expiry and recovery events. nil discards.
	Logger *slog.Logger

	// Failpoint, when not nil, is called before every step of a write
	// that a crash could interrupt, with the step's name (see the Step
	// constants). Crash tests kill the process there, so that a seed
	// replays the crash at the same point on any machine. nil in service.
	Failpoint func(step Step)

	// hooks inject faults in tests.
	hooks *hooks
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.InitialSlots <= 0 {
		r.InitialSlots = 1 << 16
	}
	if r.InitialSlots < minSlots {
		r.InitialSlots = minSlots
	}
	if r.MaxLoad <= 0 {
		r.MaxLoad = 0.8
	}
	if r.MaxLoad < 0.1 {
		r.MaxLoad = 0.1
	}
	if r.MaxLoad > 0.95 {
		r.MaxLoad = 0.95
	}
	if r.CheckpointBytes == 0 {
		r.CheckpointBytes = 64 << 20
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	return r
}

// Step names a point of a write where Options.Failpoint is called.
type Step string

// The steps a crash test can stop at, in the order Apply and a checkpoint
// reach them. StepSlot and StepTotals come once per value stored.
const (
	StepJournalWrite Step = "journal-write" // before the record is written
	StepJournalSync  Step = "journal-sync"  // record written, before its fsync
	StepSlot         Step = "slot"          // before one slot store into the mapping
	StepTotals       Step = "totals"        // before one namespace totals store
	StepSeal         Step = "seal"          // values stored, before the totals checksum
	StepRebuild      Step = "rebuild"       // a new file (made, grown, expired) written, before its msync and rename
	StepCheckpoint   Step = "checkpoint"    // before a checkpoint's msync
	StepJournalReset Step = "journal-reset" // checkpointed, before the journal is emptied
)
