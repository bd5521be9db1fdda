// Package activity keeps in memory what an admin looks at about recent
// work: per-minute counts of scans (by action and by front end) and of
// learns (by source) for the last 24 hours, the last scan records, and
// the ledger that matches each user's learn to the verdict its message got
// on arrival (by content digest), which tells false positives and false
// negatives as the users see them.
//
// CONTRACT SKELETON: the exported API below is fixed for the console;
// the implementation is being written.
package activity

import "time"

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
}

// Log is safe for concurrent use.
type Log struct{}

// New returns an empty Log.
func New(opts Options) *Log { return &Log{} }

// RecordScan adds a verdict and returns its ID.
func (l *Log) RecordScan(s Scan) uint64 { return 0 }

// RecordLearn adds a learn; a user's learn whose digest matches an arrival
// verdict of the other class is a correction (FP or FN).
func (l *Log) RecordLearn(x Learn) {}

// Minute is one minute of throughput.
type Minute struct {
	Start      time.Time
	ByAction   map[string]uint64 // scans by action
	ByFrontend map[string]uint64 // scans by front end
	BySource   map[string]uint64 // learns by source
}

// Throughput returns the minutes of the window, oldest first, including
// empty ones (at most Window/time.Minute).
func (l *Log) Throughput() []Minute { return nil }

// Filter selects scan records; zero fields match everything.
type Filter struct {
	Text   string // substring of queue id, client, sender, user, profile or a symbol name
	Action string
	Limit  int // default and cap: Options.History
}

// History returns the matching scan records, newest first.
func (l *Log) History(f Filter) []Scan { return nil }

// Scan returns the record with that ID while it is kept.
func (l *Log) Scan(id uint64) (Scan, bool) { return Scan{}, false }

// Correction is a user's learn that contradicts the arrival verdict.
type Correction struct {
	Kind    string // "fp": verdict spam, learned ham; "fn": verdict not spam, learned spam
	Learn   Learn
	Verdict Scan
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
}

// Accuracy returns the kept days, newest first, one row per profile.
func (l *Log) Accuracy() []Day { return nil }

// Corrections returns the corrections of one day and profile.
func (l *Log) Corrections(day, profile string) []Correction { return nil }
