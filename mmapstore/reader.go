package mmapstore

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
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
// lock and makes no system call (except to follow a replaced file and,
// once per recheckInterval, to stat the path); it is safe for concurrent
// use by any number of goroutines.
//
// A file truncated under the Reader (by anything but the Writer, which
// never does it) would kill the process with SIGBUS on the first lookup
// past the new end. The Reader notices a shrunk file two ways: the
// periodic stat of the path compares its size with the mapping, before
// any lookup touches it; and every Lookup runs with
// debug.SetPanicOnFault, so a fault inside the mapping in the window
// between two stats becomes an error instead of a crash. Either way the
// mapping is marked broken, the event is logged and counted (Faults), and
// Lookup returns an error wrapping ErrTruncated (the caller scores without
// Bayes) until a good file is at the path again, which the Reader maps at
// its next recheck.
type Reader struct {
	path      string
	want      Params
	log       *slog.Logger
	now       func() time.Time // the clock of the recheck interval
	cur       atomic.Pointer[mapping]
	lastCheck atomic.Int64  // unix nanoseconds of the last stat of path
	faults    atomic.Uint64 // lookups that found the mapping shrunk
	mu        sync.Mutex    // serialises remapping
}

// ReaderOption configures OpenReader.
type ReaderOption func(*Reader)

// ReaderLogger sets the logger of a Reader (slog.Default() otherwise).
func ReaderLogger(l *slog.Logger) ReaderOption {
	return func(r *Reader) {
		if l != nil {
			r.log = l
		}
	}
}

// ReaderClock sets the clock that times the Reader's rechecks of the path
// (time.Now otherwise); tests use it to recheck without waiting.
func ReaderClock(now func() time.Time) ReaderOption {
	return func(r *Reader) {
		if now != nil {
			r.now = now
		}
	}
}

// OpenReader maps the statfile at path read-only. It fails with a
// *ParamsError if the file was built with other tokenizer parameters than
// want.
func OpenReader(path string, want Params, opts ...ReaderOption) (*Reader, error) {
	m, err := openChecked(path, want)
	if err != nil {
		return nil, fmt.Errorf("mmapstore: open statfile %s: %w", path, err)
	}
	r := &Reader{path: path, want: want, log: slog.Default(), now: time.Now}
	for _, o := range opts {
		o(r)
	}
	r.log = r.log.With("statfile", path)
	r.cur.Store(m)
	r.lastCheck.Store(r.now().UnixNano())
	return r, nil
}

// Faults returns how many times the Reader found its mapping shrunk under
// it (a truncated statfile), for a metric.
func (r *Reader) Faults() uint64 { return r.faults.Load() }

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
func (r *Reader) Lookup(ns Namespace, hashes []uint64, out []Counts) (t Totals, err error) {
	if len(out) < len(hashes) {
		return Totals{}, ErrSizeMismatch
	}
	// held is the mapping this call holds a reference on and reads; a
	// fault at an address inside it means the file shrank under it. Any
	// other fault is a bug and panics on.
	var held *mapping
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		fault, ok := p.(interface{ Addr() uintptr })
		if !ok || held == nil || !held.contains(fault.Addr()) {
			panic(p)
		}
		clear(out[:len(hashes)])
		r.markBroken(held, fmt.Sprintf("reading its mapping at %#x faulted", fault.Addr()))
		held.release()
		t, err = Totals{}, r.brokenError()
	}()
	m, err := r.acquire(&held)
	if err != nil {
		return Totals{}, err
	}
	t = m.lookup(ns, hashes, out)
	held = nil
	m.release()
	return t, nil
}

// markBroken records that m can no longer be read, once per mapping.
func (r *Reader) markBroken(m *mapping, why string) {
	if m.broken.CompareAndSwap(false, true) {
		r.faults.Add(1)
		r.log.Error("mmapstore: statfile shrank under the reader; Bayes is off until a good file is in place",
			"why", why, "mapped_bytes", len(m.data))
		r.lastCheck.Store(0) // look for a replacement at the next lookup
	}
}

func (r *Reader) brokenError() error {
	return fmt.Errorf("mmapstore: statfile %s: %w (the file shrank under the reader)", r.path, ErrTruncated)
}

// acquire returns the current mapping with a reference held, which it
// also records in *held while it holds one (for Lookup's fault handler).
func (r *Reader) acquire(held **mapping) (*mapping, error) {
	for i := 0; ; i++ {
		m := r.cur.Load()
		if m == nil {
			return nil, ErrClosed
		}
		if !m.tryRef() {
			continue // replaced and released meanwhile: load the new one
		}
		*held = m
		if i < maxFollow && r.stale(m) {
			err := r.remap(m)
			*held = nil
			m.release()
			if err != nil {
				return nil, err
			}
			continue
		}
		if m.broken.Load() {
			*held = nil
			m.release()
			return nil, r.brokenError()
		}
		return m, nil
	}
}

// stale reports whether m was replaced: its superseded flag (one atomic
// load; never read from a broken mapping, whose header may be gone), or,
// once per recheckInterval, a different file at the path. The same stat
// notices a file that shrank below the mapping (marking m broken before a
// lookup touches it).
func (r *Reader) stale(m *mapping) bool {
	broken := m.broken.Load()
	if !broken && m.superseded() {
		return true
	}
	now := r.now().UnixNano()
	last := r.lastCheck.Load()
	if now-last < int64(recheckInterval) || !r.lastCheck.CompareAndSwap(last, now) {
		return false
	}
	fi, err := os.Stat(r.path)
	if err != nil {
		return false
	}
	dev, ino := fileIdentity(fi)
	if dev != m.dev || ino != m.ino {
		return true
	}
	if fi.Size() < int64(len(m.data)) {
		r.markBroken(m, fmt.Sprintf("the file is %d bytes", fi.Size()))
		return true // remap: the same file, if whole again, or a clear error
	}
	return broken // try the file in place again: whole, it maps; if not, a clear error
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
		if old.broken.Load() && !errors.Is(err, ErrTruncated) {
			r.log.Error("mmapstore: the statfile in place cannot be mapped", "err", err)
		}
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
