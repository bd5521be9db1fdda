package activity

import (
	"cmp"
	"compress/gzip"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// A Log is saved as gob in gzip: a header that says what it is, then the
// state. Gob rather than JSON: digests are bytes, not arrays of numbers,
// and a full ledger (100,000 verdicts) takes a few MB instead of tens.
// Load applies the Options' bounds to what it reads, as if it were
// recorded again, and reads at most MaxStateSize bytes of gob.
const (
	stateMagic   = "sluice activity state"
	stateVersion = 1
	// MaxStateSize bounds the decompressed state Load reads.
	MaxStateSize = 256 << 20
)

// ErrState is wrapped by Load's errors for a file that is not a saved
// Log of this version.
var ErrState = errors.New("activity: not a saved activity log")

type stateHeader struct {
	Magic   string
	Version int
}

type state struct {
	Saved    time.Time
	NextID   uint64
	History  []Scan // oldest first
	Minutes  []Minute
	Verdicts []savedVerdict // arrival order, oldest first
	Days     []savedDay
}

type savedVerdict struct {
	Scan         Scan
	Matched      uint8
	Day, Profile string
	seq          uint64 // arrival order, for sorting (not saved)
}

type savedDay struct {
	Day         Day
	Corrections []Correction // oldest first
}

// Save writes the Log's state to w. The Log is copied under its lock and
// encoded outside it, so recording goes on meanwhile.
func (l *Log) Save(w io.Writer) error {
	st := l.state()
	zw := gzip.NewWriter(w)
	enc := gob.NewEncoder(zw)
	if err := enc.Encode(stateHeader{Magic: stateMagic, Version: stateVersion}); err != nil {
		return fmt.Errorf("activity: save: %w", err)
	}
	if err := enc.Encode(st); err != nil {
		return fmt.Errorf("activity: save: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("activity: save: %w", err)
	}
	return nil
}

func (l *Log) state() *state {
	minutes := l.Throughput()
	verdicts := l.liveVerdicts()
	l.mu.Lock()
	defer l.mu.Unlock()
	st := &state{Saved: l.opts.Clock(), NextID: l.nextID, Minutes: minutes, Verdicts: verdicts}
	for id := l.nextID - uint64(len(l.hist)); id < l.nextID; id++ {
		if s, ok := l.scan(id); ok {
			st.History = append(st.History, *s) // symbols are never changed in place
		}
	}

	for _, r := range l.days {
		n := len(r.corrections)
		d := savedDay{Day: r.Day, Corrections: make([]Correction, 0, n)}
		for i := range n {
			d.Corrections = append(d.Corrections, r.corrections[(r.next+i)%n])
		}
		st.Days = append(st.Days, d)
	}
	return st
}

// saveChunk is how many ledger slots Save copies per hold of the lock:
// recording waits for a chunk (about a millisecond), not for the whole
// ledger (tens of ms at 100,000 verdicts).
const saveChunk = 4096

// liveVerdicts copies the ledger's verdicts, saveChunk at a time, and
// sorts them by arrival. Arrivals meanwhile may be missed or overwrite a
// slot already copied: a verdict saved twice is restored as its later
// arrival.
func (l *Log) liveVerdicts() []savedVerdict {
	l.mu.Lock()
	n := len(l.verdicts)
	l.mu.Unlock()
	out := make([]savedVerdict, 0, n)
	for start := 0; start < n; start += saveChunk {
		l.mu.Lock()
		for _, v := range l.verdicts[start:min(start+saveChunk, len(l.verdicts))] {
			if v.live {
				out = append(out, savedVerdict{Scan: v.scan, Matched: v.matched, Day: v.day.day, Profile: v.day.profile, seq: v.seq})
			}
		}
		l.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b savedVerdict) int { return cmp.Compare(a.seq, b.seq) })
	return out
}

// Load replaces the Log's state with one Save wrote, within the Log's
// Options: what is past its window, days, history or ledger is left out.
// On error the Log is unchanged.
func (l *Log) Load(r io.Reader) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrState, err)
	}
	dec := gob.NewDecoder(io.LimitReader(zr, MaxStateSize))
	var h stateHeader
	if err := dec.Decode(&h); err != nil || h.Magic != stateMagic {
		return fmt.Errorf("%w: no header", ErrState)
	}
	if h.Version != stateVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrState, h.Version, stateVersion)
	}
	var st state
	if err := dec.Decode(&st); err != nil {
		return fmt.Errorf("%w: %v", ErrState, err)
	}
	fresh := New(l.opts)
	fresh.restore(&st)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.minutes, l.names = fresh.minutes, fresh.names
	l.hist, l.nextID = fresh.hist, fresh.nextID
	l.ledger, l.verdicts, l.head, l.seq = fresh.ledger, fresh.verdicts, fresh.head, fresh.seq
	l.days, l.profiles, l.lastDay = fresh.days, fresh.profiles, fresh.lastDay
	return nil
}

// restore fills an empty Log from st (no one else holds it yet).
func (l *Log) restore(st *state) {
	now := l.opts.Clock()
	for _, m := range st.Minutes {
		at := m.Start.Unix() / 60
		if at > now.Unix()/60 || at <= now.Unix()/60-int64(len(l.minutes)) {
			continue
		}
		c := l.count(m.Start)
		if c == nil {
			continue
		}
		for dim, counts := range [dims]map[string]uint64{m.ByAction, m.ByFrontend, m.BySource} {
			for name, n := range counts {
				c[dim][l.names[dim].index(clip(name))] += n
			}
		}
	}
	l.nextID = max(1, st.NextID)
	if len(st.History) > 0 {
		l.nextID = max(l.nextID, st.History[len(st.History)-1].ID+1)
		l.hist = make([]Scan, l.opts.History)
		for _, s := range st.History {
			if s.ID == 0 || s.ID >= l.nextID || l.nextID-s.ID > uint64(l.opts.History) {
				continue
			}
			normalize(&s)
			l.hist[(s.ID-1)%uint64(l.opts.History)] = s
		}
	}
	l.lastDay = now.UTC().Format(time.DateOnly)
	oldest := now.UTC().AddDate(0, 0, 1-l.opts.Days).Format(time.DateOnly)
	for _, d := range st.Days {
		if d.Day.Day < oldest || d.Day.Day > l.lastDay || l.profiles[d.Day.Day] >= l.opts.MaxProfiles {
			continue
		}
		k := dayKey{d.Day.Day, clip(d.Day.Profile)}
		if _, dup := l.days[k]; dup {
			continue
		}
		r := &dayRow{Day: d.Day}
		r.Day.Profile, r.FPRate, r.FNRate = k.profile, 0, 0
		cs := d.Corrections[max(0, len(d.Corrections)-l.opts.MaxCorrections):]
		r.corrections = make([]Correction, len(cs))
		copy(r.corrections, cs)
		l.profiles[k.day]++
		l.days[k] = r
	}
	vs := st.Verdicts[max(0, len(st.Verdicts)-l.opts.MaxLedger):]
	for _, sv := range vs {
		s := sv.Scan
		normalize(&s)
		s.Symbols = nil
		l.arrive(verdict{scan: s, day: dayKey{sv.Day, clip(sv.Profile)}, matched: sv.Matched & (matchedSpam | matchedHam)})
	}
}
