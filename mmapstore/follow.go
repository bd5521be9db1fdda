package mmapstore

import (
	"errors"
	"io/fs"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// FollowState says what a Followed statfile is serving.
type FollowState uint8

// The states of a Followed statfile.
const (
	// NoStatfile: no file at the path yet; lookups see empty statistics.
	NoStatfile FollowState = iota
	// Unusable: a file is there but cannot be mapped (wrong parameters,
	// corrupt header, permissions); lookups see empty statistics and the
	// reason was logged.
	Unusable
	// Mapped: the file is mapped and lookups read it.
	Mapped
)

func (s FollowState) String() string {
	switch s {
	case NoStatfile:
		return "no statfile"
	case Unusable:
		return "unusable"
	case Mapped:
		return "mapped"
	}
	return "unknown"
}

// FollowOptions configure Follow. Zero fields mean defaults.
type FollowOptions struct {
	// Retry is the least time between two attempts to map a file that is
	// missing or unusable. 0 means one second.
	Retry time.Duration
	// Now is the clock (tests give their own). nil means time.Now.
	Now func() time.Time
	// Logger receives "appeared" and "cannot be mapped" lines. nil discards.
	Logger *slog.Logger
}

// Followed is the statfile of a scanner: a Reader opened lazily and kept
// (Reader itself follows the learner's replacements of the file), with
// "no statfile yet" and "statfile unusable" as states rather than errors.
// In those states every token is unknown and nothing was learned, so Bayes
// stays silent and says why; the next lookup after Retry tries again,
// without ever blocking on another goroutine's attempt. A scanner never
// fails to start, and never crashes, because of the statfile.
// Safe for concurrent use.
type Followed struct {
	path   string
	params Params
	retry  time.Duration
	now    func() time.Time
	log    *slog.Logger

	r       atomic.Pointer[Reader]
	next    atomic.Int64 // unix nanoseconds of the next attempt
	mu      sync.Mutex   // one attempt at a time; guards lastErr, state
	state   FollowState
	lastErr string
	closed  atomic.Bool
	faults  atomic.Uint64
}

// Follow returns the statfile at path, mapped now if it can be.
func Follow(path string, params Params, opts FollowOptions) *Followed {
	f := &Followed{path: path, params: params, retry: opts.Retry, now: opts.Now, log: opts.Logger}
	if f.retry <= 0 {
		f.retry = time.Second
	}
	if f.now == nil {
		f.now = time.Now
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	f.mu.Lock()
	f.attempt(f.now())
	f.mu.Unlock()
	return f
}

// Lookup implements the scanner's statistics: Reader.Lookup on the mapped
// file, or empty counts and totals when there is none.
func (f *Followed) Lookup(ns Namespace, hashes []uint64, out []Counts) (Totals, error) {
	r := f.r.Load()
	if r == nil {
		r = f.tryOpen()
	}
	if r == nil {
		clear(out[:len(hashes)])
		return Totals{}, nil
	}
	t, err := r.Lookup(ns, hashes, out)
	if errors.Is(err, ErrTruncated) {
		// The file was cut short under the mapping: the Reader logged and
		// counted it and maps the file again once it is whole. Until then
		// this message is scored without Bayes, not failed.
		f.faults.Add(1)
		clear(out[:len(hashes)])
		return Totals{}, nil
	}
	return t, err
}

// Faults counts the lookups answered without Bayes because the mapped
// file was found truncated.
func (f *Followed) Faults() uint64 { return f.faults.Load() }

// State says what the statfile is now.
func (f *Followed) State() FollowState {
	if f.r.Load() != nil {
		return Mapped
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state
}

// Path is the statfile's path.
func (f *Followed) Path() string { return f.path }

func (f *Followed) tryOpen() *Reader {
	now := f.now()
	if now.UnixNano() < f.next.Load() || f.closed.Load() || !f.mu.TryLock() {
		return nil
	}
	defer f.mu.Unlock()
	if r := f.r.Load(); r != nil {
		return r
	}
	return f.attempt(now)
}

// attempt maps the file; f.mu is held.
func (f *Followed) attempt(now time.Time) *Reader {
	f.next.Store(now.Add(f.retry).UnixNano())
	r, err := OpenReader(f.path, f.params)
	switch {
	case err == nil:
		if f.state != NoStatfile || f.lastErr != "" {
			f.log.Info("statfile can be mapped now, scanning with it", "path", f.path)
		} else {
			f.log.Debug("statfile mapped", "path", f.path)
		}
		f.state, f.lastErr = Mapped, ""
		f.r.Store(r)
		return r
	case errors.Is(err, fs.ErrNotExist):
		if f.state != NoStatfile || f.lastErr == "" {
			f.log.Info("statfile does not exist yet, scanning with empty statistics", "path", f.path)
		}
		f.state, f.lastErr = NoStatfile, "missing"
	default:
		// Logged when the reason changes, not on every retry.
		if msg := err.Error(); msg != f.lastErr {
			f.log.Error("statfile cannot be mapped, scanning without Bayes", "path", f.path, "err", err)
			f.lastErr = msg
		}
		f.state = Unusable
	}
	return nil
}

// Close unmaps the statfile; later lookups see empty statistics.
func (f *Followed) Close() error {
	f.closed.Store(true)
	f.mu.Lock()
	defer f.mu.Unlock()
	if r := f.r.Swap(nil); r != nil {
		return r.Close()
	}
	return nil
}
