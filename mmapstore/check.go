package mmapstore

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// maxProblems bounds the problems Check lists one by one.
const maxProblems = 100

// Check verifies the statfile at path and its journal (fsck) and returns
// nil or a *CorruptError listing every problem:
//
//   - the header: magic, version, checksum, geometry against the file size;
//   - every slot: its key is reachable from its home slot (no empty slot
//     before it on the probe path, within the probe bound) and not a
//     duplicate of an earlier key on that path;
//   - the used counters, when the file was closed cleanly (after a crash
//     they are recounted on the next OpenWriter);
//   - the namespace directory, the same way;
//   - the journal: header, CRC of every record, sequence numbers that
//     follow each other and the file's applied sequence without a gap.
//
// A torn journal tail is not a problem (it is dropped on the next open).
// Check takes no lock; run it on a file no writer has open for an exact
// answer.
func Check(path string) error {
	ce := &CorruptError{Path: path}
	m, err := openMapping(path, false)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return fmt.Errorf("mmapstore: check %s: %w", path, err)
		}
		ce.Problems = append(ce.Problems, fmt.Errorf("header: %w", err))
		return ce
	}
	defer m.release()
	add := func(format string, args ...any) {
		if len(ce.Problems) == maxProblems {
			ce.Problems = append(ce.Problems, errors.New("more problems not listed"))
		}
		if len(ce.Problems) <= maxProblems {
			ce.Problems = append(ce.Problems, fmt.Errorf(format, args...))
		}
	}
	sealed := m.sealed() // before the journal is read: see totalsSettled
	checkMapping(m, add)
	applied := m.load(wAppliedSeq)
	jpath := path + ".journal"
	var scan journalScan
	err = readJournalFile(jpath, func(r io.ReaderAt, size int64) (err error) {
		scan, err = validateJournal(r, size, applied)
		return err
	})
	if err != nil {
		add("journal %s: %w", jpath, err)
	}
	if !sealed && totalsSettled(m, scan, err) && !m.sealed() {
		add("header: %w: shared spam %d, ham %d, or a namespace record",
			ErrTotalsChecksum, m.load(wSharedSpam), m.load(wSharedHam))
	}
	if len(ce.Problems) > 0 {
		return ce
	}
	return nil
}

// totalsSettled reports whether the totals checksum of m must match its
// totals: the file was closed cleanly, or no journal record awaits replay
// (a writer journals a record before it changes totals and seals them
// after; a checkpoint, which empties the journal, comes after the seal).
// The checksum is read before the journal, and a mismatch confirmed once
// more after, so that a writer at work between the two reads is not taken
// for damage.
func totalsSettled(m *mapping, scan journalScan, journalErr error) bool {
	if m.load(wClean) == 1 {
		return true
	}
	return journalErr == nil && scan.lastSeq <= m.load(wAppliedSeq)
}

// checkMapping adds a problem for every broken invariant of the mapped
// statfile m: its slots, its namespace directory and its header flags (the
// static header was validated when m was mapped). It reads m only, so it
// runs on an image in memory as well as on a mapped file.
func checkMapping(m *mapping, add func(string, ...any)) {
	checkTable(m, add)
	checkNamespaces(m, add)
	if v := m.load(wClean); v > 1 {
		add("header: clean flag is %d, want 0 or 1", v)
	}
	if v := m.load(wSuperseded); v > 1 {
		add("header: superseded flag is %d, want 0 or 1", v)
	}
	if v := m.load(wUsed); v > m.hdr.capacity {
		add("header: used is %d, more than the %d slots", v, m.hdr.capacity)
	}
	if v := m.load(wNSUsed); v > m.hdr.nsCapacity {
		add("header: namespace count is %d, more than the %d records", v, m.hdr.nsCapacity)
	}
	if v := m.load(wTotalsSum); m.hdr.version >= 2 && v > 0xffffffff {
		add("header: totals checksum %#x has more than 32 bits", v)
	}
}

// checkTable checks invariants 2-4 and the used counter (6) of the table:
// every key reachable from its home slot within the probe bound, no key
// twice, no counts in an empty slot.
func checkTable(m *mapping, add func(string, ...any)) {
	var used uint64
	for i := uint64(0); i < m.hdr.capacity; i++ {
		k := m.slots[2*i]
		if k == 0 {
			if m.slots[2*i+1] != 0 {
				add("slot %d: empty key with counts %#x", i, m.slots[2*i+1])
			}
			continue
		}
		used++
		home := k >> m.shift
		dist := (i - home) & m.mask
		if dist >= m.maxProbe {
			add("slot %d: key %#x is %d slots from its home %d, probe bound is %d", i, k, dist, home, m.maxProbe)
			continue
		}
		for j := home; j != i; j = (j + 1) & m.mask {
			if sk := m.slots[2*j]; sk == 0 {
				add("slot %d: key %#x unreachable: empty slot %d on its probe path from %d", i, k, j, home)
				break
			} else if sk == k {
				add("slot %d: key %#x duplicates slot %d", i, k, j)
				break
			}
		}
	}
	if h := m.load(wUsed); m.load(wClean) == 1 && h != used {
		add("header: used is %d, table holds %d tokens", h, used)
	}
	if limit := m.hdr.capacity; used > limit {
		add("table: %d tokens in %d slots", used, limit)
	}
}

// checkNamespaces checks the namespace directory the same way (invariant
// 5), and the namespace counter (6).
func checkNamespaces(m *mapping, add func(string, ...any)) {
	var used uint64
	for i := uint64(0); i < m.hdr.nsCapacity; i++ {
		r := m.nsdir[i*nsWords : (i+1)*nsWords]
		ns := r[nsKey/8]
		if ns == 0 {
			continue
		}
		used++
		if n := r[nsNameLen/8]; n > MaxNameLen {
			add("namespace record %d: name length %d > %d", i, n, MaxNameLen)
		}
		home := nsHome(Namespace(ns), m.hdr.nsCapacity)
		for j := home; j != i; j = (j + 1) & m.nsMask {
			if k := m.nsdir[j*nsWords]; k == 0 {
				add("namespace record %d: namespace %#x unreachable: empty record %d on its path from %d", i, ns, j, home)
				break
			} else if k == ns {
				add("namespace record %d: namespace %#x duplicates record %d", i, ns, j)
				break
			}
		}
	}
	if h := m.load(wNSUsed); m.load(wClean) == 1 && h != used {
		add("header: namespace count is %d, directory holds %d", h, used)
	}
	if float64(used) > float64(m.hdr.nsCapacity)*nsMaxLoad+1 {
		add("namespace directory: %d records in %d, over the load limit", used, m.hdr.nsCapacity)
	}
}
