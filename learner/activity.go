package learner

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/sluicemail/sluice/activity"
	"github.com/sluicemail/sluice/feed"
	"github.com/sluicemail/sluice/internal/atomicfile"
)

// The daemon's activity log (package activity) sees every scan record
// the daemon takes, from the feed socket or in process, before autolearn
// and training look at it (a record dropped because their queue is full
// is still in the history and the counts), and every learn it answers,
// with the message's digest and the outcome, after its commit. The
// ledger's matches are counted as metrics too.
//
// With Options.ActivityFile the log outlives a restart: New reads the
// file (one that does not load is logged and set aside: the log starts
// empty), and Run writes it atomically (internal/atomicfile) every
// ActivitySave when something was recorded, and once more when it
// returns. A crash loses at most ActivitySave of it. Its size is bounded
// by the log's: a full default ledger takes about 4.4 MB (gob in gzip,
// activity.BenchmarkSaveFull).

// Activity returns the daemon's activity log: the console's throughput,
// history and accuracy, and `sluice stat`'s accuracy through the admin
// protocol.
func (d *Daemon) Activity() *activity.Log { return d.act }

// activityScan is a scan record as the activity log keeps it.
func activityScan(r *feed.Record) activity.Scan {
	s := activity.Scan{
		Time: r.Time, Frontend: r.Frontend, QueueID: r.QueueID, Client: r.Client, Sender: r.Sender,
		User: r.User, Profile: r.Profile, Score: r.Score, Action: r.Action, Digest: r.Digest,
	}
	if s.Frontend == "" {
		s.Frontend = "milter" // a sender that predates the field
	}
	syms := r.Symbols[:min(len(r.Symbols), activity.MaxSymbols)]
	s.Symbols = make([]activity.Symbol, len(syms))
	for i, y := range syms {
		s.Symbols[i] = activity.Symbol{Name: y.Name, Score: y.Score}
	}
	return s
}

// recordLearn notes one answered learn in the activity log and counts
// how the ledger matched it.
func (d *Daemon) recordLearn(source, user string, label Label, outcome string, digest [32]byte) {
	m := d.act.RecordLearnMatch(activity.Learn{Source: source, User: user, Label: label.String(), Outcome: outcome, Digest: digest})
	if m.Result == "" {
		return
	}
	d.m.matched.WithLabelValues(m.Result).Inc()
	if m.Correction() {
		d.m.correction(m.Result, m.Verdict.Profile)
	}
}

// accuracyJSON is the answer to AdminAccuracy: the last days' rows as
// JSON of at most max bytes, the oldest rows left out to fit.
func (d *Daemon) accuracyJSON(days, max int) string {
	rows := d.act.LastDays(days)
	for {
		b, err := json.Marshal(rows)
		if err == nil && len(b) <= max {
			return string(b)
		}
		if len(rows) == 0 {
			return "[]"
		}
		rows = rows[:len(rows)-1]
	}
}

// AdminTimeout bounds ReadAccuracy's wait for the learner.
const AdminTimeout = 5 * time.Second

// ReadAccuracy asks the learner at socket for the accuracy of the last
// AccuracyDays days as its users see it (activity.Log.LastDays), waiting
// at most AdminTimeout. An error wrapping ErrUnreachable means no learner
// answers there; ErrProtocol, one that predates the question.
func ReadAccuracy(ctx context.Context, socket string) ([]activity.Day, error) {
	ctx, cancel := context.WithTimeout(ctx, AdminTimeout)
	defer cancel()
	_, text, err := adminCall(ctx, socket, AdminAccuracy, "", maxAdminText)
	if err != nil {
		return nil, err
	}
	var days []activity.Day
	if err := json.Unmarshal([]byte(text), &days); err != nil {
		return nil, fmt.Errorf("%w: accuracy: %v", ErrProtocol, err)
	}
	return days, nil
}

// loadActivity reads the activity file, if any.
func (d *Daemon) loadActivity() {
	path := d.opts.ActivityFile
	if path == "" {
		return
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err == nil {
		err = d.act.Load(bufio.NewReader(f))
		f.Close()
	}
	if err != nil {
		d.log.Warn("learner: activity log not restored: it starts empty", "file", path, "err", err)
		return
	}
	d.saved.Store(d.act.Recorded())
}

// saveActivityLoop saves the activity log every ActivitySave while
// something was recorded, until ctx ends.
func (d *Daemon) saveActivityLoop(ctx context.Context) {
	t := time.NewTicker(d.opts.ActivitySave)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.saveActivity()
		}
	}
}

// saveActivity writes the activity file when something was recorded
// since it was last written.
func (d *Daemon) saveActivity() {
	path := d.opts.ActivityFile
	n := d.act.Recorded()
	if path == "" || n == d.saved.Load() {
		return
	}
	f, err := atomicfile.Create(path, nil)
	if err == nil {
		w := bufio.NewWriter(f)
		if err = d.act.Save(w); err == nil {
			err = w.Flush()
		}
		if err != nil {
			err = errors.Join(err, f.Abort())
		} else {
			_, err = f.Commit()
		}
	}
	if err != nil {
		d.log.Warn("learner: save the activity log", "file", path, "err", err)
		return
	}
	d.saved.Store(n)
}
