package mmapstore

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// recheckInterval is how often a Reader stats the path to notice a
// replacement whose superseded flag was never set (the writer died between
// the rename and the flag).
const recheckInterval = time.Second

// maxFollow bounds how many replacements one Lookup follows.
const maxFollow = 8

// Reader is a read-only view of a statfile for the milter. Lookup takes no
// lock and makes no system call (except to follow a replaced file); it is
// safe for concurrent use by any number of goroutines.
type Reader struct {
	path      string
	want      Params
	cur       atomic.Pointer[mapping]
	lastCheck atomic.Int64 // unix nanoseconds of the last stat of path
	mu        sync.Mutex   // serialises remapping
}

// OpenReader maps the statfile at path read-only. It fails with a
// *ParamsError if the file was built with other tokenizer parameters than
// want.
func OpenReader(path string, want Params) (*Reader, error) {
	m, err := openChecked(path, want)
	if err != nil {
		return nil, fmt.Errorf("mmapstore: open statfile %s: %w", path, err)
	}
	r := &Reader{path: path, want: want}
	r.cur.Store(m)
	r.lastCheck.Store(time.Now().UnixNano())
	return r, nil
}

func openChecked(path string, want Params) (*mapping, error) {
	m, err := openMapping(path, false)
	if err != nil {
		return nil, err
	}
	if m.hdr.params != want {
		m.release()
		return nil, &ParamsError{Path: path, File: m.hdr.params, Want: want}
	}
	return m, nil
}

// Lookup writes the counts of each hash of namespace ns into out (which
// must be at least as long as hashes; absent tokens get zero counts) and
// returns the namespace's learn totals. Each pair is consistent: it was the
// token's state at some moment. If the file was replaced since the last
// call, Lookup maps the new one first.
func (r *Reader) Lookup(ns Namespace, hashes []uint64, out []Counts) (Totals, error) {
	if len(out) < len(hashes) {
		return Totals{}, ErrSizeMismatch
	}
	m, err := r.acquire()
	if err != nil {
		return Totals{}, err
	}
	t := m.lookup(ns, hashes, out)
	m.release()
	return t, nil
}

// acquire returns the current mapping with a reference held.
func (r *Reader) acquire() (*mapping, error) {
	for i := 0; ; i++ {
		m := r.cur.Load()
		if m == nil {
			return nil, ErrClosed
		}
		if !m.tryRef() {
			continue // replaced and released meanwhile: load the new one
		}
		if i < maxFollow && r.stale(m) {
			err := r.remap(m)
			m.release()
			if err != nil {
				return nil, err
			}
			continue
		}
		return m, nil
	}
}

// stale reports whether m was replaced: its superseded flag (one atomic
// load), or, once per recheckInterval, a different inode at the path.
func (r *Reader) stale(m *mapping) bool {
	if m.superseded() {
		return true
	}
	now := time.Now().UnixNano()
	last := r.lastCheck.Load()
	if now-last < int64(recheckInterval) || !r.lastCheck.CompareAndSwap(last, now) {
		return false
	}
	fi, err := os.Stat(r.path)
	if err != nil {
		return false
	}
	dev, ino := fileIdentity(fi)
	return dev != m.dev || ino != m.ino
}

// remap replaces old by a fresh mapping of the path.
func (r *Reader) remap(old *mapping) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur.Load() != old {
		return nil // another goroutine did it
	}
	nm, err := openChecked(r.path, r.want)
	if err != nil {
		return fmt.Errorf("mmapstore: remap statfile %s: %w", r.path, err)
	}
	if !r.cur.CompareAndSwap(old, nm) {
		nm.release() // closed meanwhile
		return ErrClosed
	}
	return old.release() // the Reader's own reference
}

// Generation returns the generation of the file currently mapped.
func (r *Reader) Generation() uint64 {
	if m := r.cur.Load(); m != nil {
		return m.hdr.generation
	}
	return 0
}

// Close releases the mapping once no Lookup uses it.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.cur.Swap(nil)
	if m == nil {
		return ErrClosed
	}
	if err := m.release(); err != nil {
		return fmt.Errorf("mmapstore: close statfile %s: %w", r.path, err)
	}
	return nil
}
