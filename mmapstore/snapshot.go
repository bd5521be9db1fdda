package mmapstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"os"
	"time"
)

// Backups: a consistent copy of a live statfile, and the atomic
// installation of a statfile built elsewhere (`sluice dump` and `sluice
// load`; the stream format is package statdump's).
//
// Snapshot copies the writer's mapping under its lock, between two
// Applys, into a file of the caller's (an unlinked temporary file in the
// data directory): every learn is one Apply (tokens, totals and learn
// cache together), so the copy holds whole learns only. The lock is held
// for one sequential write of the mapping (memory speed), not for the
// encoding of the stream, which reads the copy through an Image.
//
// A Builder writes a new statfile from its parts (geometry, namespace
// records, slots) to a path of its own; Writer.Install checks it (the
// invariants of Check, the tokenizer parameters, the totals checksum),
// checkpoints the current file (the journal is empty afterwards: its
// records belong to the old statistics), renames the new file over the
// path and marks the old one superseded, exactly as a rebuild does, so
// readers follow it.

// Meta describes a statfile's header as a backup carries it.
type Meta struct {
	Params     Params
	Capacity   uint64 // slots, a power of two
	NSCapacity uint64 // namespace records, a power of two
	MaxProbe   uint32
	Generation uint64
	AppliedSeq uint64 // last journal sequence the statistics contain
	Expired    uint64
	Shared     Totals
}

// Validate checks the geometry (what decodeHeader would accept).
func (m Meta) Validate() error {
	switch {
	case m.Capacity < minSlots || bits.OnesCount64(m.Capacity) != 1 || m.Capacity > maxSlots:
		return fmt.Errorf("%w: capacity %d", ErrGeometry, m.Capacity)
	case m.NSCapacity < minNSSlots || bits.OnesCount64(m.NSCapacity) != 1 || m.NSCapacity > maxNSSlots:
		return fmt.Errorf("%w: namespace capacity %d", ErrGeometry, m.NSCapacity)
	case m.MaxProbe == 0 || uint64(m.MaxProbe) > m.Capacity:
		return fmt.Errorf("%w: probe bound %d", ErrGeometry, m.MaxProbe)
	case len(m.Params.Hash) > hashNameSz:
		return fmt.Errorf("%w: hash name of %d bytes", ErrGeometry, len(m.Params.Hash))
	}
	return nil
}

// FileSize is the size of a statfile with this geometry.
func (m Meta) FileSize() int64 { return fileSize(m.Capacity, m.NSCapacity) }

// Path returns the statfile's path.
func (w *Writer) Path() string { return w.path }

// Snapshot writes a copy of the statfile as it is between two Applys to f
// from offset 0: a valid statfile whose applied sequence is the last
// Apply's, marked clean. Apply waits while it runs.
func (w *Writer) Snapshot(f *os.File) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	wrap := func(err error) error { return fmt.Errorf("mmapstore: snapshot %s: %w", w.path, err) }
	if err := w.usable(); err != nil {
		return wrap(err)
	}
	if _, err := f.WriteAt(w.m.data, 0); err != nil {
		return wrap(err)
	}
	var word [8]byte
	for _, p := range []struct {
		off int64
		v   uint64
	}{{offAppliedSeq, w.applied}, {offClean, 1}, {offSuperseded, 0}} {
		binary.LittleEndian.PutUint64(word[:], p.v)
		if _, err := f.WriteAt(word[:], p.off); err != nil {
			return wrap(err)
		}
	}
	return nil
}

// Image is a statfile mapped read-only for a backup: a snapshot's copy or
// a file no writer has open.
type Image struct{ m *mapping }

// OpenImage maps f (a whole statfile) read-only and checks its header and
// totals checksum.
func OpenImage(f *os.File) (*Image, error) {
	m, err := mapOpenFile(f, false)
	if err != nil {
		return nil, fmt.Errorf("mmapstore: image %s: %w", f.Name(), err)
	}
	if !m.sealed() {
		m.release()
		return nil, fmt.Errorf("mmapstore: image %s: %w", f.Name(), ErrTotalsChecksum)
	}
	return &Image{m: m}, nil
}

// Close unmaps the image.
func (im *Image) Close() error { return im.m.release() }

// Meta returns the image's header.
func (im *Image) Meta() Meta {
	m := im.m
	return Meta{
		Params: m.hdr.params, Capacity: m.hdr.capacity, NSCapacity: m.hdr.nsCapacity,
		MaxProbe: m.hdr.maxProbe, Generation: m.hdr.generation,
		AppliedSeq: m.load(wAppliedSeq), Expired: m.load(wExpired), Shared: m.totals(Shared),
	}
}

// Namespaces returns every record of the namespace directory (those with
// zero totals too), in the order that rebuilds the same directory.
func (im *Image) Namespaces() []NamespaceInfo {
	m := im.m
	var out []NamespaceInfo
	n := m.hdr.nsCapacity
	start := firstEmpty(n, func(i uint64) bool { return m.nsdir[i*nsWords] == 0 })
	for j := uint64(1); j <= n; j++ {
		i := (start + j) & m.nsMask
		if ns := Namespace(m.nsdir[i*nsWords]); ns != Shared {
			out = append(out, NamespaceInfo{NS: ns, Name: m.nsName(i), Totals: m.totals(ns)})
		}
	}
	return out
}

// Slots calls fn for every slot holding a key (zero counts too), in an
// order that, inserted into an empty table of the same capacity, puts
// every key in the slot it has here: starting after an empty slot, no
// probe run is cut.
func (im *Image) Slots(fn func(key uint64, c Counts) error) error {
	m := im.m
	n := m.hdr.capacity
	start := firstEmpty(n, func(i uint64) bool { return m.slots[2*i] == 0 })
	for j := uint64(1); j <= n; j++ {
		i := (start + j) & m.mask
		if k := m.slots[2*i]; k != 0 {
			if err := fn(k, unpack(m.slots[2*i+1])); err != nil {
				return err
			}
		}
	}
	return nil
}

// firstEmpty returns the index of the first empty entry of a table of n,
// or n-1 when none is (a full table has no run to cut).
func firstEmpty(n uint64, empty func(uint64) bool) uint64 {
	for i := uint64(0); i < n; i++ {
		if empty(i) {
			return i
		}
	}
	return n - 1
}

// Builder writes a new statfile from a backup's parts. Its file is not a
// statfile until Finish; Install puts it in service.
type Builder struct {
	path string
	f    *os.File
	m    *mapping
	meta Meta
	ns   uint64
}

// NewBuilder creates (or empties) path as an empty statfile of
// meta's geometry and parameters, with the given generation.
func NewBuilder(path string, meta Meta, generation uint64) (*Builder, error) {
	wrap := func(err error) error { return fmt.Errorf("mmapstore: build %s: %w", path, err) }
	if !supportedPlatform || !isLittleEndian() {
		return nil, wrap(ErrUnsupported)
	}
	if err := meta.Validate(); err != nil {
		return nil, wrap(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, wrap(err)
	}
	b := &Builder{path: path, f: f, meta: meta}
	size := meta.FileSize()
	if err := f.Truncate(size); err != nil {
		b.Abort()
		return nil, wrap(err)
	}
	data, err := mmapFile(f, size, true)
	if err != nil {
		b.Abort()
		return nil, wrap(fmt.Errorf("mmap: %w", err))
	}
	h := header{
		version: Version, slotSize: SlotSize, capacity: meta.Capacity, nsCapacity: meta.NSCapacity,
		nsRecSize: NSRecordSize, maxProbe: meta.MaxProbe, generation: generation,
		created: uint64(time.Now().UnixNano()), params: meta.Params,
	}
	h.encodeStatic(data)
	b.m = newMapping(data, h)
	b.m.setTotals(Shared, meta.Shared, "")
	b.m.store(wAppliedSeq, meta.AppliedSeq)
	b.m.store(wExpired, meta.Expired)
	return b, nil
}

// ErrBadBackup is wrapped by a Builder's errors about its input: a key
// twice, no room where the key belongs, a full directory.
var ErrBadBackup = errors.New("mmapstore: backup does not fit its own geometry")

// AddSlot stores one key with its counts.
func (b *Builder) AddSlot(key uint64, c Counts) error {
	if key == 0 {
		return fmt.Errorf("%w: key 0", ErrBadBackup)
	}
	if b.m.load(wUsed) >= b.meta.Capacity-1 {
		return fmt.Errorf("%w: more keys than slots", ErrBadBackup)
	}
	idx, found, ok := b.m.find(key)
	switch {
	case found:
		return fmt.Errorf("%w: key %#x twice", ErrBadBackup, key)
	case !ok:
		return fmt.Errorf("%w: key %#x finds no slot within the probe bound", ErrBadBackup, key)
	}
	b.m.set(idx, key, pack(c), true)
	return nil
}

// AddNamespace stores one namespace record.
func (b *Builder) AddNamespace(ns Namespace, name string, t Totals) error {
	if ns == Shared {
		return fmt.Errorf("%w: a directory record for the shared namespace", ErrBadBackup)
	}
	if float64(b.ns+1) > float64(b.meta.NSCapacity)*nsMaxLoad {
		return fmt.Errorf("%w: namespace directory over half full", ErrBadBackup)
	}
	if _, found := b.m.nsFind(ns); found {
		return fmt.Errorf("%w: namespace %#x twice", ErrBadBackup, uint64(ns))
	}
	b.m.setTotals(ns, t, name)
	b.ns++
	return nil
}

// Finish seals the totals, marks the file clean, syncs and closes it.
func (b *Builder) Finish() error {
	wrap := func(err error) error { return fmt.Errorf("mmapstore: build %s: %w", b.path, err) }
	b.m.seal()
	b.m.store(wClean, 1)
	err := msync(b.m.data)
	if err == nil {
		err = b.f.Sync()
	}
	err = errors.Join(err, b.m.release(), b.f.Close())
	b.m, b.f = nil, nil
	if err != nil {
		os.Remove(b.path)
		return wrap(err)
	}
	return nil
}

// Abort removes the unfinished file.
func (b *Builder) Abort() {
	if b.m != nil {
		b.m.release()
		b.m = nil
	}
	if b.f != nil {
		b.f.Close()
		b.f = nil
	}
	os.Remove(b.path)
}

// Install replaces the writer's statfile with the one a Builder finished
// at tmp (in the same directory): it checks it, checkpoints the current
// file, renames tmp over the path and marks the old file superseded, so
// readers map the new one. Learning goes on from the new file's applied
// sequence. A file that fails a check is refused and stays at tmp.
func (w *Writer) Install(tmp string) error {
	wrap := func(err error) error { return fmt.Errorf("mmapstore: install %s over %s: %w", tmp, w.path, err) }
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return wrap(err)
	}
	nm, err := openMapping(tmp, true)
	if err != nil {
		return wrap(err)
	}
	if err := w.checkNew(tmp, nm); err != nil {
		nm.release()
		return wrap(err)
	}
	if err := w.checkpoint(); err != nil {
		nm.release()
		w.fail(err)
		return wrap(err)
	}
	nm.recount()
	nm.store(wClean, 0)
	if err := w.fsys.msync(nm.data[:HeaderSize]); err != nil {
		nm.release()
		return wrap(err)
	}
	if w.fsys.h != nil && w.fsys.h.rename != nil {
		if err := w.fsys.h.rename(tmp, w.path); err != nil {
			nm.release()
			return wrap(err)
		}
	}
	if err := os.Rename(tmp, w.path); err != nil {
		nm.release()
		return wrap(err)
	}
	old := w.m
	old.store(wSuperseded, 1)
	w.m = nm
	w.applied = nm.load(wAppliedSeq)
	w.seq = w.applied
	w.sealed = uint32(nm.load(wTotalsSum))
	err = errors.Join(w.fsys.syncDir(w.path), old.release())
	if err != nil {
		w.fail(err)
		return wrap(err)
	}
	w.log.Info("mmapstore: installed statfile", "from", tmp, "generation", nm.hdr.generation,
		"tokens", nm.load(wUsed), "applied_seq", w.applied)
	return nil
}

// checkNew refuses a file to install that is not whole and sound.
func (w *Writer) checkNew(tmp string, nm *mapping) error {
	if nm.hdr.params != w.opts.Params {
		return &ParamsError{Path: tmp, File: nm.hdr.params, Want: w.opts.Params}
	}
	if !nm.sealed() {
		return ErrTotalsChecksum
	}
	if max := w.opts.MaxBytes; max > 0 && int64(len(nm.data)) > max {
		return fmt.Errorf("%w: %d bytes, more than the maximum size %d", ErrFull, len(nm.data), max)
	}
	ce := &CorruptError{Path: tmp}
	checkMapping(nm, func(format string, args ...any) {
		if len(ce.Problems) < maxProblems {
			ce.Problems = append(ce.Problems, fmt.Errorf(format, args...))
		}
	})
	if len(ce.Problems) > 0 {
		return ce
	}
	return nil
}

// InstallFile installs tmp over path when no writer runs: it opens the
// writer (replaying the journal), installs, and closes.
func InstallFile(path, tmp string, opts *Options) error {
	w, err := OpenWriter(path, opts)
	if err != nil {
		return err
	}
	if err := w.Install(tmp); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
