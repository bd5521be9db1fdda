// Package learnmodel is an in-memory model of what package learn's
// ApplyEvent leaves in a statfile: token counts per namespace, class
// totals, the learn caches (with who decided), the user namespace cap's
// learn times, the stream cursor and the per-origin marks. It is written
// from the rules in learn's documentation, not from its code, so that
// tests (learn's model and crash tests, the cluster's oracle) can apply
// the same events to a statfile and to a Model and compare their
// Digests: equal when the statfile counted every event exactly once.
//
// It assumes a statfile with room for everything (no expiry of a full
// table) and counts far from 2^32.
package learnmodel

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
)

// The statfile's reserved namespace names, as package learn documents them.
const (
	cacheName     = "sys:learncache"
	userCacheName = "sys:learncache:users"
	cursorName    = "sys:stream:cursor"
	originPrefix  = "sys:origin:"
	seenPrefix    = "sys:seen:"
)

// Options are the learn options that change what an event does.
type Options struct {
	UsersEnabled      bool
	LanguagesEnabled  bool
	MaxUserNamespaces int
}

// Model is the statfile's logical content. The zero value is not usable:
// call New.
type Model struct {
	params mmapstore.Params
	opts   Options
	counts map[slot]mmapstore.Counts
	totals map[string]mmapstore.Totals // by namespace name ("" shared)
	cache  map[cacheKey]entry
	seen   map[string]int64 // user → last learn (cap only)
	cursor uint64
	marks  map[string]uint64
}

type slot struct {
	ns   string
	hash uint64
}

type cacheKey struct {
	user   string // "" the shared cache
	digest [32]byte
}

// entry is a learn cache entry: a class and whether a user gave it.
type entry struct {
	class mmapstore.Class
	user  bool
}

// New returns an empty Model of a statfile with params.
func New(params mmapstore.Params, opts Options) *Model {
	return &Model{params: params, opts: opts, counts: map[slot]mmapstore.Counts{},
		totals: map[string]mmapstore.Totals{}, cache: map[cacheKey]entry{}, seen: map[string]int64{},
		marks: map[string]uint64{}}
}

// Result is what Apply did with an event.
type Result struct {
	Outcome learn.Outcome // 0 when refused
	Refused bool          // not applied; the cursor moved
	Gap     bool          // applied after a gap in its origin's sequence
}

// Cursor is the last stream sequence applied.
func (m *Model) Cursor() uint64 { return m.cursor }

// Marks returns a copy of the per-origin marks.
func (m *Model) Marks() map[string]uint64 {
	out := make(map[string]uint64, len(m.marks))
	for o, s := range m.marks {
		out[o] = s
	}
	return out
}

// Class is the class the shared learn cache holds for digest (0: none).
func (m *Model) Class(digest [32]byte) learn.Label {
	return learn.Label(m.cache[cacheKey{"", digest}].class)
}

// Apply applies ev at streamSeq, as learn.Learner.ApplyEvent does.
func (m *Model) Apply(ev learn.Event, streamSeq uint64) Result {
	if streamSeq <= m.cursor {
		return Result{Outcome: learn.AlreadyApplied}
	}
	m.cursor = streamSeq
	if !m.acceptable(&ev) {
		return Result{Refused: true}
	}
	mark := m.marks[ev.Origin]
	if ev.Seq <= mark {
		return Result{Outcome: learn.AlreadyApplied}
	}
	if _, ok := m.marks[ev.Origin]; !ok && len(m.marks) >= learn.MaxOrigins {
		return Result{Refused: true}
	}
	m.marks[ev.Origin] = ev.Seq
	res := Result{Gap: mark > 0 && ev.Seq != mark+1}
	user := ev.User
	if !m.opts.UsersEnabled {
		user = ""
	}
	lang := ev.Language
	if !m.opts.LanguagesEnabled {
		lang = ""
	}
	if ev.Label == learn.Forget {
		res.Outcome = m.forget(ev, user, lang)
	} else {
		res.Outcome = m.learn(ev, user, lang)
	}
	return res
}

func (m *Model) acceptable(ev *learn.Event) bool {
	if ev.Params != m.params || !ev.Label.Valid() || len(ev.Hashes) == 0 || len(ev.Hashes) > learn.MaxEventHashes ||
		ev.Origin == "" || len(ev.Origin) > learn.MaxOriginLen || ev.Seq == 0 {
		return false
	}
	for _, c := range []byte(ev.Origin) {
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// sharedNames are the namespaces of the shared part of a learn.
func sharedNames(lang string) []string {
	if lang == "" {
		return []string{""}
	}
	return []string{"", "lang:" + lang}
}

func (m *Model) learn(ev learn.Event, user, lang string) learn.Outcome {
	class := mmapstore.Class(ev.Label)
	byUser := ev.Source != learn.SourceAutolearn
	out := learn.AlreadyLearned
	// The shared part, then the user's (with the cap's expiry first).
	parts := []struct {
		key   cacheKey
		cache string
		nss   []string
	}{{cacheKey{"", ev.Digest}, cacheName, sharedNames(lang)}}
	if user != "" {
		parts = append(parts, struct {
			key   cacheKey
			cache string
			nss   []string
		}{cacheKey{user, ev.Digest}, userCacheName, []string{"user:" + user}})
	}
	for i, p := range parts {
		old, had := m.cache[p.key]
		switch {
		case had && old.class == class && byUser && !old.user:
			m.cache[p.key] = entry{class, true} // a user takes autolearn's entry
			continue
		case had && (old.class == class || (!byUser && old.user)):
			continue // the same class, or autolearn below a user
		}
		if i == 1 {
			m.touch(user, ev.Time)
		}
		if had {
			m.count(p.nss, ev.Hashes, old.class, -1)
			m.total(p.cache, old.class, -1)
			out = learn.Relearned
		} else if out != learn.Relearned {
			out = learn.Learned
		}
		m.count(p.nss, ev.Hashes, class, +1)
		m.total(p.cache, class, +1)
		m.cache[p.key] = entry{class, byUser}
	}
	return out
}

func (m *Model) forget(ev learn.Event, user, lang string) learn.Outcome {
	out := learn.NotLearned
	if old, ok := m.cache[cacheKey{"", ev.Digest}]; ok {
		m.count(sharedNames(lang), ev.Hashes, old.class, -1)
		m.total(cacheName, old.class, -1)
		delete(m.cache, cacheKey{"", ev.Digest})
		out = learn.Forgotten
	}
	if user != "" {
		if old, ok := m.cache[cacheKey{user, ev.Digest}]; ok {
			m.count([]string{"user:" + user}, ev.Hashes, old.class, -1)
			m.total(userCacheName, old.class, -1)
			delete(m.cache, cacheKey{user, ev.Digest})
			out = learn.Forgotten
		}
	}
	return out
}

// userNS is user's namespace.
func userNS(user string) mmapstore.Namespace { return mmapstore.NamespaceOf("user:" + user) }

// touch records that user learns at t, expiring the least recently
// learned users (then fewest learns, then lowest namespace id) past the
// cap.
func (m *Model) touch(user string, t time.Time) {
	if m.opts.MaxUserNamespaces <= 0 {
		return
	}
	if _, ok := m.seen[user]; !ok {
		for len(m.seen) >= m.opts.MaxUserNamespaces {
			var victim string
			var vs int64
			var vl uint64
			first := true
			for u, s := range m.seen {
				tot := m.totals["user:"+u]
				l := tot.Spam + tot.Ham
				if first || cmp.Or(cmp.Compare(s, vs), cmp.Compare(l, vl), cmp.Compare(userNS(u), userNS(victim))) < 0 {
					victim, vs, vl, first = u, s, l, false
				}
			}
			delete(m.seen, victim)
			delete(m.totals, "user:"+victim)
		}
	}
	m.seen[user] = learn.LearnTime(t)
}

// count adds delta to class's count of every hash in every namespace
// (and to the namespace's totals), stopping at 0.
func (m *Model) count(nss []string, hashes []uint64, class mmapstore.Class, delta int) {
	for _, ns := range nss {
		for _, h := range hashes {
			c := m.counts[slot{ns, h}]
			p := &c.Spam
			if class == mmapstore.Ham {
				p = &c.Ham
			}
			if delta > 0 {
				*p++
			} else if *p > 0 {
				*p--
			}
			m.counts[slot{ns, h}] = c
		}
		m.total(ns, class, delta)
	}
}

func (m *Model) total(ns string, class mmapstore.Class, delta int) {
	t := m.totals[ns]
	p := &t.Spam
	if class == mmapstore.Ham {
		p = &t.Ham
	}
	if delta > 0 {
		*p++
	} else if *p > 0 {
		*p--
	}
	m.totals[ns] = t
}

// Digest is the mmapstore logical digest of the modelled statfile.
func (m *Model) Digest() [32]byte {
	var d mmapstore.Digester
	for s, c := range m.counts {
		d.AddSlot(mmapstore.KeyOf(s.hash, mmapstore.NamespaceOf(s.ns)), c)
	}
	for k, e := range m.cache {
		ns, key := cacheName, binary.LittleEndian.Uint64(k.digest[:8])
		if k.user != "" {
			ns, key = userCacheName, key^xxhash.Sum64String(k.user)
		}
		n := uint32(1)
		if !e.user {
			n = 2
		}
		c := mmapstore.Counts{Spam: n}
		if e.class == mmapstore.Ham {
			c = mmapstore.Counts{Ham: n}
		}
		d.AddSlot(mmapstore.KeyOf(key, mmapstore.NamespaceOf(ns)), c)
	}
	for ns, t := range m.totals {
		d.AddTotals(mmapstore.NamespaceOf(ns), t)
	}
	d.AddTotals(mmapstore.NamespaceOf(cursorName), mmapstore.Totals{Spam: m.cursor})
	for o, s := range m.marks {
		d.AddTotals(mmapstore.NamespaceOf(originPrefix+o), mmapstore.Totals{Spam: s})
	}
	for u, s := range m.seen {
		name := fmt.Sprintf("%s%016x", seenPrefix, uint64(userNS(u)))
		d.AddTotals(mmapstore.NamespaceOf(name), mmapstore.Totals{Spam: uint64(s)})
	}
	return d.Sum()
}
