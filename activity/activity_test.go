package activity

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a time the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 12, 5, 10, 30, 15, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func digest(i int) [32]byte {
	var d [32]byte
	copy(d[:], fmt.Sprintf("message-%d", i))
	return d
}

func TestMatch(t *testing.T) {
	tests := []struct {
		name            string
		action          string // the arrival verdict ("": none)
		learns          []Learn
		want            []string // Match.Result of each learn
		fp, fn, confirm uint64
	}{
		{"ham after add header is a false positive", "add header",
			[]Learn{{Source: "dovecot", Label: "ham", Outcome: "learned"}}, []string{KindFP}, 1, 0, 0},
		{"ham after greylist is a false positive", "greylist",
			[]Learn{{Source: "cli", Label: "ham", Outcome: "relearned"}}, []string{KindFP}, 1, 0, 0},
		{"ham after reject, metrics spelling", "reject",
			[]Learn{{Source: "http", Label: "ham", Outcome: "already_learned"}}, []string{KindFP}, 1, 0, 0},
		{"spam after no action is a false negative", "no action",
			[]Learn{{Source: "dovecot", Label: "spam", Outcome: "learned"}}, []string{KindFN}, 0, 1, 0},
		{"no_action spelling too", "no_action",
			[]Learn{{Source: "spool", Label: "spam", Outcome: "learned"}}, []string{KindFN}, 0, 1, 0},
		{"spam after rewrite subject confirms", "rewrite subject",
			[]Learn{{Source: "dovecot", Label: "spam", Outcome: "learned"}}, []string{KindConfirmed}, 0, 0, 1},
		{"ham after no action confirms", "no action",
			[]Learn{{Source: "dovecot", Label: "ham", Outcome: "learned"}}, []string{KindConfirmed}, 0, 0, 1},
		{"moved twice counts once", "no action",
			[]Learn{{Source: "dovecot", Label: "spam", Outcome: "learned"}, {Source: "dovecot", User: "other", Label: "spam", Outcome: "already_learned"}},
			[]string{KindFN, KindRepeated}, 0, 1, 0},
		{"both classes by two users count once each", "add header",
			[]Learn{{Source: "dovecot", Label: "ham", Outcome: "learned"}, {Source: "dovecot", Label: "spam", Outcome: "relearned"}},
			[]string{KindFP, KindConfirmed}, 1, 0, 1},
		{"autolearn is not a user", "no action",
			[]Learn{{Source: "autolearn", Label: "spam", Outcome: "learned"}}, []string{""}, 0, 0, 0},
		{"forget matches nothing", "add header",
			[]Learn{{Source: "dovecot", Label: "forget", Outcome: "forgotten"}}, []string{""}, 0, 0, 0},
		{"a failed learn matches nothing", "add header",
			[]Learn{{Source: "dovecot", Label: "ham", Outcome: "error"}, {Source: "dovecot", Label: "ham", Outcome: "not_message"}},
			[]string{"", ""}, 0, 0, 0},
		{"no verdict kept", "",
			[]Learn{{Source: "dovecot", Label: "ham", Outcome: "learned"}}, []string{KindUnmatched}, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			l := New(Options{Clock: c.Now})
			l.RecordScan(Scan{Action: "no action", Digest: digest(99)}) // another message
			id := uint64(0)
			if tt.action != "" {
				id = l.RecordScan(Scan{Action: tt.action, Profile: "p", QueueID: "Q1", Digest: digest(1),
					Symbols: []Symbol{{"BAYES_SPAM", 5}}})
			}
			c.Add(time.Hour)
			for i, x := range tt.learns {
				x.Digest = digest(1)
				m := l.RecordLearnMatch(x)
				if m.Result != tt.want[i] {
					t.Errorf("learn %d: result %q, want %q", i, m.Result, tt.want[i])
				}
				if m.Result != "" && m.Result != KindUnmatched && m.Verdict.ID != id {
					t.Errorf("learn %d: verdict %d, want %d", i, m.Verdict.ID, id)
				}
			}
			var got Day
			for _, d := range l.Accuracy() {
				if d.Profile == "p" {
					got = d
				}
			}
			if got.FP != tt.fp || got.FN != tt.fn || got.Confirmed != tt.confirm || got.Corrections != tt.fp+tt.fn {
				t.Fatalf("row %+v, want fp %d fn %d confirmed %d", got, tt.fp, tt.fn, tt.confirm)
			}
			if tt.action != "" && (got.Scanned != 1 || got.FPRate != float64(tt.fp) || got.FNRate != float64(tt.fn)) {
				t.Fatalf("row %+v: want 1 scanned and rates of it", got)
			}
			cs := l.Corrections(got.Day, "p")
			if uint64(len(cs)) != tt.fp+tt.fn {
				t.Fatalf("%d corrections listed, want %d", len(cs), tt.fp+tt.fn)
			}
			for _, c := range cs {
				if c.Verdict.ID != id || c.Verdict.QueueID != "Q1" || len(c.Verdict.Symbols) != 1 || c.Learn.Digest != digest(1) {
					t.Fatalf("correction %+v does not name its verdict", c)
				}
			}
		})
	}
}

// TestCorrectionCountsOnArrivalDay: a verdict of one day corrected the
// next counts on the verdict's day and profile.
func TestCorrectionCountsOnArrivalDay(t *testing.T) {
	c := newClock()
	l := New(Options{Clock: c.Now})
	l.RecordScan(Scan{Action: "no action", Profile: "strict", Digest: digest(1)})
	c.Add(24 * time.Hour)
	l.RecordScan(Scan{Action: "no action", Digest: digest(2)})
	l.RecordLearn(Learn{Source: "dovecot", Label: "spam", Outcome: "learned", Digest: digest(1)})
	got := l.Accuracy()
	want := []Day{
		{Day: "2026-12-06", Profile: "", Scanned: 1},
		{Day: "2026-12-05", Profile: "strict", Scanned: 1, Corrections: 1, FN: 1, FNRate: 1},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("accuracy %+v, want %+v", got, want)
	}
	if cs := l.Corrections("2026-12-05", "strict"); len(cs) != 1 || cs[0].Kind != KindFN {
		t.Fatalf("corrections %+v", cs)
	}
	if cs := l.Corrections("2026-12-06", ""); len(cs) != 0 {
		t.Fatalf("corrections of the learn's day %+v, want none", cs)
	}
}

func TestLedgerBound(t *testing.T) {
	tests := []struct {
		name      string
		scans     []int // digests, in arrival order
		matched   []int // learned afterwards as spam (verdicts were no action)
		unmatched []int
	}{
		{"oldest dropped", []int{1, 2, 3, 4, 5}, []int{3, 4, 5}, []int{1, 2}},
		{"a re-arrival keeps its verdict", []int{1, 2, 3, 1, 4}, []int{1, 3, 4}, []int{2}},
		{"repeats of one digest take one entry", []int{1, 1, 1, 1, 2, 3}, []int{1, 2, 3}, nil},
		{"many repeats then new ones", []int{1, 2, 2, 2, 2, 2, 3, 4}, []int{2, 3, 4}, []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := New(Options{MaxLedger: 3, Clock: newClock().Now})
			for _, i := range tt.scans {
				l.RecordScan(Scan{Action: "no action", Digest: digest(i)})
			}
			if n := len(l.ledger); n > 3 {
				t.Fatalf("ledger holds %d verdicts, bound 3", n)
			}
			for _, i := range tt.matched {
				if m := l.RecordLearnMatch(Learn{Source: "cli", Label: "spam", Outcome: "learned", Digest: digest(i)}); m.Result != KindFN {
					t.Errorf("digest %d: %q, want fn", i, m.Result)
				}
			}
			for _, i := range tt.unmatched {
				if m := l.RecordLearnMatch(Learn{Source: "cli", Label: "spam", Outcome: "learned", Digest: digest(i)}); m.Result != KindUnmatched {
					t.Errorf("digest %d: %q, want unmatched", i, m.Result)
				}
			}
		})
	}
}

func TestHistory(t *testing.T) {
	c := newClock()
	l := New(Options{History: 4, Clock: c.Now})
	scans := []Scan{
		{QueueID: "A1", Client: "192.0.2.1", Sender: "alice@example.org", Action: "no action", Frontend: "milter"},
		{QueueID: "B2", User: "bob@example.net", Action: "add header", Symbols: []Symbol{{"BAYES_SPAM", 5.1}}},
		{QueueID: "C3", Profile: "strict", Action: "reject", Symbols: []Symbol{{"RULE_X", 8}}},
		{QueueID: "D4", Sender: "Dave@Example.COM", Action: "add header"},
		{QueueID: "E5", Action: "no action"},
		{QueueID: "F6", Action: "greylist", Symbols: []Symbol{{"BAYES_SPAM", 3}}},
	}
	for i, s := range scans {
		if id := l.RecordScan(s); id != uint64(i+1) {
			t.Fatalf("scan %d got ID %d", i, id)
		}
	}
	tests := []struct {
		name string
		f    Filter
		want string // queue ids, newest first
	}{
		{"all kept, newest first", Filter{}, "F6 E5 D4 C3"},
		{"limit", Filter{Limit: 2}, "F6 E5"},
		{"limit over the cap", Filter{Limit: 100}, "F6 E5 D4 C3"},
		{"action", Filter{Action: "add header"}, "D4"},
		{"action as the metrics spell it", Filter{Action: "no_action"}, "E5"},
		{"symbol name, any case", Filter{Text: "bayes"}, "F6"},
		{"sender, any case", Filter{Text: "dave@example"}, "D4"},
		{"profile", Filter{Text: "strict"}, "C3"},
		{"dropped from the ring", Filter{Text: "bob"}, ""},
		{"text and action", Filter{Text: "x", Action: "reject"}, "C3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ids []string
			for _, s := range l.History(tt.f) {
				ids = append(ids, s.QueueID)
			}
			if got := strings.Join(ids, " "); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		id   uint64
		want string
	}{{0, ""}, {1, ""}, {2, ""}, {3, "C3"}, {6, "F6"}, {7, ""}} {
		s, ok := l.Scan(tt.id)
		if ok != (tt.want != "") || s.QueueID != tt.want || (ok && s.ID != tt.id) {
			t.Errorf("Scan(%d) = %q %v, want %q", tt.id, s.QueueID, ok, tt.want)
		}
	}
	// A caller's copy does not change the record.
	s, _ := l.Scan(6)
	s.Symbols[0].Name = "CHANGED"
	if s, _ := l.Scan(6); s.Symbols[0].Name != "BAYES_SPAM" {
		t.Fatal("Scan returned the kept symbols, not a copy")
	}
	if s.Time != c.Now() {
		t.Fatalf("time %v, want the clock's %v", s.Time, c.Now())
	}
}

func TestHostileScanIsBounded(t *testing.T) {
	l := New(Options{Clock: newClock().Now})
	long := strings.Repeat("x", 10000)
	syms := make([]Symbol, 1000)
	for i := range syms {
		syms[i] = Symbol{Name: long}
	}
	id := l.RecordScan(Scan{QueueID: long, Client: long, Sender: long, User: long, Profile: long, Action: long, Frontend: long, Symbols: syms})
	s, _ := l.Scan(id)
	if len(s.QueueID) != MaxString || len(s.Sender) != MaxString || len(s.Action) != MaxString || len(s.Symbols) != MaxSymbols || len(s.Symbols[0].Name) != MaxString {
		t.Fatalf("kept %d, %d, %d bytes and %d symbols", len(s.QueueID), len(s.Sender), len(s.Action), len(s.Symbols))
	}
}

func TestThroughput(t *testing.T) {
	c := newClock()
	l := New(Options{Window: 10 * time.Minute, Clock: c.Now})
	l.RecordScan(Scan{Action: "no action", Frontend: "milter"})
	c.Add(time.Minute)
	l.RecordScan(Scan{Action: "reject", Frontend: "spamd"})
	l.RecordScan(Scan{Action: "reject", Frontend: "milter"})
	l.RecordLearn(Learn{Source: "dovecot", Label: "spam", Outcome: "learned"})
	c.Add(3 * time.Minute)
	l.RecordLearn(Learn{Source: "autolearn", Label: "ham", Outcome: "learned"})

	ms := l.Throughput()
	if len(ms) != 10 {
		t.Fatalf("%d minutes, want 10", len(ms))
	}
	now := c.Now().Truncate(time.Minute)
	for i, m := range ms {
		if want := now.Add(time.Duration(i-9) * time.Minute); !m.Start.Equal(want) {
			t.Fatalf("minute %d starts %v, want %v", i, m.Start, want)
		}
	}
	got := func(i int) string { return fmt.Sprint(ms[i].ByAction, ms[i].ByFrontend, ms[i].BySource) }
	want := map[int]string{
		5: "map[no action:1] map[milter:1] map[]",
		6: "map[reject:2] map[milter:1 spamd:1] map[dovecot:1]",
		9: "map[] map[] map[autolearn:1]",
	}
	for i := range ms {
		w, ok := want[i]
		if !ok {
			w = "map[] map[] map[]"
		}
		if got(i) != w {
			t.Errorf("minute %d: %s, want %s", i, got(i), w)
		}
	}
	// Past the window the minutes are gone; a slot reused is reset.
	c.Add(6 * time.Minute)
	l.RecordScan(Scan{Action: "greylist", Frontend: "milter"}) // in the slot of 10:30's
	ms = l.Throughput()
	want = map[int]string{
		0: "map[reject:2] map[milter:1 spamd:1] map[dovecot:1]",
		3: "map[] map[] map[autolearn:1]",
		9: "map[greylist:1] map[milter:1] map[]",
	}
	for i := range ms {
		w, ok := want[i]
		if !ok {
			w = "map[] map[] map[]"
		}
		if got(i) != w {
			t.Errorf("6 minutes later, minute %d: %s, want %s", i, got(i), w)
		}
	}
}

func TestThroughputNamesBounded(t *testing.T) {
	l := New(Options{Window: time.Minute, Clock: newClock().Now})
	for i := range MaxNames + 10 {
		l.RecordScan(Scan{Action: fmt.Sprint("action-", i), Frontend: "milter"})
	}
	m := l.Throughput()[0]
	if len(m.ByAction) != MaxNames+1 || m.ByAction[Other] != 10 || m.ByFrontend["milter"] != MaxNames+10 {
		t.Fatalf("%d actions, other %d, milter %d", len(m.ByAction), m.ByAction[Other], m.ByFrontend["milter"])
	}
}

func TestDaysBounded(t *testing.T) {
	c := newClock()
	l := New(Options{Days: 3, MaxProfiles: 2, MaxCorrections: 2, Clock: c.Now})
	for day := range 5 {
		for p := range 4 {
			l.RecordScan(Scan{Action: "no action", Profile: fmt.Sprint("p", p), Digest: digest(10*day + p)})
		}
		c.Add(24 * time.Hour)
	}
	c.Add(-24 * time.Hour)
	var rows []string
	for _, d := range l.Accuracy() {
		rows = append(rows, fmt.Sprintf("%s/%s/%d", d.Day, d.Profile, d.Scanned))
	}
	want := "2026-12-09/(other)/2 2026-12-09/p0/1 2026-12-09/p1/1 " +
		"2026-12-08/(other)/2 2026-12-08/p0/1 2026-12-08/p1/1 " +
		"2026-12-07/(other)/2 2026-12-07/p0/1 2026-12-07/p1/1"
	if got := strings.Join(rows, " "); got != want {
		t.Fatalf("rows\n%s\nwant\n%s", got, want)
	}
	// Three corrections on one row: two kept, the newest first.
	for p := range 4 {
		l.RecordLearn(Learn{Source: "dovecot", Label: "spam", Outcome: "learned", Digest: digest(40 + p), User: fmt.Sprint("u", p)})
	}
	cs := l.Corrections("2026-12-09", OtherProfile)
	if len(cs) != 2 || cs[0].Learn.User != "u3" || cs[1].Learn.User != "u2" {
		t.Fatalf("corrections %+v", cs)
	}
	// A correction of a day no longer kept is not counted.
	if m := l.RecordLearnMatch(Learn{Source: "dovecot", Label: "spam", Outcome: "learned", Digest: digest(0)}); m.Result != KindFN {
		t.Fatalf("old verdict: %q", m.Result)
	}
	var fn uint64
	for _, d := range l.Accuracy() {
		fn += d.FN
	}
	if fn != 4 {
		t.Fatalf("%d false negatives counted, want 4", fn)
	}
	got := l.Accuracy()[0]
	if got.Profile != OtherProfile || got.FN != 2 || got.Corrections != 2 || got.FNRate != 1 {
		t.Fatalf("row %+v", got)
	}
}

// TestConcurrent runs writers and readers at once (go test -race).
func TestConcurrent(t *testing.T) {
	c := newClock()
	l := New(Options{History: 50, MaxLedger: 100, Window: 5 * time.Minute, Clock: c.Now})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 500 {
				d := digest(w*1000 + i%150)
				l.RecordScan(Scan{Action: []string{"no action", "add header"}[i%2], Profile: fmt.Sprint("p", i%3), Digest: d,
					Symbols: []Symbol{{"BAYES_SPAM", 1}}})
				l.RecordLearn(Learn{Source: "dovecot", Label: []string{"spam", "ham"}[i%2], Outcome: "learned", Digest: digest(w*1000 + (i+1)%150)})
				if i%100 == 0 {
					c.Add(time.Minute)
				}
			}
		})
	}
	wg.Go(func() {
		for range 200 {
			for _, s := range l.History(Filter{Text: "bayes", Limit: 10}) {
				l.Scan(s.ID)
			}
			l.Throughput()
			for _, d := range l.Accuracy() {
				l.Corrections(d.Day, d.Profile)
			}
		}
	})
	wg.Wait()
	var scanned uint64
	for _, d := range l.Accuracy() {
		scanned += d.Scanned
	}
	if scanned != 2000 || len(l.ledger) > 100 || len(l.hist) != 50 {
		t.Fatalf("scanned %d, ledger %d, history %d", scanned, len(l.ledger), len(l.hist))
	}
}

func BenchmarkRecordScan(b *testing.B) {
	l := New(Options{})
	s := Scan{Frontend: "milter", QueueID: "4QzW1x2y3", Client: "198.51.100.23", Sender: "sender@example.org",
		User: "rcpt@example.org", Action: "add header", Score: 8,
		Symbols: []Symbol{{"BAYES_SPAM", 5.1}, {"MISSING_MID", 0.5}, {"NEURAL_SPAM", 2.4}}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		s.Digest[0], s.Digest[1], s.Digest[2] = byte(i), byte(i>>8), byte(i>>16)
		l.RecordScan(s)
	}
}

// BenchmarkLedgerMemory fills a default ledger and reports the heap it
// takes per verdict (typical strings).
func BenchmarkLedgerMemory(b *testing.B) {
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		l := New(Options{History: 1})
		s := Scan{Frontend: "milter", QueueID: "4QzW1x2y3", Client: "198.51.100.23", Sender: "sender@example.org",
			User: "rcpt@example.org", Action: "add header", Score: 8}
		for i := range DefaultMaxLedger {
			s.Digest[0], s.Digest[1], s.Digest[2] = byte(i), byte(i>>8), byte(i>>16)
			l.RecordScan(s)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/DefaultMaxLedger, "bytes/verdict")
		runtime.KeepAlive(l)
	}
}
