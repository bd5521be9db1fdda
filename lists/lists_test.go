package lists

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicemail/sluice/tokenizer"
)

func header(lines ...string) *tokenizer.HeaderFields {
	h := tokenizer.ParseHeader([]byte(strings.Join(lines, "\r\n") + "\r\n\r\n"))
	return &h
}

func symbols(hits []Hit) []string {
	var out []string
	for _, h := range hits {
		out = append(out, h.Symbol)
	}
	return out
}

func newLists(t *testing.T, opts Options) *Lists {
	t.Helper()
	l, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestCheck: every kind of entry against the facts it matches, address
// case, subdomains, CIDR v4 and v6, and a forged header From that claims
// an allowed domain without alignment.
func TestCheck(t *testing.T) {
	l := newLists(t, Options{
		TrustedAuthservIDs: []string{"MX.Example.NET"},
		Lists: []List{
			{Name: "allow_sender", Kind: Sender, Symbol: "ALLOW_SENDER", Score: -20,
				Entries: []string{"Boss@Partner.example", "@bank.example", "news.example.org."}},
			{Name: "block_sender", Kind: Sender, Symbol: "BLOCK_SENDER", Score: 20,
				Entries: []string{"spammer.example", "<bad@evil.example>"}},
			{Name: "allow_rcpt", Kind: Recipient, Symbol: "ALLOW_RCPT", Score: -5,
				Entries: []string{"postmaster@example.net", "@abuse.example.net"}},
			{Name: "block_client", Kind: Client, Symbol: "BLOCK_CLIENT", Score: 20,
				Entries: []string{"203.0.113.0/24", "2001:db8:bad::/48", "198.51.100.7"}},
		},
	})
	trusted := func(res string) string { return "Authentication-Results: mx.example.net; " + res }
	tests := []struct {
		name string
		m    Message
		want []string
	}{
		{"nothing", Message{Sender: "a@b.example", Recipients: []string{"c@d.example"}, Client: netip.MustParseAddr("192.0.2.1"),
			Header: header("From: a@b.example")}, nil},
		{"envelope address, any case", Message{Sender: "<BOSS@partner.EXAMPLE>"}, []string{"ALLOW_SENDER"}},
		{"envelope domain", Message{Sender: "clerk@bank.example"}, []string{"ALLOW_SENDER"}},
		{"envelope subdomain", Message{Sender: "clerk@mail.eu.bank.example"}, []string{"ALLOW_SENDER"}},
		{"not a suffix of a label", Message{Sender: "clerk@notbank.example"}, nil},
		{"other user of an allowed address's domain", Message{Sender: "intern@partner.example"}, nil},
		{"domain without @, trailing dot", Message{Sender: "x@news.example.org"}, []string{"ALLOW_SENDER"}},
		{"parent of an entry does not match", Message{Sender: "x@example.org"}, nil},
		{"null sender", Message{Sender: "<>"}, nil},
		{"block by envelope", Message{Sender: "a@x.spammer.example"}, []string{"BLOCK_SENDER"}},
		{"block by header From, no alignment needed", Message{Sender: "a@b.example",
			Header: header("From: \"Bad\" <Bad@Evil.example>")}, []string{"BLOCK_SENDER"}},
		{"forged From of an allowed domain", Message{Sender: "x@attacker.example",
			Header: header("From: Bank <clerk@bank.example>")}, nil},
		{"From with an untrusted authserv-id", Message{Sender: "x@attacker.example",
			Header: header("From: clerk@bank.example", "Authentication-Results: attacker.example; dkim=pass header.d=bank.example")}, nil},
		{"trusted field below the topmost trusted one is not read", Message{
			Header: header("From: clerk@bank.example", trusted("dkim=fail header.d=bank.example"), trusted("dkim=pass header.d=bank.example"))}, nil},
		{"From aligned by dkim", Message{Sender: "bounce@esp.example",
			Header: header("From: clerk@bank.example", trusted("dkim=pass header.d=bank.example header.s=s1"))}, []string{"ALLOW_SENDER"}},
		{"From aligned by dkim of a subdomain (relaxed)", Message{
			Header: header("From: clerk@bank.example", trusted("dkim=pass header.d=mail.bank.example"))}, []string{"ALLOW_SENDER"}},
		{"dkim of another domain does not align", Message{
			Header: header("From: clerk@bank.example", trusted("dkim=pass header.d=esp.example"))}, nil},
		{"dkim of the same public suffix does not align", Message{
			Header: header("From: a@x.co.uk", trusted("dkim=pass header.d=y.co.uk"))}, nil},
		{"From aligned by spf", Message{
			Header: header("From: boss@partner.example", trusted("spf=pass smtp.mailfrom=bounces@partner.example"))}, []string{"ALLOW_SENDER"}},
		{"spf pass of another domain", Message{
			Header: header("From: boss@partner.example", trusted("spf=pass smtp.mailfrom=x@esp.example"))}, nil},
		{"From aligned by dmarc", Message{
			Header: header("From: boss@partner.example", trusted("dmarc=pass (p=none) header.from=partner.example"))}, []string{"ALLOW_SENDER"}},
		{"dmarc fail", Message{
			Header: header("From: boss@partner.example", trusted("dmarc=fail header.from=partner.example"))}, nil},
		{"recipient, any of them", Message{Recipients: []string{"bob@example.net", "<Postmaster@Example.NET>"}}, []string{"ALLOW_RCPT"}},
		{"recipient subdomain", Message{Recipients: []string{"x@eu.abuse.example.net"}}, []string{"ALLOW_RCPT"}},
		{"client v4 network", Message{Client: netip.MustParseAddr("203.0.113.200")}, []string{"BLOCK_CLIENT"}},
		{"client v4-mapped v6", Message{Client: netip.MustParseAddr("::ffff:203.0.113.5")}, []string{"BLOCK_CLIENT"}},
		{"client v4 address", Message{Client: netip.MustParseAddr("198.51.100.7")}, []string{"BLOCK_CLIENT"}},
		{"client v4 neighbour", Message{Client: netip.MustParseAddr("198.51.100.8")}, nil},
		{"client v6 network", Message{Client: netip.MustParseAddr("2001:db8:bad:1::25")}, []string{"BLOCK_CLIENT"}},
		{"client v6 outside", Message{Client: netip.MustParseAddr("2001:db8:bae::25")}, nil},
		{"several lists at once", Message{Sender: "boss@partner.example", Client: netip.MustParseAddr("203.0.113.9")},
			[]string{"ALLOW_SENDER", "BLOCK_CLIENT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := l.Check(&tt.m, nil)
			if !slices.Equal(symbols(got), tt.want) {
				t.Fatalf("hits %v, want %v", got, tt.want)
			}
			for _, h := range got {
				if h.Detail == "" || h.Score == 0 {
					t.Errorf("hit %+v lacks a detail or a score", h)
				}
			}
		})
	}
}

// TestNoTrustedIDs: without a trusted authserv-id the header From never
// counts for an allow list, whatever the message claims.
func TestNoTrustedIDs(t *testing.T) {
	l := newLists(t, Options{Lists: []List{{Name: "a", Kind: Sender, Symbol: "A", Score: -20, Entries: []string{"bank.example"}}}})
	m := Message{Header: header("From: clerk@bank.example", "Authentication-Results: mx.example.net; dkim=pass header.d=bank.example; dmarc=pass")}
	if got := l.Check(&m, nil); len(got) != 0 {
		t.Fatalf("hits %v without a trusted authserv-id", got)
	}
}

func TestParseEntry(t *testing.T) {
	tests := []struct {
		kind Kind
		in   string
		ok   bool
	}{
		{Sender, "a@b.example", true},
		{Sender, "@b.example", true},
		{Sender, "b.example", true},
		{Sender, "localhost", true},
		{Sender, "a@b@c", false},
		{Sender, "@", false},
		{Sender, "a@", false},
		{Sender, "b..example", false},
		{Sender, "has space.example", false},
		{Sender, strings.Repeat("a", 400) + ".example", false},
		{Recipient, "postmaster@example.net", true},
		{Client, "10.0.0.0/8", true},
		{Client, "2001:db8::/32", true},
		{Client, "192.0.2.1", true},
		{Client, "example.com", false},
		{Client, "10.0.0.0/33", false},
	}
	for _, tt := range tests {
		if err := ParseEntry(tt.kind, tt.in); (err == nil) != tt.ok {
			t.Errorf("ParseEntry(%v, %q) = %v, want ok=%v", tt.kind, tt.in, err, tt.ok)
		}
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	// Write and rename, as an admin's editor or a deploy script does, so
	// that a reader never sees half a file.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestFileReload: a list file's entries count with the configured ones;
// a change on disk takes effect at Reload; a bad line is skipped, not
// the file; a file over the size bound is refused and the entries stay; a
// removed file empties the file's part of the list.
func TestFileReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "allow")
	writeFile(t, path, "# senders we trust\nfriend@a.example   # since 2026\n\n@b.example\n")
	l := newLists(t, Options{Lists: []List{{Name: "allow", Kind: Sender, Symbol: "ALLOW_SENDER", Score: -20,
		Entries: []string{"configured@c.example"}, File: path}}})
	check := func(sender string, want bool) {
		t.Helper()
		got := len(l.Check(&Message{Sender: sender}, nil)) == 1
		if got != want {
			t.Errorf("%s listed = %v, want %v", sender, got, want)
		}
	}
	check("friend@a.example", true)
	check("x@b.example", true)
	check("configured@c.example", true)
	check("other@a.example", false)

	if l.Reload() {
		t.Error("Reload of an unchanged file reported a change")
	}
	writeFile(t, path, "other@a.example\nnot an entry\n")
	if !l.Reload() {
		t.Fatal("Reload did not see the new file")
	}
	check("friend@a.example", false)
	check("other@a.example", true)
	check("configured@c.example", true)

	writeFile(t, path, strings.Repeat("x", MaxFileBytes+1))
	l.Reload()
	check("other@a.example", true) // the refused file left the entries

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	l.Reload()
	check("other@a.example", false)
	check("configured@c.example", true)
}

// TestRunWatches: with Run going, a list file replaced on disk is read
// without a call to Reload (inotify; this waits for the event, bounded).
func TestRunWatches(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "block")
	l := newLists(t, Options{Lists: []List{{Name: "block", Kind: Client, Symbol: "BLOCK_CLIENT", Score: 20, File: path}}})
	ready := make(chan struct{})
	reloaded := make(chan struct{}, 1)
	var once sync.Once
	l.ready = func() { once.Do(func() { close(ready) }) }
	l.reloaded = func() {
		select {
		case reloaded <- struct{}{}:
		default:
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx, time.Millisecond) }()
	defer func() { cancel(); <-done }()
	<-ready
	writeFile(t, path, "192.0.2.0/24\n")
	select {
	case <-reloaded:
	case <-time.After(time.Minute): // a deadline on the wait, not a timing
		t.Fatal("the list file's change was not picked up")
	}
	if got := l.Check(&Message{Client: netip.MustParseAddr("192.0.2.9")}, nil); len(got) != 1 {
		t.Fatalf("hits %v after the file changed", got)
	}

	// Reconfigured (SIGHUP) with a file in another directory: Run
	// watches that one now.
	other := filepath.Join(t.TempDir(), "block2")
	if err := l.Configure(Options{Lists: []List{{Name: "block", Kind: Client, Symbol: "BLOCK_CLIENT", Score: 20, File: other}}}); err != nil {
		t.Fatal(err)
	}
	if got := l.Check(&Message{Client: netip.MustParseAddr("192.0.2.9")}, nil); len(got) != 0 {
		t.Fatalf("hits %v after the reconfiguration to a missing file", got)
	}
	for range 2 { // until a reload after the new watch sees the file
		writeFile(t, other, "198.51.100.0/24\n")
		select {
		case <-reloaded:
		case <-time.After(time.Minute):
			t.Fatal("the new list file was not picked up")
		}
		if len(l.Check(&Message{Client: netip.MustParseAddr("198.51.100.1")}, nil)) == 1 {
			return
		}
	}
	t.Fatal("the new list file's entry does not match")
}

// BenchmarkCheck: one message against a sender list of 10,000 domains,
// a client list of 1,000 networks and a header From that needs the
// alignment check.
func BenchmarkCheck(b *testing.B) {
	dir := b.TempDir()
	var senders, nets strings.Builder
	for i := range 10000 {
		fmt.Fprintf(&senders, "d%d.example\n", i)
	}
	for i := range 1000 {
		fmt.Fprintf(&nets, "10.%d.%d.0/24\n", i/256, i%256)
	}
	sf, nf := filepath.Join(dir, "senders"), filepath.Join(dir, "nets")
	if err := os.WriteFile(sf, []byte(senders.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(nf, []byte(nets.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	l, err := New(Options{TrustedAuthservIDs: []string{"mx.example.net"}, Lists: []List{
		{Name: "allow", Kind: Sender, Symbol: "ALLOW_SENDER", Score: -20, File: sf},
		{Name: "block", Kind: Client, Symbol: "BLOCK_CLIENT", Score: 20, File: nf},
	}})
	if err != nil {
		b.Fatal(err)
	}
	m := &Message{Sender: "a@mail.other.example", Recipients: []string{"x@y.example"}, Client: netip.MustParseAddr("192.0.2.1"),
		Header: header("From: A <a@sub.d9999.example>", "Authentication-Results: mx.example.net; dkim=pass header.d=d9999.example")}
	var hits []Hit
	for b.Loop() {
		hits = l.Check(m, hits[:0])
	}
	if len(hits) != 1 {
		b.Fatalf("hits %v", hits)
	}
}
