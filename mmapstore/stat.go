package mmapstore

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// Info describes a statfile, as printed by `sluice stat`.
type Info struct {
	Path          string
	Params        Params
	FileSize      int64
	Capacity      uint64  // slots
	Used          uint64  // slots holding a token
	Load          float64 // Used / Capacity
	BytesPerToken float64 // FileSize / Used (0 when empty)
	MaxProbe      int     // probe-length bound of the table (a key is never further from its home slot)
	Generation    uint64  // 1 for a new file, +1 per growth or expiry rebuild
	AppliedSeq    uint64  // last journal sequence contained in the file
	JournalSeq    uint64  // last sequence in the journal (> AppliedSeq: records await replay)
	JournalBytes  int64
	Expired       uint64 // tokens expired to stay within MaxBytes, ever
	Clean         bool   // the last writer closed the file cleanly (false while one is open)
	Shared        Totals
	Namespaces    []NamespaceInfo // other than Shared, sorted by name then id
	// Warnings say what is wrong with the file or its journal, as far as
	// Stat sees without reading every slot: run Check (fsck) for the rest.
	Warnings []string `json:",omitempty"`
}

// NamespaceInfo is one namespace's learn totals.
type NamespaceInfo struct {
	NS     Namespace
	Name   string // "" if no Op ever named it
	Totals Totals
}

// Stat reads the header and namespace directory of the statfile at path.
// It takes no lock and can run while a writer is active.
func Stat(path string) (Info, error) {
	m, err := openMapping(path, false)
	if err != nil {
		return Info{}, fmt.Errorf("mmapstore: stat %s: %w", path, err)
	}
	defer m.release()
	info := Info{
		Path:       path,
		Params:     m.hdr.params,
		FileSize:   int64(len(m.data)),
		Capacity:   m.hdr.capacity,
		Used:       m.load(wUsed),
		MaxProbe:   int(m.hdr.maxProbe),
		Generation: m.hdr.generation,
		AppliedSeq: m.load(wAppliedSeq),
		Expired:    m.load(wExpired),
		Clean:      m.load(wClean) == 1,
		Shared:     m.totals(Shared),
	}
	info.Load = float64(info.Used) / float64(info.Capacity)
	if info.Used > 0 {
		info.BytesPerToken = float64(info.FileSize) / float64(info.Used)
	}
	for i := uint64(0); i < m.hdr.nsCapacity; i++ {
		if ns := Namespace(m.nsdir[i*nsWords]); ns != Shared {
			info.Namespaces = append(info.Namespaces, NamespaceInfo{NS: ns, Name: m.nsName(i), Totals: m.totals(ns)})
		}
	}
	slices.SortFunc(info.Namespaces, func(a, b NamespaceInfo) int {
		if a.Name != b.Name {
			if a.Name < b.Name {
				return -1
			}
			return 1
		}
		if a.NS < b.NS {
			return -1
		}
		if a.NS > b.NS {
			return 1
		}
		return 0
	})
	sealed := m.sealed() // before the journal is read: see totalsSettled
	jpath := path + ".journal"
	var scan journalScan
	err = readJournalFile(jpath, func(r io.ReaderAt, size int64) (err error) {
		scan, err = scanJournal(r, size, false, nil)
		return err
	})
	if errors.Is(err, ErrJournalCorrupt) {
		info.Warnings = append(info.Warnings, fmt.Sprintf("journal %s: %v", jpath, err))
	} else if err != nil {
		return info, fmt.Errorf("mmapstore: stat %s: journal %s: %w", path, jpath, err)
	}
	if !sealed && totalsSettled(m, scan, err) && !m.sealed() {
		info.Warnings = append(info.Warnings, fmt.Sprintf("%v: the totals below are not to be trusted", ErrTotalsChecksum))
	}
	info.JournalSeq = max(scan.lastSeq, info.AppliedSeq)
	if fi, err := os.Stat(jpath); err == nil {
		info.JournalBytes = fi.Size()
	}
	return info, nil
}

// Namespaces lists the namespaces other than Shared with their totals, as
// Stat does, from the writer's own mapping (the learner's per-user cap
// reads it at start).
func (w *Writer) Namespaces() []NamespaceInfo {
	w.mu.RLock()
	defer w.mu.RUnlock()
	m := w.m
	var out []NamespaceInfo
	for i := uint64(0); i < m.hdr.nsCapacity; i++ {
		if ns := Namespace(m.nsdir[i*nsWords]); ns != Shared {
			out = append(out, NamespaceInfo{NS: ns, Name: m.nsName(i), Totals: m.totals(ns)})
		}
	}
	return out
}
