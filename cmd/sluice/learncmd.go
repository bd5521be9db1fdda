package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/internal/progress"
	"github.com/sluicemail/sluice/learner"
	"github.com/sluicemail/sluice/learnstack"
	"github.com/sluicemail/sluice/mbox"
)

// cmdLearn learns messages as spam or ham (or forgets them). It goes
// through the learner daemon when one runs; when none can be reached it
// writes the statfile itself under the writer lock; when that lock is held
// too (or the write fails), a message read from stdin is queued in the
// learner's spool, which the daemon drains when it runs.
//
// Exit codes (what Dovecot's sieve pipe and admins' scripts rely on): 0
// when every message was learned, already learned, or spooled; 65 when an
// input is not a message; 75 only when a message could be neither learned
// nor spooled (Dovecot does not retry, so spooling comes first). With no
// paths it reads one message from stdin to its end, as a pipe program
// must, and finishes within learner.client_timeout (Dovecot kills pipes
// after 10s).
func cmdLearn(ctx context.Context, std *stdio, args []string) error {
	fs, c := newFlags("learn", "spam|ham|forget [PATH...]", std, true)
	user := fs.String("user", "", "learn into this user's statistics as well (with users_enabled)")
	source := fs.String("source", "cli", "`name` of the client for the learner's metrics (e.g. dovecot)")
	recursive := fs.Bool("recursive", false, "learn the subfolders of a directory too (a Maildir's .Junk, say); without it only the folder named: its cur/ and new/, or its files")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 1 {
		fs.Usage()
		return &exitError{code: exitUsage}
	}
	label, err := learner.ParseLabel(fs.Arg(0))
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	pipe := len(fs.Args()) == 1
	door := learnstack.Door(cfg, newLogger(learnLogConfig(cfg, pipe), std.err))
	lc := &learnCmd{std: std, cfg: cfg, door: door, label: label, user: *user, source: *source, paths: fs.Args()[1:],
		recursive: *recursive, start: time.Now()}
	if pipe {
		err = lc.pipe(ctx)
	} else {
		err = lc.bulk(ctx)
	}
	if err != nil {
		return err
	}
	return lc.report(c.json)
}

// learnCmd is one run of `sluice learn`.
type learnCmd struct {
	std       *stdio
	cfg       config.Config
	door      *learner.Door
	label     learner.Label
	user      string
	source    string
	paths     []string
	recursive bool
	start     time.Time
	via       string
	mu        sync.Mutex
	counts    [learner.Queued + 1]int // by outcome; [0] = not a message
	spooled   int
	spoolDir  string
	lastBad   error
}

// learnLogConfig is the configuration of the learn command's log. In the
// pipe form (a message on stdin: Dovecot's sieve pipe) with the log on
// stderr, only warnings and errors are written: Dovecot logs every line a
// pipe program writes on stderr as an error, and a message learned or
// spooled is a success, which the summary on stdout reports. With
// log.output = syslog the Door's info line per learn (source, user,
// class, outcome, via) goes there.
func learnLogConfig(cfg config.Config, pipe bool) config.Config {
	if pipe && cfg.Log.Output != "syslog" && (cfg.Log.Level == "debug" || cfg.Log.Level == "info" || cfg.Log.Level == "") {
		cfg.Log.Level = "warn"
	}
	return cfg
}

// count records a message's outcome; a refused one is named on stderr at
// once, every one of them (an admin fixing a directory needs the list).
func (lc *learnCmd) count(out learner.Outcome, name string, err error) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if err != nil {
		lc.counts[0]++
		lc.lastBad = fmt.Errorf("%s: %w", name, err)
		fmt.Fprintf(lc.std.err, "sluice learn: refused %v\n", lc.lastBad)
		return
	}
	lc.counts[out]++
}

// pipe learns one message from stdin through the learner's Door: the
// daemon, else the statfile directly, else the spool.
func (lc *learnCmd) pipe(ctx context.Context) error {
	data, err := mbox.ReadAll(lc.std.in, maxInput)
	if err != nil {
		return err
	}
	if err := mbox.CheckMail(data); err != nil {
		lc.count(0, "-", err)
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, lc.cfg.Learner.ClientTimeout.D())
	defer cancel()
	res, err := lc.door.Learn(ctx, &learner.Request{Label: lc.label, User: lc.user, Source: lc.source, Message: data})
	lc.via = res.Via.String()
	switch {
	case errors.Is(err, learner.ErrNotMessage):
		lc.count(0, "-", err)
	case errors.Is(err, learner.ErrProtocol):
		return &exitError{code: exitUsage, err: err} // e.g. --user over the protocol's limit
	case err != nil:
		return &exitError{code: exitTempFail, err: err}
	case res.Via == learner.ViaSpool:
		// A success: said on stdout (and logged by the Door at info),
		// never on stderr, which Dovecot logs as an error.
		lc.spooled++
		lc.spoolDir = lc.door.Spool().Dir()
	default:
		lc.count(res.Outcome, "-", nil)
	}
	return nil
}

// bulk learns the messages under lc.paths: through the daemon with
// several connections, or directly in batches when no daemon runs. With a
// daemon unreachable and the statfile locked it exits 75: bulk imports
// are retried by whoever runs them.
func (lc *learnCmd) bulk(ctx context.Context) error {
	prog := progress.New(lc.std.err, len(lc.paths) > 1 || isDir(lc.paths))
	skipped := 0
	walk := func(yield func(string, []byte) error) error {
		n, err := mbox.WalkFolders(lc.paths, lc.recursive, func(name string, data []byte) error {
			if err := mbox.CheckMail(data); err != nil {
				lc.count(0, name, err)
				prog.Tick()
				return nil
			}
			return yield(name, data)
		})
		skipped = n
		return err
	}
	via, err := lc.door.LearnAll(ctx, lc.label, lc.user, lc.source, walk, func(name string, out learner.Outcome, err error) {
		lc.count(out, name, err)
		prog.Tick()
	})
	prog.Done()
	if skipped > 0 {
		fmt.Fprintf(lc.std.err, "sluice learn: %d subfolders not learned (name them, or use --recursive)\n", skipped)
	}
	lc.via = via.String()
	if err != nil && (via == learner.ViaLearner || errors.Is(err, learner.ErrUnavailable)) {
		return &exitError{code: exitTempFail, err: err}
	}
	return err
}

func (lc *learnCmd) report(asJSON bool) error {
	s := learnSummary{
		Class: lc.label.String(), Via: lc.via,
		Learned: lc.counts[learner.Learned], AlreadyLearned: lc.counts[learner.AlreadyLearned],
		Relearned: lc.counts[learner.Relearned], Forgotten: lc.counts[learner.Forgotten], NotLearned: lc.counts[learner.NotLearned], Queued: lc.counts[learner.Queued],
		Spooled: lc.spooled, SpoolDir: lc.spoolDir, NotMessages: lc.counts[0], Seconds: time.Since(lc.start).Seconds(),
	}
	if s.Seconds > 0 {
		s.PerSecond = float64(s.Learned+s.AlreadyLearned+s.Relearned+s.Forgotten+s.NotLearned+s.Queued) / s.Seconds
	}
	if asJSON {
		if err := writeJSON(lc.std.out, s); err != nil {
			return err
		}
	} else {
		writeSummary(lc.std.out, s)
	}
	switch n := lc.counts[0]; {
	case n == 1:
		return &exitError{code: exitDataErr, err: lc.lastBad}
	case n > 1:
		return &exitError{code: exitDataErr, err: fmt.Errorf("%d inputs refused as not mail messages (each named above)", n)}
	}
	return nil
}

func writeSummary(w io.Writer, s learnSummary) {
	if s.Class == "forget" {
		fmt.Fprintf(w, "forget: %d forgotten, %d not learned before, %d not messages", s.Forgotten, s.NotLearned, s.NotMessages)
	} else {
		fmt.Fprintf(w, "%s: %d learned, %d already learned, %d relearned from the other class, %d not messages",
			s.Class, s.Learned, s.AlreadyLearned, s.Relearned, s.NotMessages)
	}
	if s.Spooled > 0 {
		fmt.Fprintf(w, ", %d spooled in %s for the learner", s.Spooled, s.SpoolDir)
	} else if s.Queued > 0 {
		fmt.Fprintf(w, ", %d queued for the cluster", s.Queued)
	}
	fmt.Fprintf(w, " (via %s, %.0f msg/s)\n", s.Via, s.PerSecond)
}

type learnSummary struct {
	Class          string  `json:"class"`
	Via            string  `json:"via"` // learner, direct or spool
	Learned        int     `json:"learned"`
	AlreadyLearned int     `json:"already_learned"`
	Relearned      int     `json:"relearned"`
	Forgotten      int     `json:"forgotten,omitempty"`
	NotLearned     int     `json:"not_learned,omitempty"`
	Queued         int     `json:"queued,omitempty"` // a cluster host: durable in its outbox, applied when it comes back
	Spooled        int     `json:"spooled,omitempty"`
	SpoolDir       string  `json:"spool_dir,omitempty"`
	NotMessages    int     `json:"not_messages"`
	Seconds        float64 `json:"seconds"`
	PerSecond      float64 `json:"per_second"`
}
