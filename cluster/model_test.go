package cluster

import (
	"encoding/gob"
	"fmt"
	"io"
	"maps"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sluicemail/sluice/learn"
)

// model is an in-memory Applier for the tests: the statfile's logical
// content (counts per namespace and token, totals per namespace, the
// learn cache, the cursor, the per-origin marks) with the learn cache's
// rule: the same class again is a no-op, the other class relearns (-1
// on the old, +1 on the new, with this event's tokens), and a user's
// decision outranks autolearn's (autolearn never flips it). Forget
// unlearns and clears the entry. The real applier (learn.Learner) gets
// wired in after the merge; the cluster tests need only an applier that
// is deterministic and idempotent, which this is.
type model struct {
	mu      sync.Mutex
	cursor  uint64
	marks   map[string]uint64
	counts  map[tokenKey][2]int64 // [spam, ham]
	totals  map[string][2]int64
	cache   map[cacheKey]cacheEntry
	skipped int // events at or below their origin's mark
	// appliedAt, when not nil, records when each origin/seq was applied.
	appliedAt map[string]time.Time
}

type tokenKey struct {
	ns   string
	hash uint64
}

type cacheKey struct {
	digest [32]byte
	user   string // "" for the shared part
}

type cacheEntry struct {
	label learn.Label
	user  bool // set by a user (not autolearn)
}

func newModel() *model {
	return &model{marks: map[string]uint64{}, counts: map[tokenKey][2]int64{}, totals: map[string][2]int64{}, cache: map[cacheKey]cacheEntry{}}
}

func (m *model) Cursor() (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cursor, nil
}

func (m *model) Marks() (map[string]uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.marks), nil
}

func (m *model) ApplyEvent(ev learn.Event, streamSeq uint64) (learn.Outcome, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if streamSeq <= m.cursor {
		return learn.AlreadyLearned, nil
	}
	if ev.Time.IsZero() {
		return 0, fmt.Errorf("event %s/%d has no stream time", ev.Origin, ev.Seq)
	}
	m.cursor = streamSeq
	if ev.Seq <= m.marks[ev.Origin] {
		m.skipped++
		return learn.AlreadyLearned, nil
	}
	m.marks[ev.Origin] = ev.Seq
	if m.appliedAt != nil {
		m.appliedAt[fmt.Sprintf("%s/%d", ev.Origin, ev.Seq)] = time.Now()
	}
	out := m.part(ev, cacheKey{ev.Digest, ""}, "")
	if ev.User != "" {
		if o := m.part(ev, cacheKey{ev.Digest, ev.User}, "user:"+ev.User); o == learn.Relearned || out == learn.AlreadyLearned {
			out = o
		}
	}
	return out, nil
}

// part applies ev to one namespace and its learn cache entry.
func (m *model) part(ev learn.Event, key cacheKey, ns string) learn.Outcome {
	e, ok := m.cache[key]
	user := ev.Source != "autolearn"
	if ev.Label == learn.Forget {
		if !ok {
			return learn.NotLearned
		}
		m.count(ns, ev.Hashes, e.label, -1)
		delete(m.cache, key)
		return learn.Forgotten
	}
	switch {
	case ok && e.label == ev.Label:
		e.user = e.user || user
		m.cache[key] = e
		return learn.AlreadyLearned
	case ok && e.user && !user:
		return learn.AlreadyLearned // autolearn never flips a user's decision
	}
	out := learn.Learned
	if ok {
		m.count(ns, ev.Hashes, e.label, -1)
		out = learn.Relearned
	}
	m.count(ns, ev.Hashes, ev.Label, +1)
	m.cache[key] = cacheEntry{label: ev.Label, user: user}
	return out
}

func (m *model) count(ns string, hashes []uint64, l learn.Label, delta int64) {
	i := 0
	if l == learn.Ham {
		i = 1
	}
	for _, h := range hashes {
		c := m.counts[tokenKey{ns, h}]
		c[i] += delta
		if c == [2]int64{} {
			delete(m.counts, tokenKey{ns, h})
		} else {
			m.counts[tokenKey{ns, h}] = c
		}
	}
	t := m.totals[ns]
	t[i] += delta
	m.totals[ns] = t
}

// digest is the model's logical content as text, sorted: two models are
// equal when their digests are.
func (m *model) digest() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var lines []string
	for k, c := range m.counts {
		lines = append(lines, fmt.Sprintf("count %s %016x %d %d", k.ns, k.hash, c[0], c[1]))
	}
	for ns, t := range m.totals {
		lines = append(lines, fmt.Sprintf("total %s %d %d", ns, t[0], t[1]))
	}
	for k, e := range m.cache {
		lines = append(lines, fmt.Sprintf("cache %x %s %v %v", k.digest[:8], k.user, e.label, e.user))
	}
	for o, s := range m.marks {
		lines = append(lines, fmt.Sprintf("mark %s %d", o, s))
	}
	sort.Strings(lines)
	return fmt.Sprintf("cursor %d\n%s", m.cursor, strings.Join(lines, "\n"))
}

// modelState is a model's content for a snapshot (gob).
type modelState struct {
	Cursor uint64
	Marks  map[string]uint64
	Counts []countRec
	Totals map[string][2]int64
	Cache  []cacheRec
}

type countRec struct {
	NS   string
	Hash uint64
	C    [2]int64
}

type cacheRec struct {
	Digest [32]byte
	User   string
	Label  learn.Label
	ByUser bool
}

// snapshot writes the model's content, consistent with its cursor (the
// model is locked meanwhile, as a learner copies its statfile between
// two applies).
func (m *model) snapshot(w io.Writer) (cursor uint64, marks map[string]uint64, err error) {
	m.mu.Lock()
	st := modelState{Cursor: m.cursor, Marks: maps.Clone(m.marks), Totals: maps.Clone(m.totals)}
	for k, c := range m.counts {
		st.Counts = append(st.Counts, countRec{k.ns, k.hash, c})
	}
	for k, e := range m.cache {
		st.Cache = append(st.Cache, cacheRec{k.digest, k.user, e.label, e.user})
	}
	m.mu.Unlock()
	return st.Cursor, st.Marks, gob.NewEncoder(w).Encode(st)
}

// install replaces the model's content with a snapshot's.
func (m *model) install(r io.Reader) error {
	var st modelState
	if err := gob.NewDecoder(r).Decode(&st); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cursor, m.marks, m.totals = st.Cursor, st.Marks, st.Totals
	if m.marks == nil {
		m.marks = map[string]uint64{}
	}
	m.counts, m.cache = map[tokenKey][2]int64{}, map[cacheKey]cacheEntry{}
	for _, c := range st.Counts {
		m.counts[tokenKey{c.NS, c.Hash}] = c.C
	}
	for _, c := range st.Cache {
		m.cache[cacheKey{c.Digest, c.User}] = cacheEntry{c.Label, c.ByUser}
	}
	return nil
}
