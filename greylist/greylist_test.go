package greylist

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// clock is a time the test moves.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newStore(t *testing.T, c *clock, path string, max int) *Store {
	t.Helper()
	s, err := Open(Options{Path: path, Delay: 5 * time.Minute, Window: 48 * time.Hour, Expire: 35 * 24 * time.Hour, MaxEntries: max, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var (
	client  = netip.MustParseAddr("192.0.2.10")
	sibling = netip.MustParseAddr("192.0.2.77")    // same /24
	other   = netip.MustParseAddr("198.51.100.10") // another /24
)

func TestCheck(t *testing.T) {
	type step struct {
		after  time.Duration
		client netip.Addr
		from   string
		rcpts  []string
		want   bool
	}
	a := []string{"bob@example.net"}
	tests := []struct {
		name  string
		steps []step
	}{
		{"first attempt deferred, retry after the delay passes, then passes at once", []step{
			{0, client, "alice@example.org", a, false},
			{time.Minute, client, "alice@example.org", a, false},
			{5 * time.Minute, client, "alice@example.org", a, true},
			{time.Second, client, "alice@example.org", a, true},
		}},
		{"a retry from another address of the same /24 counts", []step{
			{0, client, "alice@example.org", a, false},
			{6 * time.Minute, sibling, "alice@example.org", a, true},
		}},
		{"another network is another triplet", []step{
			{0, client, "alice@example.org", a, false},
			{6 * time.Minute, other, "alice@example.org", a, false},
		}},
		{"sender and recipient compared without case and brackets", []step{
			{0, client, "<Alice@Example.ORG>", []string{"<BOB@example.net>"}, false},
			{6 * time.Minute, client, "alice@example.org", a, true},
		}},
		{"a retry after the window starts over", []step{
			{0, client, "alice@example.org", a, false},
			{49 * time.Hour, client, "alice@example.org", a, false},
			{6 * time.Minute, client, "alice@example.org", a, true},
		}},
		{"a passed triplet unseen past expire starts over", []step{
			{0, client, "alice@example.org", a, false},
			{6 * time.Minute, client, "alice@example.org", a, true},
			{34 * 24 * time.Hour, client, "alice@example.org", a, true},
			{36 * 24 * time.Hour, client, "alice@example.org", a, false},
		}},
		{"every recipient must have passed", []step{
			{0, client, "alice@example.org", a, false},
			{6 * time.Minute, client, "alice@example.org", []string{"bob@example.net", "carol@example.net"}, false},
			{6 * time.Minute, client, "alice@example.org", []string{"bob@example.net", "carol@example.net"}, true},
		}},
		{"no recipient passes", []step{{0, client, "alice@example.org", nil, true}}},
		{"an unknown client is one network", []step{
			{0, netip.Addr{}, "alice@example.org", a, false},
			{6 * time.Minute, netip.Addr{}, "alice@example.org", a, true},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{t: time.Unix(1_800_000_000, 0)}
			s := newStore(t, c, "", 0)
			for i, st := range tc.steps {
				c.advance(st.after)
				if got := s.Check(st.client, st.from, st.rcpts); got != st.want {
					t.Fatalf("step %d: Check = %v, want %v", i, got, st.want)
				}
			}
		})
	}
}

func TestSaveOpen(t *testing.T) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	path := filepath.Join(t.TempDir(), "greylist.db")
	s := newStore(t, c, path, 0)
	s.Check(client, "alice@example.org", []string{"bob@example.net"})
	s.Check(other, "eve@example.org", []string{"bob@example.net"})
	c.advance(6 * time.Minute)
	if !s.Check(client, "alice@example.org", []string{"bob@example.net"}) {
		t.Fatal("retry did not pass")
	}
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	// A restart: the passed triplet passes at once, the pending one
	// passes on its retry, not earlier.
	c.advance(time.Hour)
	s2 := newStore(t, c, path, 0)
	if s2.Len() != 2 {
		t.Fatalf("reopened store has %d triplets, want 2", s2.Len())
	}
	if !s2.Check(client, "alice@example.org", []string{"bob@example.net"}) {
		t.Error("a triplet that passed before the restart is deferred after it")
	}
	if !s2.Check(other, "eve@example.org", []string{"bob@example.net"}) {
		t.Error("a pending triplet retried after the delay, across a restart, is deferred")
	}
	// Expired triplets are not loaded.
	s2.Save()
	c.advance(50 * 24 * time.Hour)
	if s3 := newStore(t, c, path, 0); s3.Len() != 0 {
		t.Errorf("expired triplets loaded: %d", s3.Len())
	}
}

func TestOpenRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	good := func(n uint64, records int) []byte {
		b := []byte(magic)
		b = append(b, byte(n), 0, 0, 0, 0, 0, 0, 0)
		return append(b, make([]byte, records*recordSize)...)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"not ours", []byte("hello world, this is not a greylist")},
		{"count larger than the records", good(3, 2)},
		{"cut inside a record", good(2, 2)[:len(magic)+8+recordSize+3]},
		{"more records than max_entries", good(20, 20)},
		{"a count that overflows", append(append([]byte(magic), 0, 0, 0, 0, 0, 0, 0, 0x0a), make([]byte, recordSize)...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name)
			os.WriteFile(p, tc.data, 0o600)
			if _, err := Open(Options{Path: p, MaxEntries: 10}); err == nil {
				t.Fatal("Open accepted it")
			}
		})
	}
	if _, err := Open(Options{Path: filepath.Join(dir, "missing")}); err != nil {
		t.Errorf("a missing file is an empty store, got %v", err)
	}
}

func TestBounded(t *testing.T) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := newStore(t, c, "", 100)
	// Ten triplets that passed, then a flood of first attempts.
	for i := 0; i < 10; i++ {
		r := []string{fmt.Sprintf("user%d@example.net", i)}
		s.Check(client, "alice@example.org", r)
		c.advance(6 * time.Minute)
		if !s.Check(client, "alice@example.org", r) {
			t.Fatal("retry did not pass")
		}
	}
	for i := 0; i < 10_000; i++ {
		s.Check(other, fmt.Sprintf("spammer%d@example.com", i), []string{"bob@example.net"})
		if s.Len() > 100 {
			t.Fatalf("%d triplets kept, max 100", s.Len())
		}
	}
	for i := 0; i < 10; i++ {
		if !s.Check(client, "alice@example.org", []string{fmt.Sprintf("user%d@example.net", i)}) {
			t.Errorf("passed triplet %d was evicted by first attempts", i)
		}
	}
}

func TestBadFileStartsEmptyWhenAsked(t *testing.T) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	p := filepath.Join(t.TempDir(), "greylist.db")
	os.WriteFile(p, []byte("garbage garbage garbage"), 0o600)
	var reported error
	s, err := Open(Options{Path: p, Now: c.now, OnBadFile: func(err error) { reported = err }})
	if err != nil || reported == nil {
		t.Fatalf("Open = %v, reported %v; want a store and a report", err, reported)
	}
	s.Check(client, "a@example.org", []string{"b@example.net"})
	stop := s.SaveEvery(time.Hour, func(err error) { t.Error(err) })
	stop() // saves a last time
	stop() // idempotent
	s2, err := Open(Options{Path: p, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	if s2.Len() != 1 {
		t.Fatalf("after SaveEvery's stop: %d triplets, want 1", s2.Len())
	}
}
