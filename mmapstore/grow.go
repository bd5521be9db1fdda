package mmapstore

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/sluicemail/sluice/internal/atomicfile"
)

// expireFill is the fraction of the load limit an expiry rebuild leaves in
// use, so that expiry runs once per many learns, not on every learn.
const expireFill = 0.75

// makeRoom rebuilds the statfile so that newKeys more tokens and newNS
// more namespaces fit: a file twice (or more) as large, or, when that would
// pass Options.MaxBytes, a file of the largest capacity that fits, with the
// least useful tokens expired. force asks for a rebuild even if the load
// is below the limit (a key found no free slot within the probe bound).
// Keys for which keep returns true are never expired.
func (w *Writer) makeRoom(newKeys, newNS uint64, force bool, keep func(uint64) bool) error {
	m := w.m
	used, nsUsed := m.load(wUsed), m.liveNamespaces()
	capacity := m.hdr.capacity
	if force {
		capacity *= 2
	}
	for float64(used+newKeys) > float64(capacity)*w.opts.MaxLoad && capacity < maxSlots {
		capacity *= 2
	}
	nsCap := m.hdr.nsCapacity
	for float64(nsUsed+newNS) > float64(nsCap)*nsMaxLoad && nsCap < maxNSSlots {
		nsCap *= 2
	}
	target := int64(-1)
	if maxB := w.opts.MaxBytes; maxB > 0 && fileSize(capacity, nsCap) > maxB {
		capacity = minSlots
		for fileSize(capacity*2, nsCap) <= maxB {
			capacity *= 2
		}
		if fileSize(capacity, nsCap) > maxB {
			return fmt.Errorf("%w: %d namespaces need %d bytes, MaxBytes is %d",
				ErrFull, nsUsed+newNS, fileSize(capacity, nsCap), maxB)
		}
		limit := uint64(float64(capacity) * w.opts.MaxLoad)
		if newKeys > limit {
			return fmt.Errorf("%w: %d new tokens, at most %d fit", ErrFull, newKeys, limit)
		}
		t := uint64(float64(limit)*expireFill) - min(newKeys, uint64(float64(limit)*expireFill))
		if force && capacity == m.hdr.capacity && t >= used {
			t = used * 9 / 10
		}
		target = int64(t)
	}
	return w.rebuild(capacity, nsCap, target, keep)
}

// rebuild writes a new statfile with the given capacities holding every
// token of the current one (except zero counts and, when target >= 0, the
// least useful tokens beyond target), renames it over the path and marks
// the old file superseded.
func (w *Writer) rebuild(capacity, nsCap uint64, target int64, keep func(uint64) bool) error {
	start := time.Now()
	old := w.m
	used := old.load(wUsed)
	drop := func(k, v uint64) bool { return false }
	if target >= 0 && used > uint64(target) {
		drop = selectVictims(old, used-uint64(target), keep)
	}
	var kept, expired uint64
	nm, renamed, err := w.writeFile(capacity, nsCap, old.hdr.generation+1, func(nm *mapping) error {
		for i := uint64(0); i < old.hdr.capacity; i++ {
			k, v := old.slots[2*i], old.slots[2*i+1]
			if k == 0 || v == 0 {
				continue
			}
			if drop(k, v) {
				expired++
				continue
			}
			idx, found, ok := nm.find(k)
			if !ok || found {
				return fmt.Errorf("%w: rebuild found no slot for a key within the probe bound", ErrFull)
			}
			nm.set(idx, k, v, true)
			kept++
		}
		for i := uint64(0); i < old.hdr.nsCapacity; i++ {
			// A namespace with no learns left (a user's expired by the
			// learner's cap) is dropped: a missing record reads as zero
			// totals, so only the directory's size changes.
			if ns := Namespace(old.nsdir[i*nsWords]); ns != Shared {
				if t := old.totals(ns); t != (Totals{}) {
					nm.setTotals(ns, t, old.nsName(i))
				}
			}
		}
		nm.setTotals(Shared, old.totals(Shared), "")
		nm.store(wAppliedSeq, w.applied)
		nm.store(wExpired, old.load(wExpired)+expired)
		nm.store(wClean, 0)
		return nil
	})
	if err != nil && !renamed {
		return fmt.Errorf("rebuild: %w", err)
	}
	// The new file is at the path now: from here on the writer must use it.
	old.store(wSuperseded, 1)
	w.m = nm
	w.sealed = uint32(nm.load(wTotalsSum))
	if rerr := old.release(); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		w.fail(err)
		return fmt.Errorf("rebuild: %w", err)
	}
	w.log.Info("mmapstore: rebuilt statfile",
		"generation", nm.hdr.generation, "capacity", capacity, "namespace_capacity", nsCap,
		"tokens", kept, "expired", expired, "duration", time.Since(start))
	return nil
}

// writeFile creates a statfile of the given geometry at path+".tmp", lets
// fill populate it, then msyncs, fsyncs, renames it over the path and
// fsyncs the directory. renamed reports whether the rename happened (the
// file at the path is the new one even if err is not nil).
func (w *Writer) writeFile(capacity, nsCap, gen uint64, fill func(*mapping) error) (nm *mapping, renamed bool, err error) {
	tmp := w.path + ".tmp"
	f, err := atomicfile.Create(w.path, w.fsys.atomicOptions(tmp))
	if err != nil {
		return nil, false, err
	}
	defer func() {
		if err != nil && !renamed {
			if nm != nil {
				nm.release()
				nm = nil
			}
			f.Abort()
		}
	}()
	size := fileSize(capacity, nsCap)
	if err := f.Truncate(size); err != nil {
		return nil, false, err
	}
	data, err := mmapFile(f.File, size, true)
	if err != nil {
		return nil, false, fmt.Errorf("mmap: %w", err)
	}
	h := header{
		version:    Version,
		slotSize:   SlotSize,
		capacity:   capacity,
		nsCapacity: nsCap,
		nsRecSize:  NSRecordSize,
		maxProbe:   uint32(min(DefaultMaxProbe, capacity)),
		generation: gen,
		created:    uint64(time.Now().UnixNano()),
		params:     w.opts.Params,
	}
	h.encodeStatic(data)
	nm = newMapping(data, h)
	if err := fill(nm); err != nil {
		return nm, false, err
	}
	nm.seal()
	w.fsys.step(StepRebuild)
	if err := w.fsys.msync(data); err != nil {
		return nm, false, fmt.Errorf("msync %s: %w", tmp, err)
	}
	if fi, err := f.Stat(); err == nil {
		nm.dev, nm.ino = fileIdentity(fi)
	}
	if renamed, err = f.Commit(); err != nil {
		return nm, renamed, err
	}
	return nm, true, nil
}

// selectVictims returns a predicate that is true for the d least useful
// tokens of m (never for keys keep accepts). Usefulness is, in order: the
// total count spam+ham (hapaxes go first), then the imbalance |spam-ham|
// (a token seen equally in both classes carries no information), then a
// re-mix of the key, so the choice is deterministic. (Ordering by the key
// itself would expire the low end of the table first, because a key's home
// slot is its top bits, and leave the survivors packed into long clusters.)
func selectVictims(m *mapping, d uint64, keep func(uint64) bool) func(k, v uint64) bool {
	const maxT = 1 << 16
	total := func(v uint64) uint64 {
		c := unpack(v)
		return min(uint64(c.Spam)+uint64(c.Ham), maxT)
	}
	imbalance := func(v uint64) uint32 {
		c := unpack(v)
		if c.Spam > c.Ham {
			return c.Spam - c.Ham
		}
		return c.Ham - c.Spam
	}
	hist := make([]uint64, maxT+1)
	for i := uint64(0); i < m.hdr.capacity; i++ {
		if k := m.slots[2*i]; k != 0 && !keep(k) {
			hist[total(m.slots[2*i+1])]++
		}
	}
	var cum uint64
	T := uint64(0)
	for ; T <= maxT; T++ {
		if cum+hist[T] >= d {
			break
		}
		cum += hist[T]
	}
	if T > maxT {
		return func(k, v uint64) bool { return !keep(k) }
	}
	r := d - cum // victims among tokens of total T, 1..hist[T]
	if r == hist[T] {
		return func(k, v uint64) bool { return !keep(k) && total(v) <= T }
	}
	type cand struct {
		imb uint32
		key uint64
	}
	cs := make([]cand, 0, hist[T])
	for i := uint64(0); i < m.hdr.capacity; i++ {
		if k, v := m.slots[2*i], m.slots[2*i+1]; k != 0 && !keep(k) && total(v) == T {
			cs = append(cs, cand{imbalance(v), tieBreak(k)})
		}
	}
	slices.SortFunc(cs, func(a, b cand) int {
		if c := cmp.Compare(a.imb, b.imb); c != 0 {
			return c
		}
		return cmp.Compare(a.key, b.key)
	})
	th := cs[r-1]
	return func(k, v uint64) bool {
		if keep(k) {
			return false
		}
		t := total(v)
		if t != T {
			return t < T
		}
		imb := imbalance(v)
		return imb < th.imb || (imb == th.imb && tieBreak(k) <= th.key)
	}
}

// tieBreak orders keys of equal usefulness independently of their slots.
func tieBreak(k uint64) uint64 { return mixKey(k, 0x5bd1e995) }
