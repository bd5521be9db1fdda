// Package greylist remembers (client network, sender, recipient) triplets
// so that the greylist action defers a message once and lets its retry
// through, instead of deferring every retry until the sender gives up.
//
// A triplet's first attempt is deferred; a retry at least Delay later and
// within Window of the first attempt passes, and from then on the triplet
// passes at once until it has not been seen for Expire. The client is
// taken by network (IPv4 /24, IPv6 /64): large senders retry from another
// address of the same pool. A message with several recipients passes when
// every one of its triplets does.
//
// The store is bounded (MaxEntries; the oldest triplets that never passed
// go first, then the least recently seen) and kept in one file in the data
// directory, written atomically by Save (internal/atomicfile): a restart
// keeps what was saved; a crash loses at most what changed since the last
// Save, which only means one more deferral. Triplets are stored as 64-bit
// hashes, never as addresses. One process owns a file: two milters sharing
// a data directory would each overwrite the other's file.
package greylist

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"net/netip"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sluicemail/sluice/internal/atomicfile"
)

// Options configure a Store. Zero values take the defaults in brackets.
type Options struct {
	Path       string        // the file; "" keeps the store in memory only
	Delay      time.Duration // a retry sooner is deferred again [5m]
	Window     time.Duration // a first attempt not retried within it is forgotten [48h]
	Expire     time.Duration // a triplet that passed and is not seen for it is forgotten [840h, 35 days]
	MaxEntries int           // triplets kept [1,000,000]
	Now        func() time.Time
	// OnBadFile, when set, is told of a file that does not load; the
	// store then starts empty (the next Save replaces the file) instead
	// of Open failing. Losing greylist state costs one more deferral.
	OnBadFile func(error)
}

func (o *Options) withDefaults() {
	if o.Delay <= 0 {
		o.Delay = 5 * time.Minute
	}
	if o.Window <= 0 {
		o.Window = 48 * time.Hour
	}
	if o.Expire <= 0 {
		o.Expire = 35 * 24 * time.Hour
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = 1_000_000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

type entry struct {
	first, last int64 // unix seconds
	passed      bool
}

// Store is the triplet memory. It is safe for concurrent use.
type Store struct {
	o     Options
	mu    sync.Mutex
	m     map[uint64]entry
	dirty bool
}

const (
	magic      = "SLGREY1\n"
	recordSize = 8 + 8 + 8 + 1
)

// Open loads the store from o.Path; a missing file is an empty store. A
// file that is not a greylist file, or is cut short, is an error: the
// caller decides whether to start empty.
func Open(o Options) (*Store, error) {
	o.withDefaults()
	s := &Store{o: o, m: make(map[uint64]entry)}
	if o.Path == "" {
		return s, nil
	}
	if err := s.load(); err != nil {
		if o.OnBadFile == nil || errors.Is(err, fs.ErrPermission) {
			return nil, err
		}
		o.OnBadFile(err)
		s.m = make(map[uint64]entry)
		s.dirty = true
	}
	return s, nil
}

// load reads o.Path into s.m; a missing file is an empty store.
func (s *Store) load() error {
	o := s.o
	f, err := os.Open(o.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("greylist: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("greylist: %w", err)
	}
	// Bound memory before reading: a file can hold at most MaxEntries.
	size := fi.Size()
	if size < int64(len(magic)+8) || size > int64(len(magic)+8)+int64(o.MaxEntries)*recordSize {
		return fmt.Errorf("greylist: %s: size %d does not fit %d triplets", o.Path, size, o.MaxEntries)
	}
	b := make([]byte, size)
	if _, err := f.ReadAt(b, 0); err != nil {
		return fmt.Errorf("greylist: %s: %w", o.Path, err)
	}
	if string(b[:len(magic)]) != magic {
		return fmt.Errorf("greylist: %s is not a greylist file", o.Path)
	}
	n := binary.LittleEndian.Uint64(b[len(magic):])
	body := b[len(magic)+8:]
	if n > uint64(len(body))/recordSize || uint64(len(body)) != n*recordSize {
		return fmt.Errorf("greylist: %s: %d bytes for %d triplets", o.Path, len(body), n)
	}
	now := o.Now().Unix()
	for i := uint64(0); i < n; i++ {
		r := body[i*recordSize:]
		e := entry{first: int64(binary.LittleEndian.Uint64(r[8:])), last: int64(binary.LittleEndian.Uint64(r[16:])), passed: r[24] == 1}
		if !s.expired(e, now) {
			s.m[binary.LittleEndian.Uint64(r)] = e
		}
	}
	return nil
}

// Len returns the number of triplets kept.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// Check records an attempt from client by from to each of rcpts and
// reports whether the message may pass (every triplet retried after the
// delay, or passed before). With no recipient it passes.
func (s *Store) Check(client netip.Addr, from string, rcpts []string) bool {
	now := s.o.Now().Unix()
	s.mu.Lock()
	defer s.mu.Unlock()
	pass := true
	for _, r := range rcpts {
		if !s.checkOne(key(client, from, r), now) {
			pass = false
		}
	}
	return pass
}

func (s *Store) checkOne(k uint64, now int64) bool {
	s.dirty = true
	e, ok := s.m[k]
	if !ok || s.expired(e, now) {
		if !ok && len(s.m) >= s.o.MaxEntries {
			s.evict(now)
		}
		s.m[k] = entry{first: now, last: now}
		return false
	}
	e.last = now
	if !e.passed && now-e.first >= int64(s.o.Delay/time.Second) {
		e.passed = true
	}
	s.m[k] = e
	return e.passed
}

func (s *Store) expired(e entry, now int64) bool {
	if e.passed {
		return now-e.last > int64(s.o.Expire/time.Second)
	}
	return now-e.first > int64(s.o.Window/time.Second)
}

// evict makes room for a tenth of MaxEntries: expired triplets first,
// then those that never passed, oldest first, then the least recently
// seen.
func (s *Store) evict(now int64) {
	for k, e := range s.m {
		if s.expired(e, now) {
			delete(s.m, k)
		}
	}
	target := s.o.MaxEntries - s.o.MaxEntries/10 - 1
	if len(s.m) <= target {
		return
	}
	type kv struct {
		k uint64
		e entry
	}
	all := make([]kv, 0, len(s.m))
	for k, e := range s.m {
		all = append(all, kv{k, e})
	}
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i].e, all[j].e
		if a.passed != b.passed {
			return !a.passed
		}
		return a.last < b.last
	})
	for _, x := range all[:len(all)-max(target, 0)] {
		delete(s.m, x.k)
	}
}

// Save writes the store to its file if it changed since the last Save.
func (s *Store) Save() error {
	s.mu.Lock()
	if s.o.Path == "" || !s.dirty {
		s.mu.Unlock()
		return nil
	}
	now := s.o.Now().Unix()
	var b bytes.Buffer
	b.WriteString(magic)
	var n [8]byte
	b.Write(n[:]) // the count, filled below
	count := uint64(0)
	var r [recordSize]byte
	for k, e := range s.m {
		if s.expired(e, now) {
			delete(s.m, k)
			continue
		}
		binary.LittleEndian.PutUint64(r[0:], k)
		binary.LittleEndian.PutUint64(r[8:], uint64(e.first))
		binary.LittleEndian.PutUint64(r[16:], uint64(e.last))
		r[24] = 0
		if e.passed {
			r[24] = 1
		}
		b.Write(r[:])
		count++
	}
	s.dirty = false
	s.mu.Unlock()
	out := b.Bytes()
	binary.LittleEndian.PutUint64(out[len(magic):], count)
	if err := atomicfile.Write(s.o.Path, out, &atomicfile.Options{Perm: 0o640}); err != nil {
		s.mu.Lock()
		s.dirty = true
		s.mu.Unlock()
		return fmt.Errorf("greylist: save: %w", err)
	}
	return nil
}

// SaveEvery saves the store every interval until stop is called, which
// saves it a last time and returns when the saving goroutine has ended.
// Errors go to report.
func (s *Store) SaveEvery(interval time.Duration, report func(error)) (stop func()) {
	done := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				if err := s.Save(); err != nil {
					report(err)
				}
				return
			case <-t.C:
				if err := s.Save(); err != nil {
					report(err)
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		<-ended
	}
}

// key hashes a triplet: the client's network, the sender and the
// recipient, both lower-cased.
func key(client netip.Addr, from, rcpt string) uint64 {
	h := fnv.New64a()
	client = client.Unmap()
	switch {
	case client.Is4():
		p, _ := client.Prefix(24)
		h.Write([]byte(p.String()))
	case client.Is6():
		p, _ := client.Prefix(64)
		h.Write([]byte(p.String()))
	default:
		h.Write([]byte("unknown"))
	}
	h.Write([]byte{0})
	h.Write([]byte(strings.ToLower(strings.Trim(strings.TrimSpace(from), "<>"))))
	h.Write([]byte{0})
	h.Write([]byte(strings.ToLower(strings.Trim(strings.TrimSpace(rcpt), "<>"))))
	return h.Sum64()
}
