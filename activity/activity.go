// Package activity keeps in memory what an admin looks at about recent
// work: per-minute counts of scans (by action and by front end) and of
// learns (by source) for the last 24 hours, the last scan records, and
// the ledger that matches each user's learn to the verdict its message got
// on arrival (by content digest), which tells false positives and false
// negatives as the users see them.
//
// The learner daemon owns one Log: every scan record it receives and
// every learn it answers go through it. The console draws its pages from
// it, the learner's metrics count its matches, and `sluice stat` prints
// its last days.
//
// Matching. A scan's verdict is kept in the ledger under its content
// digest (the learn cache's key); a later arrival of the same content
// replaces it. A learn from anything but autolearn whose outcome says the
// message was (or already is) learned as the user asked is matched to the
// verdict kept under its digest: learned ham after a verdict whose action
// is not "no action" (flagged, rewritten, greylisted, rejected) is a false
// positive; learned spam after "no action" is a false negative; a learn
// that agrees with the verdict is a confirmation. Each verdict is matched
// at most once per class, so a message moved to Junk twice, or by two
// users, counts once; a forget matches nothing. A correction counts on
// the day (UTC) and profile of the verdict, not of the learn, so that a
// day's rates are the share of that day's messages the users corrected.
// Days and minutes follow the Log's clock when a record is taken, not the
// time a sender wrote in it, which a skewed or hostile sender controls.
//
// Bounds. Every dimension is bounded by Options: History scan records
// (each with at most MaxSymbols symbols, strings cut at MaxString bytes),
// Window/time.Minute minutes of at most MaxNames names per dimension
// (further names count as "other"), MaxLedger verdicts (oldest dropped;
// 365 bytes each plus their strings' bytes, so the default 100,000 take
// about 45 MB with typical addresses, see BenchmarkLedgerMemory), Days days of at most MaxProfiles profiles (the
// rest count as "(other)") with at most MaxCorrections corrections each.
// Save and Load keep the whole state across a restart (the learner saves
// it in its data directory); without them a restart starts empty.
package activity

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// Symbol is one rule or statistic that spoke in a verdict.
type Symbol struct {
	Name  string
	Score float64
}

// Scan is one verdict as the console shows it.
type Scan struct {
	ID       uint64 // assigned by Record, increasing; links to the record
	Time     time.Time
	Frontend string // milter, spamd, rspamd, console, cli
	QueueID  string
	Client   string // client address
	Sender   string // envelope sender
	User     string
	Profile  string
	Score    float64
	Action   string // no action, add header, rewrite subject, reject, ...
	Symbols  []Symbol
	Digest   [32]byte
}

// Learn is one learn as the ledger sees it.
type Learn struct {
	Time    time.Time
	Source  string // dovecot, cli, http, spamd, autolearn, spool, console
	User    string
	Label   string // spam, ham, forget
	Outcome string // learned, relearned, already_learned, error, ...
	Digest  [32]byte
}

// Options configure a Log. Zero fields mean defaults.
type Options struct {
	History   int              // scan records kept (default 1000)
	Window    time.Duration    // throughput kept (default 24h, per minute)
	MaxLedger int              // arrival verdicts kept for matching (default 100000)
	Days      int              // accuracy days kept (default 30)
	Clock     func() time.Time // default time.Now
	// MaxProfiles bounds the profiles of one day (default 32); scans of
	// further profiles count under OtherProfile.
	MaxProfiles int
	// MaxCorrections bounds the corrections kept per day and profile
	// (default 500, the newest); the counts go on beyond it.
	MaxCorrections int
}

// Defaults and fixed bounds.
const (
	DefaultHistory        = 1000
	DefaultWindow         = 24 * time.Hour
	DefaultMaxLedger      = 100000
	DefaultDays           = 30
	DefaultMaxProfiles    = 32
	DefaultMaxCorrections = 500
	// MaxString bounds every string of a Scan or Learn kept.
	MaxString = 256
	// MaxSymbols bounds the symbols of a Scan kept (the first ones).
	MaxSymbols = 64
	// MaxNames bounds the distinct actions, front ends and learn sources
	// the throughput counts by name; more count as Other.
	MaxNames = 32
	// Other is the name further actions, front ends or sources count as.
	Other = "other"
	// OtherProfile is the profile further profiles of a day count as.
	OtherProfile = "(other)"
	// NoAction is the action of a verdict that did not mark the message.
	NoAction = "no action"
)

// The kinds of a correction, and the other results of matching a learn.
const (
	KindFP        = "fp"        // verdict spam, learned ham
	KindFN        = "fn"        // verdict not spam, learned spam
	KindConfirmed = "confirmed" // learned as the verdict said
	KindUnmatched = "unmatched" // no verdict kept for the digest
	KindRepeated  = "repeated"  // the verdict was already matched for this class
)

func (o *Options) withDefaults() {
	if o.History <= 0 {
		o.History = DefaultHistory
	}
	if o.Window < time.Minute {
		o.Window = DefaultWindow
	}
	if o.MaxLedger <= 0 {
		o.MaxLedger = DefaultMaxLedger
	}
	if o.Days <= 0 {
		o.Days = DefaultDays
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.MaxProfiles <= 0 {
		o.MaxProfiles = DefaultMaxProfiles
	}
	if o.MaxCorrections <= 0 {
		o.MaxCorrections = DefaultMaxCorrections
	}
}

// Log is safe for concurrent use.
type Log struct {
	opts Options
	mu   sync.Mutex

	// Throughput: a ring of minutes, slot = minute number mod len.
	minutes []minute
	names   [dims]nameTable

	// History: a ring of the last scans; the scan with ID id is at
	// hist[(id-1) % History] while nextID-id <= len(hist).
	hist   []Scan
	nextID uint64

	// Ledger: verdicts is a ring of arrivals (the oldest at head once it
	// holds MaxLedger), ledger the index of each digest's last one; an
	// arrival of a digest that came again since is dead.
	ledger   map[[32]byte]int32
	verdicts []verdict
	head     int
	seq      uint64

	days     map[dayKey]*dayRow
	profiles map[string]int // distinct profiles per day
	lastDay  string

	recorded uint64 // scans and learns recorded
}

// The throughput's dimensions.
const (
	byAction = iota
	byFrontend
	bySource
	dims
)

type minute struct {
	at     int64 // minutes since the epoch; 0: never used
	counts *[dims][MaxNames + 1]uint64
}

// nameTable interns the names a dimension counts by: at most MaxNames,
// then Other (index MaxNames).
type nameTable struct {
	idx  map[string]int
	list []string
}

func (t *nameTable) index(name string) int {
	if i, ok := t.idx[name]; ok {
		return i
	}
	if len(t.list) >= MaxNames {
		return MaxNames
	}
	if t.idx == nil {
		t.idx = make(map[string]int)
	}
	name = strings.Clone(name)
	t.idx[name] = len(t.list)
	t.list = append(t.list, name)
	return len(t.list) - 1
}

func (t *nameTable) name(i int) string {
	if i < len(t.list) {
		return t.list[i]
	}
	return Other
}

type verdict struct {
	scan    Scan // without symbols
	seq     uint64
	day     dayKey
	matched uint8 // matchedSpam | matchedHam
	live    bool  // the digest's last arrival
}

const (
	matchedSpam = 1 << iota
	matchedHam
)

type dayKey struct{ day, profile string }

type dayRow struct {
	Day
	corrections []Correction // ring of at most MaxCorrections
	next        int          // the oldest once the ring is full
}

// New returns an empty Log.
func New(opts Options) *Log {
	opts.withDefaults()
	return &Log{
		opts:     opts,
		minutes:  make([]minute, int(opts.Window/time.Minute)),
		nextID:   1,
		ledger:   make(map[[32]byte]int32),
		days:     make(map[dayKey]*dayRow),
		profiles: make(map[string]int),
	}
}

// clip bounds a kept string.
func clip(s string) string {
	if len(s) > MaxString {
		s = s[:MaxString]
	}
	return s
}

// normalize bounds a scan's strings and symbols, into a slice of its own.
func normalize(s *Scan) {
	s.Frontend, s.QueueID, s.Client, s.Sender = clip(s.Frontend), clip(s.QueueID), clip(s.Client), clip(s.Sender)
	s.User, s.Profile, s.Action = clip(s.User), clip(s.Profile), clip(s.Action)
	syms := s.Symbols[:min(len(s.Symbols), MaxSymbols)]
	s.Symbols = make([]Symbol, len(syms))
	for i, y := range syms {
		s.Symbols[i] = Symbol{Name: clip(y.Name), Score: y.Score}
	}
}

// RecordScan adds a verdict and returns its ID.
func (l *Log) RecordScan(s Scan) uint64 {
	now := l.opts.Clock()
	if s.Time.IsZero() {
		s.Time = now
	}
	normalize(&s)

	l.mu.Lock()
	defer l.mu.Unlock()
	l.recorded++
	s.ID = l.nextID
	l.nextID++
	if len(l.hist) < l.opts.History {
		l.hist = append(l.hist, s)
	} else {
		l.hist[(s.ID-1)%uint64(l.opts.History)] = s
	}

	if c := l.count(now); c != nil {
		c[byAction][l.names[byAction].index(s.Action)]++
		c[byFrontend][l.names[byFrontend].index(s.Frontend)]++
	}

	row := l.row(now, s.Profile)
	row.Scanned++

	s.Symbols = nil
	l.arrive(verdict{scan: s, day: dayKey{row.Day.Day, row.Profile}})
	return s.ID
}

// arrive puts a verdict in the ledger as its digest's last arrival. When
// the ring is full the oldest arrival makes room, and its digest leaves
// the ledger unless it arrived again since: the ledger never holds more
// than MaxLedger verdicts.
func (l *Log) arrive(v verdict) {
	d := v.scan.Digest
	if i, ok := l.ledger[d]; ok {
		l.verdicts[i].live = false
	}
	l.seq++
	v.seq, v.live = l.seq, true
	i := len(l.verdicts)
	if i < l.opts.MaxLedger {
		l.verdicts = append(l.verdicts, v)
	} else {
		i = l.head
		if old := &l.verdicts[i]; old.live {
			delete(l.ledger, old.scan.Digest)
		}
		l.verdicts[i] = v
		l.head = (l.head + 1) % len(l.verdicts)
	}
	l.ledger[d] = int32(i)
}

// count returns the counters of now's minute, reset if the slot held an
// older minute; nil for a minute older than the slot's (the clock went
// back more than the window).
func (l *Log) count(now time.Time) *[dims][MaxNames + 1]uint64 {
	at := now.Unix() / 60
	m := &l.minutes[at%int64(len(l.minutes))]
	switch {
	case m.at == at:
	case m.at > at:
		return nil
	default:
		m.at = at
		if m.counts == nil {
			m.counts = new([dims][MaxNames + 1]uint64)
		} else {
			*m.counts = [dims][MaxNames + 1]uint64{}
		}
	}
	return m.counts
}

// row returns the accuracy row of now's day and profile, making it (and
// forgetting days past Days) as needed.
func (l *Log) row(now time.Time, profile string) *dayRow {
	day := now.UTC().Format(time.DateOnly)
	if day != l.lastDay {
		l.lastDay = day
		l.prune(now)
	}
	k := dayKey{day, profile}
	if r, ok := l.days[k]; ok {
		return r
	}
	if l.profiles[day] >= l.opts.MaxProfiles {
		k.profile = OtherProfile
		if r, ok := l.days[k]; ok {
			return r
		}
	}
	l.profiles[day]++
	r := &dayRow{Day: Day{Day: k.day, Profile: k.profile}}
	l.days[k] = r
	return r
}

// prune forgets the days older than Days before now.
func (l *Log) prune(now time.Time) {
	oldest := now.UTC().AddDate(0, 0, 1-l.opts.Days).Format(time.DateOnly)
	for k := range l.days {
		if k.day < oldest {
			delete(l.days, k)
		}
	}
	for d := range l.profiles {
		if d < oldest {
			delete(l.profiles, d)
		}
	}
}

// RecordLearn adds a learn; a user's learn whose digest matches an arrival
// verdict of the other class is a correction (FP or FN).
func (l *Log) RecordLearn(x Learn) { l.RecordLearnMatch(x) }

// Match says how a learn matched the ledger.
type Match struct {
	// Result is KindFP, KindFN, KindConfirmed, KindUnmatched or
	// KindRepeated for a user's learn of spam or ham that was learned (or
	// already was); "" for others (autolearn, forget, errors).
	Result  string
	Verdict Scan // the verdict matched (no symbols), when there is one
}

// Correction reports whether the match is a false positive or negative.
func (m Match) Correction() bool { return m.Result == KindFP || m.Result == KindFN }

// RecordLearnMatch is RecordLearn, and says how the learn matched, for
// the learner's metrics.
func (l *Log) RecordLearnMatch(x Learn) Match {
	now := l.opts.Clock()
	if x.Time.IsZero() {
		x.Time = now
	}
	x.Source, x.User, x.Label, x.Outcome = clip(x.Source), clip(x.User), clip(x.Label), clip(x.Outcome)

	l.mu.Lock()
	defer l.mu.Unlock()
	l.recorded++
	if c := l.count(now); c != nil {
		c[bySource][l.names[bySource].index(x.Source)]++
	}
	var bit uint8
	switch x.Label {
	case "spam":
		bit = matchedSpam
	case "ham":
		bit = matchedHam
	default:
		return Match{}
	}
	switch x.Outcome {
	case "learned", "relearned", "already_learned":
	default:
		return Match{}
	}
	if x.Source == "autolearn" {
		return Match{}
	}
	i, ok := l.ledger[x.Digest]
	if !ok {
		return Match{Result: KindUnmatched}
	}
	v := &l.verdicts[i]
	m := Match{Verdict: v.scan}
	if v.matched&bit != 0 {
		m.Result = KindRepeated
		return m
	}
	v.matched |= bit
	flagged := v.scan.Action != NoAction && v.scan.Action != "no_action"
	switch {
	case bit == matchedHam && flagged:
		m.Result = KindFP
	case bit == matchedSpam && !flagged:
		m.Result = KindFN
	default:
		m.Result = KindConfirmed
	}
	row, ok := l.days[v.day]
	if !ok { // the verdict's day is past Days
		return m
	}
	switch m.Result {
	case KindFP:
		row.FP++
	case KindFN:
		row.FN++
	case KindConfirmed:
		row.Confirmed++
		return m
	}
	row.Corrections++
	c := Correction{Kind: m.Result, Learn: x, Verdict: v.scan}
	if len(row.corrections) < l.opts.MaxCorrections {
		row.corrections = append(row.corrections, c)
	} else {
		row.corrections[row.next] = c
		row.next = (row.next + 1) % len(row.corrections)
	}
	return m
}

// Recorded is how many scans and learns the Log has recorded since New:
// a saver compares it with the last saved count.
func (l *Log) Recorded() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.recorded
}

// Minute is one minute of throughput.
type Minute struct {
	Start      time.Time
	ByAction   map[string]uint64 // scans by action
	ByFrontend map[string]uint64 // scans by front end
	BySource   map[string]uint64 // learns by source
}

// Throughput returns the minutes of the window, oldest first, including
// empty ones (at most Window/time.Minute). A map without counts is nil.
func (l *Log) Throughput() []Minute {
	now := l.opts.Clock().Unix() / 60
	l.mu.Lock()
	defer l.mu.Unlock()
	n := int64(len(l.minutes))
	out := make([]Minute, 0, n)
	for at := now - n + 1; at <= now; at++ {
		mn := Minute{Start: time.Unix(at*60, 0).UTC()}
		if m := &l.minutes[((at%n)+n)%n]; m.at == at && m.counts != nil {
			mn.ByAction = l.countsOf(byAction, &m.counts[byAction])
			mn.ByFrontend = l.countsOf(byFrontend, &m.counts[byFrontend])
			mn.BySource = l.countsOf(bySource, &m.counts[bySource])
		}
		out = append(out, mn)
	}
	return out
}

func (l *Log) countsOf(dim int, c *[MaxNames + 1]uint64) map[string]uint64 {
	var out map[string]uint64
	for i, v := range c {
		if v == 0 {
			continue
		}
		if out == nil {
			out = make(map[string]uint64)
		}
		out[l.names[dim].name(i)] += v
	}
	return out
}

// Filter selects scan records; zero fields match everything.
type Filter struct {
	Text   string // substring of queue id, client, sender, user, profile or a symbol name
	Action string
	Limit  int // default and cap: Options.History
}

// matches: Text case-insensitively; Action with "_" for " " as well
// (the metrics' spelling).
func (f *Filter) matches(s *Scan, text string) bool {
	if f.Action != "" && s.Action != f.Action && strings.ReplaceAll(s.Action, " ", "_") != f.Action {
		return false
	}
	if text == "" {
		return true
	}
	for _, field := range [...]string{s.QueueID, s.Client, s.Sender, s.User, s.Profile} {
		if strings.Contains(strings.ToLower(field), text) {
			return true
		}
	}
	for _, y := range s.Symbols {
		if strings.Contains(strings.ToLower(y.Name), text) {
			return true
		}
	}
	return false
}

// History returns the matching scan records, newest first.
func (l *Log) History(f Filter) []Scan {
	limit := f.Limit
	if limit <= 0 || limit > l.opts.History {
		limit = l.opts.History
	}
	text := strings.ToLower(f.Text)
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Scan
	for id := l.nextID - 1; id >= 1 && l.nextID-id <= uint64(len(l.hist)) && len(out) < limit; id-- {
		s := &l.hist[(id-1)%uint64(l.opts.History)]
		if s.ID != id { // a slot a restored Log did not fill
			break
		}
		if f.matches(s, text) {
			out = append(out, cloneScan(s))
		}
	}
	return out
}

func cloneScan(s *Scan) Scan {
	c := *s
	c.Symbols = slices.Clone(s.Symbols)
	return c
}

// Scan returns the record with that ID while it is kept.
func (l *Log) Scan(id uint64) (Scan, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.scan(id)
	if !ok {
		return Scan{}, false
	}
	return cloneScan(s), true
}

func (l *Log) scan(id uint64) (*Scan, bool) {
	if id == 0 || id >= l.nextID || l.nextID-id > uint64(len(l.hist)) {
		return nil, false
	}
	s := &l.hist[(id-1)%uint64(l.opts.History)]
	return s, s.ID == id
}

// Correction is a user's learn that contradicts the arrival verdict.
type Correction struct {
	Kind    string // "fp": verdict spam, learned ham; "fn": verdict not spam, learned spam
	Learn   Learn
	Verdict Scan // its symbols while the scan is still in History
}

// Day is one day's accuracy for one profile ("" the default profile).
type Day struct {
	Day         string // YYYY-MM-DD, UTC
	Profile     string
	Scanned     uint64
	Corrections uint64
	FP, FN      uint64
	FPRate      float64 // FP / Scanned
	FNRate      float64 // FN / Scanned
	Confirmed   uint64  // user learns that agreed with the verdict
}

// Accuracy returns the kept days, newest first, one row per profile.
func (l *Log) Accuracy() []Day { return l.accuracy("") }

// LastDays returns the rows of Accuracy of the last n days, today (UTC,
// by the Log's clock) included.
func (l *Log) LastDays(n int) []Day {
	return l.accuracy(l.opts.Clock().UTC().AddDate(0, 0, 1-n).Format(time.DateOnly))
}

// accuracy returns the rows of the days from oldest on.
func (l *Log) accuracy(oldest string) []Day {
	l.mu.Lock()
	out := make([]Day, 0, len(l.days))
	for _, r := range l.days {
		if r.Day.Day < oldest {
			continue
		}
		d := r.Day
		if d.Scanned > 0 {
			d.FPRate = float64(d.FP) / float64(d.Scanned)
			d.FNRate = float64(d.FN) / float64(d.Scanned)
		}
		out = append(out, d)
	}
	l.mu.Unlock()
	slices.SortFunc(out, func(a, b Day) int {
		if c := strings.Compare(b.Day, a.Day); c != 0 {
			return c
		}
		return strings.Compare(a.Profile, b.Profile)
	})
	return out
}

// Corrections returns the corrections of one day and profile, newest
// first (at most MaxCorrections).
func (l *Log) Corrections(day, profile string) []Correction {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.days[dayKey{day, profile}]
	if !ok {
		return nil
	}
	n := len(r.corrections)
	out := make([]Correction, 0, n)
	for i := range n {
		c := r.corrections[(r.next+n-1-i)%n]
		if s, ok := l.scan(c.Verdict.ID); ok {
			c.Verdict.Symbols = slices.Clone(s.Symbols)
		}
		out = append(out, c)
	}
	return out
}
