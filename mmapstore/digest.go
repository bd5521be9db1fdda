package mmapstore

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
)

// The logical digest of a statfile: a SHA-256 over what the statistics
// say, not how the file lays them out, so that two hosts (or a host and an
// in-memory model) that learned the same things compare equal whatever
// their capacities, generations, probe paths, journal sequences or
// namespace names:
//
//	"sluice-digest-v1"
//	u64 n, then n × (u64 key, u32 spam, u32 ham)   slots with counts, by key
//	u64 m, then m × (u64 ns, u64 spam, u64 ham)    namespaces with totals, by ns
//
// (little-endian; the shared totals are namespace 0). A slot whose counts
// are 0/0 and a namespace whose totals are 0/0 are left out: they read
// as absent, and a rebuild drops them.

// Digester computes the logical digest of statistics held elsewhere (a
// model in a test, a cluster's oracle): add every key and every
// namespace once, then Sum. A Digester is for one goroutine.
type Digester struct {
	slots []digestSlot
	nss   []digestNS
}

type digestSlot struct {
	key uint64
	c   Counts
}

type digestNS struct {
	ns Namespace
	t  Totals
}

// KeyOf is the table key of a token hash in namespace ns, as the statfile
// stores it: what a Digester's AddSlot takes.
func KeyOf(hash uint64, ns Namespace) uint64 { return mixKey(hash, ns) }

// AddSlot adds the counts of one key (see KeyOf); 0/0 is left out.
func (d *Digester) AddSlot(key uint64, c Counts) {
	if c != (Counts{}) {
		d.slots = append(d.slots, digestSlot{key, c})
	}
}

// AddTotals adds the totals of one namespace (Shared too); 0/0 is left out.
func (d *Digester) AddTotals(ns Namespace, t Totals) {
	if t != (Totals{}) {
		d.nss = append(d.nss, digestNS{ns, t})
	}
}

// Sum returns the digest of everything added.
func (d *Digester) Sum() [32]byte {
	slices.SortFunc(d.slots, func(a, b digestSlot) int { return cmp.Compare(a.key, b.key) })
	slices.SortFunc(d.nss, func(a, b digestNS) int { return cmp.Compare(a.ns, b.ns) })
	h := sha256.New()
	le := binary.LittleEndian
	buf := make([]byte, 0, 64<<10)
	flush := func() {
		h.Write(buf)
		buf = buf[:0]
	}
	buf = append(buf, "sluice-digest-v1"...)
	buf = le.AppendUint64(buf, uint64(len(d.slots)))
	for _, s := range d.slots {
		if len(buf) > cap(buf)-16 {
			flush()
		}
		buf = le.AppendUint64(buf, s.key)
		buf = le.AppendUint32(buf, s.c.Spam)
		buf = le.AppendUint32(buf, s.c.Ham)
	}
	buf = le.AppendUint64(buf, uint64(len(d.nss)))
	for _, n := range d.nss {
		if len(buf) > cap(buf)-24 {
			flush()
		}
		buf = le.AppendUint64(buf, uint64(n.ns))
		buf = le.AppendUint64(buf, n.t.Spam)
		buf = le.AppendUint64(buf, n.t.Ham)
	}
	flush()
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// digestMapping adds everything m holds to a new Digester and sums it.
func digestMapping(m *mapping) [32]byte {
	var d Digester
	for i := uint64(0); i < m.hdr.capacity; i++ {
		if k := m.slots[2*i]; k != 0 {
			d.AddSlot(k, unpack(m.slots[2*i+1]))
		}
	}
	d.AddTotals(Shared, m.totals(Shared))
	for i := uint64(0); i < m.hdr.nsCapacity; i++ {
		r := m.nsdir[i*nsWords : (i+1)*nsWords]
		if ns := Namespace(r[nsKey/8]); ns != Shared {
			d.AddTotals(ns, Totals{Spam: r[nsSpam/8], Ham: r[nsHam/8]})
		}
	}
	return d.Sum()
}

// Digest returns the logical digest of the writer's statistics, between
// two Applys (Apply waits while it runs).
func (w *Writer) Digest() ([32]byte, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if err := w.usable(); err != nil {
		return [32]byte{}, fmt.Errorf("mmapstore: digest %s: %w", w.path, err)
	}
	return digestMapping(w.m), nil
}

// DigestFile returns the logical digest of the statfile at path, read
// without a lock: exact on a file no writer has open (a writer at work
// may be half way through an Apply). Journal records awaiting replay are
// not in it: open a writer (which replays them) first.
func DigestFile(path string) ([32]byte, error) {
	m, err := openMapping(path, false)
	if err != nil {
		return [32]byte{}, fmt.Errorf("mmapstore: digest %s: %w", path, err)
	}
	defer m.release()
	return digestMapping(m), nil
}
