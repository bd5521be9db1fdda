package milter

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicemail/sluice/mmapstore"
)

// retryOpen is how often a Statfile that could not be mapped tries again.
const retryOpen = time.Second

// Statfile is the scan.Stats of the milter: the statfile mapped read-only
// (mmapstore.Reader follows replacements by the learner), or, until the
// file exists, empty statistics (Bayes stays silent and says why). It
// tries to map the file at most once per second, never blocking a lookup
// on another goroutine's attempt. Safe for concurrent use.
//
// (The spamd listener will want the same: it may move next to
// mmapstore.Reader.)
type Statfile struct {
	path   string
	params mmapstore.Params
	log    *slog.Logger
	r      atomic.Pointer[mmapstore.Reader]
	next   atomic.Int64 // unix nanoseconds of the next attempt
	mu     sync.Mutex   // one attempt at a time
	closed atomic.Bool
}

// OpenStatfile maps the statfile at path if it exists. A missing file is
// not an error; one that exists and cannot be used is.
func OpenStatfile(path string, params mmapstore.Params, log *slog.Logger) (*Statfile, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Statfile{path: path, params: params, log: log}
	r, err := mmapstore.OpenReader(path, params)
	switch {
	case err == nil:
		s.r.Store(r)
	case errors.Is(err, fs.ErrNotExist):
		log.Info("statfile does not exist yet, scanning with empty statistics", "path", path)
		s.next.Store(time.Now().Add(retryOpen).UnixNano())
	default:
		return nil, fmt.Errorf("milter: %w", err)
	}
	return s, nil
}

// Lookup implements scan.Stats.
func (s *Statfile) Lookup(ns mmapstore.Namespace, hashes []uint64, out []mmapstore.Counts) (mmapstore.Totals, error) {
	r := s.r.Load()
	if r == nil {
		r = s.tryOpen()
	}
	if r == nil {
		clear(out[:len(hashes)])
		return mmapstore.Totals{}, nil
	}
	return r.Lookup(ns, hashes, out)
}

func (s *Statfile) tryOpen() *mmapstore.Reader {
	now := time.Now()
	if now.UnixNano() < s.next.Load() || s.closed.Load() || !s.mu.TryLock() {
		return nil
	}
	defer s.mu.Unlock()
	if r := s.r.Load(); r != nil {
		return r
	}
	s.next.Store(now.Add(retryOpen).UnixNano())
	r, err := mmapstore.OpenReader(s.path, s.params)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("statfile cannot be mapped yet", "path", s.path, "err", err)
		}
		return nil
	}
	s.log.Info("statfile appeared, scanning with it", "path", s.path)
	s.r.Store(r)
	return r
}

// Close unmaps the statfile.
func (s *Statfile) Close() error {
	s.closed.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.r.Swap(nil); r != nil {
		return r.Close()
	}
	return nil
}
