package lists

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/sluicemail/sluice/filewatch"
	"github.com/sluicemail/sluice/rules"
	"github.com/sluicemail/sluice/tokenizer"
)

// MaxFileBytes bounds a list file: a larger one is refused (the list
// keeps its previous entries) before it is read.
const MaxFileBytes = 16 << 20

// List is one configured list.
type List struct {
	Name    string
	Kind    Kind
	Symbol  string  // the symbol a hit gives
	Score   float64 // negative: an allow list; positive: a block list
	Entries []string
	File    string // a list file ("" none), one entry a line
}

// Options configure Lists.
type Options struct {
	Lists []List
	// TrustedAuthservIDs are the authserv-ids whose
	// Authentication-Results are believed (the rules' [rules]
	// trusted_authserv_ids): an allow list's header From match needs
	// their alignment.
	TrustedAuthservIDs []string
	Logger             *slog.Logger
}

// Message is what the lists look at: the envelope as the MTA gave it and
// the top-level header as the tokenizer parsed it.
type Message struct {
	Sender     string   // envelope MAIL FROM ("<>" or "" for bounces)
	Recipients []string // envelope RCPT TO
	Client     netip.Addr
	Header     *tokenizer.HeaderFields // nil: no header facts
}

// Hit is one list that matched: its symbol, score and what matched.
type Hit struct {
	List   string
	Symbol string
	Score  float64
	Detail string
}

// Lists is the configured lists with their files' current entries. It is
// safe for concurrent use: Check reads a snapshot that Reload and
// Configure replace atomically.
type Lists struct {
	log *slog.Logger
	cur atomic.Pointer[state]

	mu    sync.Mutex // Reload and Configure
	seen  map[string]fileID
	files map[string][]entry // by list name, the file's last good entries
	opts  Options
	// reconf wakes Run when Configure changed the files to watch.
	reconf chan struct{}
	ready  func() // tests: called when Run's watches are in place
	// reloaded (tests) is called after a Reload that changed the lists.
	reloaded func()
}

type fileID struct {
	mod  time.Time
	size int64
	ino  uint64
}

// state is one immutable snapshot of every list.
type state struct {
	lists   []compiled
	trusted []string
}

type compiled struct {
	List
	addrs   map[string]string // address → entry as written
	domains map[string]string // domain → entry as written
	// nets are the networks by masked prefix, bits the prefix lengths
	// present (v4 and v6 apart), longest first: a client is looked up
	// once per length, not compared with every network.
	nets  map[netip.Prefix]bool
	bits4 []int
	bits6 []int
}

// New returns the lists of opts with their files loaded. A file that is
// missing is an empty list for now (logged); an entry of the
// configuration that is not valid is an error (config.Parse checks them
// first).
func New(opts Options) (*Lists, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	l := &Lists{log: opts.Logger, reconf: make(chan struct{}, 1)}
	if err := l.Configure(opts); err != nil {
		return nil, err
	}
	return l, nil
}

// Configure replaces the lists (SIGHUP) and loads their files; on error
// the running lists stay.
func (l *Lists) Configure(opts Options) error {
	for _, def := range opts.Lists {
		for _, e := range def.Entries {
			if _, err := parseEntry(def.Kind, e); err != nil {
				return fmt.Errorf("lists: %s: %w", def.Name, err)
			}
		}
	}
	if opts.Logger == nil {
		opts.Logger = l.log
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.opts = opts
	l.log = opts.Logger
	l.seen = make(map[string]fileID)
	l.files = make(map[string][]entry)
	l.reloadLocked()
	l.publishLocked()
	select {
	case l.reconf <- struct{}{}:
	default:
	}
	return nil
}

// Reload reads the list files that changed since they were last read
// and reports whether any did.
func (l *Lists) Reload() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.reloadLocked() {
		return false
	}
	l.publishLocked()
	if l.reloaded != nil {
		l.reloaded()
	}
	return true
}

func (l *Lists) reloadLocked() bool {
	changed := false
	for _, def := range l.opts.Lists {
		if def.File == "" {
			continue
		}
		st, err := os.Stat(def.File)
		if errors.Is(err, fs.ErrNotExist) {
			if _, ok := l.seen[def.File]; ok || l.files[def.Name] == nil {
				l.log.Warn("list file missing: the list has only its configured entries", "list", def.Name, "file", def.File)
			}
			delete(l.seen, def.File)
			changed = changed || len(l.files[def.Name]) > 0
			l.files[def.Name] = []entry{}
			continue
		}
		if err != nil {
			l.log.Error("list file not read: the list keeps its entries", "list", def.Name, "file", def.File, "err", err)
			continue
		}
		id := fileID{mod: st.ModTime(), size: st.Size(), ino: inode(st)}
		if old, ok := l.seen[def.File]; ok && old == id {
			continue
		}
		l.seen[def.File] = id
		entries, bad, err := readFile(def.File, def.Kind)
		if err != nil {
			l.log.Error("list file refused: the list keeps its entries", "list", def.Name, "file", def.File, "err", err)
			continue
		}
		for _, b := range bad {
			l.log.Warn("list file line skipped", "list", def.Name, "file", def.File, "line", b)
		}
		l.files[def.Name] = entries
		changed = true
		l.log.Info("list file loaded", "list", def.Name, "file", def.File, "entries", len(entries), "skipped", len(bad))
	}
	return changed
}

// publishLocked compiles the lists with their files' entries and puts
// them in service.
func (l *Lists) publishLocked() {
	st := &state{}
	for _, id := range l.opts.TrustedAuthservIDs {
		if id = strings.ToLower(strings.TrimSpace(id)); id != "" {
			st.trusted = append(st.trusted, id)
		}
	}
	for _, def := range l.opts.Lists {
		c := compiled{List: def, addrs: map[string]string{}, domains: map[string]string{}, nets: map[netip.Prefix]bool{}}
		for _, s := range def.Entries {
			e, _ := parseEntry(def.Kind, s) // checked by Configure
			c.add(e, strings.TrimSpace(s))
		}
		for _, e := range l.files[def.Name] {
			c.add(e, e.String())
		}
		st.lists = append(st.lists, c)
	}
	l.cur.Store(st)
}

func (c *compiled) add(e entry, written string) {
	switch {
	case e.addr != "":
		c.addrs[e.addr] = written
	case e.domain != "":
		c.domains[e.domain] = written
	case e.net.IsValid():
		if c.nets[e.net] {
			return
		}
		c.nets[e.net] = true
		bits := &c.bits6
		if e.net.Addr().Is4() {
			bits = &c.bits4
		}
		if !slices.Contains(*bits, e.net.Bits()) {
			*bits = append(*bits, e.net.Bits())
			slices.Sort(*bits)
			slices.Reverse(*bits)
		}
	}
}

// matchClient returns the network of c that holds a ("" none).
func (c *compiled) matchClient(a netip.Addr) (netip.Prefix, bool) {
	bits := c.bits6
	if a.Is4() {
		bits = c.bits4
	}
	for _, n := range bits {
		if p, err := a.Prefix(n); err == nil && c.nets[p] {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

func (e entry) String() string {
	switch {
	case e.addr != "":
		return e.addr
	case e.domain != "":
		return e.domain
	}
	return e.net.String()
}

// readFile reads a list file: one entry a line, # to the end of the line
// a comment. Lines that are not entries are returned in bad (at most 10).
func readFile(path string, k Kind) (entries []entry, bad []string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, nil, err
	}
	if len(data) > MaxFileBytes {
		return nil, nil, fmt.Errorf("larger than %d MiB", MaxFileBytes>>20)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), MaxFileBytes)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		e, err := parseEntry(k, line)
		if err != nil {
			if len(bad) < 10 {
				bad = append(bad, fmt.Sprintf("%d: %v", n, err))
			}
			continue
		}
		entries = append(entries, e)
	}
	if entries == nil {
		entries = []entry{}
	}
	return entries, bad, sc.Err()
}

func inode(st os.FileInfo) uint64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return uint64(s.Ino)
	}
	return 0
}

// Run reloads the list files when they change until ctx is done: with
// inotify on their directories, or by polling every poll (a second when
// 0) where inotify is unavailable. The caller owns the goroutine; Run
// returns when ctx is done.
func (l *Lists) Run(ctx context.Context, poll time.Duration) {
	if poll <= 0 {
		poll = time.Second
	}
	select { // the files of the lists as they are now are watched below
	case <-l.reconf:
	default:
	}
	for ctx.Err() == nil {
		l.mu.Lock()
		var paths []string
		for _, def := range l.opts.Lists {
			if def.File != "" {
				paths = append(paths, def.File)
			}
		}
		ready := l.ready
		l.mu.Unlock()
		wctx, cancel := context.WithCancel(ctx)
		stop := make(chan struct{})
		go func() { // ends with this round of the loop
			select {
			case <-l.reconf:
				cancel()
			case <-stop:
			}
		}()
		var err error
		if len(paths) > 0 {
			err = filewatch.Watch(wctx, paths, func() { l.Reload() }, ready)
		} else {
			if ready != nil {
				ready()
			}
			<-wctx.Done()
		}
		if err != nil && wctx.Err() == nil {
			l.log.Warn("inotify unavailable, polling the list files", "err", err)
			t := time.NewTicker(poll)
		polling:
			for {
				select {
				case <-wctx.Done():
					break polling
				case <-t.C:
					l.Reload()
				}
			}
			t.Stop()
		}
		close(stop)
		cancel()
	}
}

// Check matches m against every list and appends one hit per list that
// matched.
func (l *Lists) Check(m *Message, dst []Hit) []Hit {
	st := l.cur.Load()
	if st == nil || len(st.lists) == 0 {
		return dst
	}
	var from, fromAligned string
	var auth *rules.AuthResults
	if m.Header != nil {
		from = rules.FromAddress(m.Header.Get("From"))
	}
	sender := normalize(m.Sender)
	for i := range st.lists {
		c := &st.lists[i]
		var detail string
		switch c.Kind {
		case Sender:
			if what, ok := c.matchAddr(sender); ok && sender != "" {
				detail = "MAIL FROM " + sender + " (" + what + ")"
				break
			}
			what, ok := c.matchAddr(from)
			if !ok || from == "" {
				break
			}
			if c.Score >= 0 {
				detail = "From " + from + " (" + what + ")"
				break
			}
			if auth == nil {
				a := rules.TrustedAuthResults(m.Header, st.trusted)
				auth = &a
				fromAligned = aligned(domainOf(from), auth)
			}
			if fromAligned != "" {
				detail = "From " + from + " (" + what + ", " + fromAligned + ")"
			}
		case Recipient:
			for _, r := range m.Recipients {
				r = normalize(r)
				if what, ok := c.matchAddr(r); ok {
					detail = "RCPT TO " + r + " (" + what + ")"
					break
				}
			}
		case Client:
			if a := m.Client.Unmap(); a.IsValid() {
				if p, ok := c.matchClient(a); ok {
					detail = "client " + a.String() + " (" + p.String() + ")"
				}
			}
		}
		if detail != "" {
			dst = append(dst, Hit{List: c.Name, Symbol: c.Symbol, Score: c.Score, Detail: detail})
		}
	}
	return dst
}

// matchAddr reports whether the normalized address matches an address
// entry or a domain entry (the domain or a parent), and which.
func (c *compiled) matchAddr(addr string) (string, bool) {
	if addr == "" {
		return "", false
	}
	if w, ok := c.addrs[addr]; ok {
		return w, true
	}
	d := domainOf(addr)
	for d != "" {
		if w, ok := c.domains[d]; ok {
			return w, true
		}
		_, d, _ = strings.Cut(d, ".")
	}
	return "", false
}

// aligned says how the trusted authentication results align with the
// From domain in DMARC's relaxed sense ("" when they do not).
func aligned(fromDomain string, a *rules.AuthResults) string {
	if fromDomain == "" {
		return ""
	}
	org := orgDomain(fromDomain)
	switch {
	case a.DMARC == "pass" && (a.DMARCFrom == "" || orgDomain(a.DMARCFrom) == org):
		return "dmarc=pass"
	case a.SPF == "pass" && a.SPFDomain != "" && orgDomain(a.SPFDomain) == org:
		return "spf=pass " + a.SPFDomain
	}
	for _, d := range a.DKIMPass {
		if orgDomain(d) == org {
			return "dkim=pass " + d
		}
	}
	return ""
}

// orgDomain is a domain's organisational domain: public suffix + 1 (the
// domain itself when it has none).
func orgDomain(d string) string {
	if o, err := publicsuffix.EffectiveTLDPlusOne(d); err == nil {
		return o
	}
	return d
}
