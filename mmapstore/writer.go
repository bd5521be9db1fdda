package mmapstore

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"sync"
)

// Writer is the only process that modifies a statfile: the learner. It
// holds an exclusive flock on path+".lock" for its whole life. Its methods
// are safe for concurrent use; Apply calls are serialised.
type Writer struct {
	path string
	opts Options
	log  *slog.Logger
	fsys fileOps
	lock *os.File

	mu      sync.RWMutex
	m       *mapping // current mapping (read-write)
	j       *journal
	seq     uint64 // last sequence written to the journal
	applied uint64 // last sequence applied to m
	failed  error  // sticky: set when state became uncertain
	sealed  uint32 // the totals checksum this writer last stored
	closed  bool
	repair  *RepairReport // set while RepairJournal opens the writer

	// scratch space of Apply, reused between calls
	idx   map[uint64]int
	es    []entry
	nsIdx map[Namespace]int
	nss   []nsEntry
	rec   []byte
}

// OpenWriter opens the statfile at path for writing, creating it (and its
// journal) if missing, and replays the journal. It fails with ErrLocked if
// another writer holds the file, and with a *ParamsError if the file was
// built with other tokenizer parameters.
func OpenWriter(path string, opts *Options) (*Writer, error) {
	return openWriter(path, opts, nil)
}

// openWriter is OpenWriter; with repair set, the journal replay keeps
// every good record past bad ones and reports in repair what it did.
func openWriter(path string, opts *Options, repair *RepairReport) (*Writer, error) {
	o := opts.withDefaults()
	wrap := func(err error) error { return fmt.Errorf("mmapstore: open statfile %s: %w", path, err) }
	if !supportedPlatform || !isLittleEndian() {
		return nil, wrap(ErrUnsupported)
	}
	if len(o.Params.Hash) > hashNameSz {
		return nil, wrap(fmt.Errorf("hash name %q longer than %d bytes", o.Params.Hash, hashNameSz))
	}
	lock, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, wrap(err)
	}
	locked, err := lockFile(lock)
	if err != nil || locked {
		lock.Close()
		if locked {
			return nil, &lockedError{path: path}
		}
		return nil, wrap(fmt.Errorf("lock %s.lock: %w", path, err))
	}
	w := &Writer{
		path:   path,
		opts:   o,
		log:    o.Logger.With("statfile", path),
		fsys:   fileOps{noSync: o.NoSync, h: o.hooks, failpoint: o.Failpoint},
		lock:   lock,
		idx:    make(map[uint64]int),
		nsIdx:  make(map[Namespace]int),
		repair: repair,
	}
	if err := w.open(); err != nil {
		if w.m != nil {
			w.m.release()
		}
		if w.j != nil {
			w.j.f.Close()
		}
		unlockFile(lock)
		lock.Close()
		return nil, wrap(err)
	}
	return w, nil
}

func (w *Writer) open() error {
	created := false
	if _, err := os.Stat(w.path); errors.Is(err, os.ErrNotExist) {
		if err := w.create(); err != nil {
			return fmt.Errorf("create: %w", err)
		}
		created = true
	}
	m, err := openMapping(w.path, true)
	if err != nil {
		return err
	}
	w.m = m
	if m.hdr.params != w.opts.Params {
		return &ParamsError{Path: w.path, File: m.hdr.params, Want: w.opts.Params}
	}
	// The counters are outside the checksum, and growth and expiry are
	// decided on them: a counter below the truth would let the table or
	// the namespace directory fill up, and an insert into a full
	// directory would overwrite another namespace's totals. The writer
	// opens once per daemon start, so it recounts always (one pass over
	// the slots, tens of milliseconds for 10 M), and says so when the
	// file was not closed cleanly or the stored counters were wrong.
	c, storedUsed, storedNS := m.load(wClean), m.load(wUsed), m.load(wNSUsed)
	if c == 1 && !m.sealed() {
		// Closed cleanly, so the checksum was stored with the totals: they
		// changed since, outside any writer. Learning on would keep them.
		return fmt.Errorf("%w: shared totals spam %d, ham %d, or a namespace record; run `sluice fsck`",
			ErrTotalsChecksum, m.load(wSharedSpam), m.load(wSharedHam))
	}
	used, nsUsed := m.recount()
	if !created && (c != 1 || used != storedUsed || nsUsed != storedNS) { // a new file is not clean until its first close
		w.log.Info("mmapstore: statfile was not closed cleanly, recounted", "clean", c, "used", used, "namespaces", nsUsed,
			"stored_used", storedUsed, "stored_namespaces", storedNS)
	}
	if created {
		w.log.Info("mmapstore: created statfile", "capacity", m.hdr.capacity)
	}
	m.store(wClean, 0)
	if err := w.fsys.msync(m.data[:HeaderSize]); err != nil {
		return fmt.Errorf("msync header: %w", err)
	}
	w.applied = m.load(wAppliedSeq)
	w.seq = w.applied

	jpath := w.path + ".journal"
	j, created, err := openJournal(jpath, &w.fsys)
	if err != nil {
		return fmt.Errorf("journal %s: %w", jpath, err)
	}
	w.j = j
	replayed := 0
	if created {
		if err := w.fsys.syncDir(jpath); err != nil {
			return fmt.Errorf("journal %s: %w", jpath, err)
		}
	} else if replayed, err = w.replay(); err != nil {
		return err
	}
	return w.sealOnOpen(c == 1, replayed)
}

// sealOnOpen checks and stores the totals checksum once the journal is
// replayed. After a crash (not clean) the checksum can be one record
// behind the totals, but only while that record awaits replay: every
// Apply journals a record before it changes totals and seals after, and
// a checkpoint (which empties the journal) comes after the seal. So when
// nothing was replayed the checksum must match, clean or not. A version 1
// file, which has no checksum, is upgraded here to version 2.
func (w *Writer) sealOnOpen(clean bool, replayed int) error {
	m := w.m
	if from := m.hdr.version; from < Version {
		h := m.hdr
		h.version = Version
		h.encodeStatic(m.data)
		m.hdr = h
		w.log.Info("mmapstore: upgraded statfile format", "from", from, "to", Version)
	} else if !clean && replayed == 0 && !m.sealed() {
		return fmt.Errorf("%w: shared totals spam %d, ham %d, or a namespace record; run `sluice fsck`",
			ErrTotalsChecksum, m.load(wSharedSpam), m.load(wSharedHam))
	}
	w.sealed = m.seal()
	if err := w.fsys.msync(m.data[:HeaderSize]); err != nil {
		return fmt.Errorf("msync header: %w", err)
	}
	return nil
}

// replay applies the journal records newer than the statfile, drops a
// torn tail, and checkpoints. It returns how many records it applied.
func (w *Writer) replay() (int, error) {
	jpath := w.j.path
	replayed := 0
	scan, err := replay(w.j.f, w.j.size, w.applied, w.repair != nil, func(seq uint64, es []entry, nss []nsEntry) error {
		if err := w.replayRecord(es, nss); err != nil {
			return err
		}
		w.applied = seq
		replayed++
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("replay journal %s: %w", jpath, err)
	}
	if scan.lastSeq > w.seq {
		w.seq = scan.lastSeq
	}
	if w.applied > w.seq {
		w.seq = w.applied
	}
	if scan.torn > 0 {
		w.log.Warn("mmapstore: dropped torn journal tail", "bytes", scan.torn, "after_seq", scan.lastSeq)
		if err := w.j.truncateTo(scan.validEnd, &w.fsys); err != nil {
			return 0, fmt.Errorf("truncate journal %s: %w", jpath, err)
		}
	}
	if replayed > 0 {
		w.log.Info("mmapstore: replayed journal", "records", replayed, "seq", w.applied)
	}
	if w.repair != nil {
		*w.repair = RepairReport{Records: scan.records, Replayed: replayed, Dropped: scan.dropped, TornBytes: scan.torn, Seq: w.applied}
		for _, d := range scan.dropped {
			w.log.Warn("mmapstore: repair dropped a bad journal stretch", "drop", d.String())
		}
		return replayed, w.checkpoint() // the journal is rewritten empty: the bad stretches go
	}
	if scan.records > 0 {
		return replayed, w.checkpoint()
	}
	return replayed, nil
}

// replayRecord sets the absolute values of one journal record, making room
// first (as Apply does) if its new keys and namespaces would pass the load
// limits. Its own keys are never expired.
func (w *Writer) replayRecord(es []entry, nss []nsEntry) error {
	keys := make(map[uint64]bool, len(es))
	for _, e := range es {
		keys[e.key] = true
	}
	keep := func(k uint64) bool { return keys[k] }
	var newKeys, newNS uint64
	for _, e := range es {
		if _, found, _ := w.m.find(e.key); !found {
			newKeys++
		}
	}
	for _, n := range nss {
		if _, found := w.m.nsFind(n.ns); n.ns != Shared && !found {
			newNS++
		}
	}
	if !w.fits(newKeys, newNS) {
		if err := w.makeRoom(newKeys, newNS, false, keep); err != nil {
			return err
		}
	}
	return w.applyEntries(es, nss, keep)
}

// create writes a new empty statfile at w.path.
func (w *Writer) create() error {
	capacity := ceilPow2(uint64(w.opts.InitialSlots))
	if w.opts.MaxBytes > 0 {
		for capacity > minSlots && fileSize(capacity, minNSSlots) > w.opts.MaxBytes {
			capacity /= 2
		}
		if fileSize(capacity, minNSSlots) > w.opts.MaxBytes {
			return fmt.Errorf("%w: MaxBytes %d is below the smallest statfile (%d bytes)",
				ErrFull, w.opts.MaxBytes, fileSize(minSlots, minNSSlots))
		}
	}
	m, _, err := w.writeFile(capacity, minNSSlots, 1, func(*mapping) error { return nil })
	if err != nil {
		return err
	}
	return m.release()
}

func (w *Writer) usable() error {
	if w.closed {
		return ErrClosed
	}
	return w.failed
}

func (w *Writer) fail(err error) {
	if w.failed == nil {
		w.failed = fmt.Errorf("%w: %w", ErrFailed, err)
		w.log.Error("mmapstore: writer failed", "err", err)
	}
}

// Apply learns and unlearns ops as one journal record. When it returns a
// nil error the record is durable (fsynced, unless Options.NoSync) and
// applied; seq is its sequence number. Counts saturate at 2^32-1 and never
// drop below zero; so do totals. Ops take effect in order: a Set op
// overrides what earlier ops counted into its namespace, later ops count
// from the value it set.
//
// One Apply is atomic across a crash, however many values it changes
// (the record is bounded only by maxRecordSize, 1 GiB, about 67 million
// slot values): the record, holding the absolute value of every slot and
// total it changes, is fsynced before the mapping is touched, and the
// file's applied sequence only moves at a checkpoint, after an msync of
// the whole mapping. A crash before the fsync completes leaves the record
// torn or absent and the mapping untouched; a crash after it, with any
// part of the mapping stored, is finished by replay on the next open,
// which sets every value of the record again. So a reader of the reopened
// file sees all of an Apply or none of it.
func (w *Writer) Apply(ops ...Op) (seq uint64, err error) {
	for i, op := range ops {
		if op.Set {
			if op.Class != 0 || op.Delta != 0 || len(op.Hashes) != 0 {
				return 0, fmt.Errorf("%w: op %d sets totals but has class %d, delta %d, %d hashes", ErrBadOp, i, op.Class, op.Delta, len(op.Hashes))
			}
			continue
		}
		if (op.Class != Spam && op.Class != Ham) || (op.Delta != 1 && op.Delta != -1) {
			return 0, fmt.Errorf("%w: op %d has class %d, delta %d", ErrBadOp, i, op.Class, op.Delta)
		}
	}
	wrap := func(err error) error { return fmt.Errorf("mmapstore: apply to %s: %w", w.path, err) }
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return 0, wrap(err)
	}
	if sum := w.m.totalsSum(); sum != w.sealed {
		w.fail(fmt.Errorf("%w: shared totals spam %d, ham %d, or a namespace record changed under the writer",
			ErrTotalsChecksum, w.m.load(wSharedSpam), w.m.load(wSharedHam)))
		return 0, wrap(w.failed)
	}
	keep := func(k uint64) bool { _, ok := w.idx[k]; return ok }
	newKeys, newNS := w.compute(ops)
	if !w.fits(newKeys, newNS) {
		if err := w.makeRoom(newKeys, newNS, false, keep); err != nil {
			return 0, wrap(err)
		}
		newKeys, newNS = w.compute(ops)
		if !w.fits(newKeys, newNS) {
			return 0, wrap(fmt.Errorf("%w: %d new tokens, %d in use, capacity %d",
				ErrFull, newKeys, w.m.load(wUsed), w.m.hdr.capacity))
		}
	}
	if len(w.es) == 0 && len(w.nss) == 0 {
		return w.seq, nil
	}
	seq = w.seq + 1
	w.rec = encodeRecord(w.rec[:0], seq, w.es, w.nss)
	if n := len(w.rec) - recordHeaderSize; n > maxRecordSize {
		// Replay would take it for a torn tail and drop it: refuse it
		// before it is acknowledged.
		return 0, wrap(fmt.Errorf("%w: %d changes make a journal record of %d bytes, more than %d: split the batch",
			ErrBadOp, len(w.es)+len(w.nss), n, maxRecordSize))
	}
	consistent, err := w.j.append(w.rec, &w.fsys)
	if err != nil {
		if !consistent {
			w.fail(err)
		}
		return 0, wrap(fmt.Errorf("journal: %w", err))
	}
	w.seq = seq
	if err := w.applyEntries(w.es, w.nss, keep); err != nil {
		w.fail(err)
		return 0, wrap(err)
	}
	w.fsys.step(StepSeal)
	w.sealed = w.m.seal()
	w.applied = seq
	if w.opts.CheckpointBytes > 0 && w.j.size > w.opts.CheckpointBytes {
		if err := w.checkpoint(); err != nil {
			// The record is durable in the journal; later calls fail.
			w.fail(fmt.Errorf("checkpoint: %w", err))
		}
	}
	return seq, nil
}

// compute fills w.es and w.nss with the absolute values ops lead to and
// returns how many keys and namespaces are not in the file yet.
func (w *Writer) compute(ops []Op) (newKeys, newNS uint64) {
	w.es = w.es[:0]
	w.nss = w.nss[:0]
	clear(w.idx)
	clear(w.nsIdx)
	m := w.m
	for _, op := range ops {
		for _, h := range op.Hashes {
			k := mixKey(h, op.NS)
			i, inBatch := w.idx[k]
			var cur uint64
			found := false
			if inBatch {
				cur = w.es[i].val
			} else if idx, f, _ := m.find(k); f {
				cur, found = m.slots[2*idx+1], true
			}
			nv := bump(cur, op.Class, op.Delta)
			if inBatch {
				w.es[i].val = nv
				continue
			}
			if nv == cur {
				continue
			}
			w.idx[k] = len(w.es)
			w.es = append(w.es, entry{key: k, val: nv})
			if !found {
				newKeys++
			}
		}
		i, inBatch := w.nsIdx[op.NS]
		if !inBatch && op.Set && op.Totals == (Totals{}) && m.totals(op.NS) == (Totals{}) {
			continue // zero already: no record to make
		}
		if !inBatch {
			t := m.totals(op.NS)
			if op.NS != Shared {
				if _, found := m.nsFind(op.NS); !found {
					newNS++
				}
			}
			i = len(w.nss)
			w.nsIdx[op.NS] = i
			w.nss = append(w.nss, nsEntry{ns: op.NS, t: t})
		}
		n := &w.nss[i]
		if op.Name != "" && n.name == "" {
			n.name = op.Name
		}
		if op.Set {
			n.t = op.Totals
			continue
		}
		p := &n.t.Spam
		if op.Class == Ham {
			p = &n.t.Ham
		}
		switch {
		case op.Delta > 0 && *p < math.MaxUint64:
			*p++
		case op.Delta < 0 && *p > 0:
			*p--
		}
	}
	return newKeys, newNS
}

// bump applies one learn (+1) or unlearn (-1) of class c to packed counts.
func bump(v uint64, c Class, delta int) uint64 {
	cnt := unpack(v)
	p := &cnt.Spam
	if c == Ham {
		p = &cnt.Ham
	}
	switch {
	case delta > 0 && *p < math.MaxUint32:
		*p++
	case delta < 0 && *p > 0:
		*p--
	}
	return pack(cnt)
}

// fits reports whether newKeys and newNS more entries stay within the
// load limits of the current file.
func (w *Writer) fits(newKeys, newNS uint64) bool {
	m := w.m
	return m.load(wUsed)+newKeys <= m.limit(w.opts.MaxLoad) &&
		float64(m.load(wNSUsed)+newNS) <= float64(m.hdr.nsCapacity)*nsMaxLoad
}

// applyEntries sets absolute values in the current mapping, growing (or
// expiring) if a key finds no free slot within the probe bound.
func (w *Writer) applyEntries(es []entry, nss []nsEntry, keep func(uint64) bool) error {
	for _, e := range es {
		for tries := 0; ; tries++ {
			idx, found, ok := w.m.find(e.key)
			if ok {
				w.fsys.step(StepSlot)
				w.m.set(idx, e.key, e.val, !found)
				break
			}
			if tries > 3 {
				return fmt.Errorf("%w: no free slot within the probe bound", ErrFull)
			}
			if err := w.makeRoom(1, 0, true, keep); err != nil {
				return err
			}
		}
	}
	for _, n := range nss {
		if n.ns != Shared {
			if _, found := w.m.nsFind(n.ns); !found && !w.fits(0, 1) {
				if err := w.makeRoom(0, 1, false, keep); err != nil {
					return err
				}
			}
		}
		w.fsys.step(StepTotals)
		w.m.setTotals(n.ns, n.t, n.name)
	}
	return nil
}

// Params returns the tokenizer parameters of the statfile (those the
// writer was opened with: it refuses a file with others).
func (w *Writer) Params() Params { return w.opts.Params }

// Lookup is Reader.Lookup on the writer's own mapping.
func (w *Writer) Lookup(ns Namespace, hashes []uint64, out []Counts) (Totals, error) {
	if len(out) < len(hashes) {
		return Totals{}, ErrSizeMismatch
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return Totals{}, ErrClosed
	}
	return w.m.lookup(ns, hashes, out), nil
}

// Checkpoint makes the statfile hold every applied record and empties the
// journal: msync the table, store the applied sequence in the header,
// msync the header, truncate and fsync the journal.
func (w *Writer) Checkpoint() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return fmt.Errorf("mmapstore: checkpoint %s: %w", w.path, err)
	}
	if err := w.checkpoint(); err != nil {
		w.fail(err)
		return fmt.Errorf("mmapstore: checkpoint %s: %w", w.path, err)
	}
	return nil
}

func (w *Writer) checkpoint() error {
	w.fsys.step(StepCheckpoint)
	if err := w.fsys.msync(w.m.data); err != nil {
		return fmt.Errorf("msync: %w", err)
	}
	w.m.store(wAppliedSeq, w.applied)
	if err := w.fsys.msync(w.m.data[:HeaderSize]); err != nil {
		return fmt.Errorf("msync header: %w", err)
	}
	w.fsys.step(StepJournalReset)
	if err := w.j.reset(&w.fsys); err != nil {
		return fmt.Errorf("truncate journal: %w", err)
	}
	return nil
}

// Close checkpoints, marks the file clean and releases the lock. After a
// failure (ErrFailed) it only releases: the next OpenWriter replays.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	w.closed = true
	var errs []error
	if w.failed == nil {
		if err := w.checkpoint(); err != nil {
			errs = append(errs, err)
		} else {
			w.m.store(wClean, 1)
			if err := w.fsys.msync(w.m.data[:HeaderSize]); err != nil {
				errs = append(errs, err)
			}
		}
	}
	errs = append(errs, w.m.release(), w.j.f.Close(), unlockFile(w.lock), w.lock.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("mmapstore: close %s: %w", w.path, err)
	}
	return nil
}
