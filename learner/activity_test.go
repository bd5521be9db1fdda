package learner

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/sluicemail/sluice/activity"
	"github.com/sluicemail/sluice/feed"
	"github.com/sluicemail/sluice/tokenizer"
)

// testClock is a time the test sets.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func contentDigest(t *testing.T, m []byte) feed.Digest {
	t.Helper()
	res, err := tokenizer.New(tokenizer.Options{}).Tokenize(bytes.NewReader(m))
	if err != nil {
		t.Fatal(err)
	}
	return res.Digest
}

// TestAccuracyThroughFeedAndDoor: scan records reach the learner through
// the scan record socket, users learn through the Door over the learner's
// socket, and the ledger, the metrics and `sluice stat`'s read path
// (ReadAccuracy, WriteDays) count one false positive, one false negative
// and one confirmation; a learn of a message never scanned is unmatched,
// autolearn and a learn repeated count nothing more.
func TestAccuracyThroughFeedAndDoor(t *testing.T) {
	opts := serviceOptions(t)
	opts.FeedSocket = filepath.Join(filepath.Dir(opts.Socket), "f.sock")
	clock := &testClock{t: time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)}
	opts.Daemon.Activity = activity.Options{Clock: clock.Now}
	svc, err := OpenService(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	snd, err := feed.NewSender(opts.FeedSocket)
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()

	flagged, missed, caught, unscanned := ham(1), spam(2), spam(3), ham(4)
	records := []feed.Record{
		{QueueID: "Q1", Action: "add header", Score: 7, Digest: contentDigest(t, flagged), Frontend: "milter", Sender: "boss@example.org",
			Symbols: []feed.Symbol{{Name: "BAYES_SPAM", Score: 7}}},
		{QueueID: "Q2", Action: "no action", Score: 1, Digest: contentDigest(t, missed), Frontend: "rspamd", Profile: "strict"},
		{QueueID: "Q3", Action: "reject", Score: 16, Digest: contentDigest(t, caught)},
	}
	for i := range records {
		records[i].Time = clock.Now()
		if err := snd.Send(&records[i]); err != nil {
			t.Fatal(err)
		}
	}
	act := svc.Daemon().Activity()
	deadline := time.Now().Add(10 * time.Second)
	for len(act.History(activity.Filter{})) < len(records) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d scan records reached the activity log", len(act.History(activity.Filter{})), len(records))
		}
		time.Sleep(5 * time.Millisecond)
	}

	door := NewDoor(DoorOptions{Socket: opts.Socket, MaxMessage: 1 << 20})
	for _, l := range []struct {
		label  Label
		m      []byte
		source string
	}{
		{Ham, flagged, "dovecot"},   // fp
		{Spam, missed, "dovecot"},   // fn
		{Spam, caught, "cli"},       // confirmed
		{Ham, unscanned, "dovecot"}, // unmatched
		{Ham, flagged, "dovecot"},   // repeated: already learned, counted once
		{Forget, missed, "dovecot"}, // nothing
		{Spam, missed, "dovecot"},   // relearned after the forget: repeated
	} {
		res, err := door.Learn(context.Background(), &Request{Label: l.label, User: "bob@example.org", Source: l.source, Message: l.m})
		if err != nil || res.Via != ViaLearner {
			t.Fatalf("learn %v: %+v %v", l.label, res, err)
		}
	}

	want := []activity.Day{
		{Day: "2026-12-05", Profile: "", Scanned: 2, Corrections: 1, FP: 1, FPRate: 0.5, Confirmed: 1},
		{Day: "2026-12-05", Profile: "strict", Scanned: 1, Corrections: 1, FN: 1, FNRate: 1},
	}
	if got := act.Accuracy(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ledger\n%+v\nwant\n%+v", got, want)
	}
	if cs := act.Corrections("2026-12-05", ""); len(cs) != 1 || cs[0].Kind != activity.KindFP || cs[0].Verdict.QueueID != "Q1" ||
		cs[0].Verdict.Sender != "boss@example.org" || cs[0].Learn.User != "bob@example.org" || len(cs[0].Verdict.Symbols) != 1 {
		t.Fatalf("corrections %+v", cs)
	}

	td := &testDaemon{reg: opts.Registry}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"sluice_learner_corrections_total", map[string]string{"kind": "fp", "profile": ""}, 1},
		{"sluice_learner_corrections_total", map[string]string{"kind": "fn", "profile": "strict"}, 1},
		{"sluice_learner_corrections_total", nil, 2},
		{"sluice_learner_learns_matched_total", map[string]string{"result": "confirmed"}, 1},
		{"sluice_learner_learns_matched_total", map[string]string{"result": "unmatched"}, 1},
		{"sluice_learner_learns_matched_total", map[string]string{"result": "repeated"}, 2},
		{"sluice_learner_learns_matched_total", nil, 6},
	} {
		if got := td.counter(t, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}

	got, err := ReadAccuracy(context.Background(), opts.Socket)
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ReadAccuracy: %+v %v", got, err)
	}
	var out bytes.Buffer
	tw := tabwriter.NewWriter(&out, 0, 4, 2, ' ', 0)
	activity.WriteDays(tw, got)
	tw.Flush()
	for _, line := range []string{
		"2026-12-05                 scanned 2, corrected 1: 1 false positives (50.00%), 0 false negatives (0.00%), 1 confirmed",
		"2026-12-05 profile strict  scanned 1, corrected 1: 0 false positives (0.00%), 1 false negatives (100.00%), 0 confirmed",
	} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("stat lines\n%s\nlack\n%s", out.String(), line)
		}
	}

	m := act.Throughput()
	last := m[len(m)-1]
	if last.ByFrontend["milter"] != 2 || last.ByFrontend["rspamd"] != 1 || last.BySource["dovecot"] != 6 || last.BySource["cli"] != 1 {
		t.Fatalf("throughput of the minute %+v", last)
	}
}

// TestAccuracyAnswerBounded: the admin answer leaves out the oldest rows
// rather than exceed its limit.
func TestAccuracyAnswerBounded(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)}
	td := startDaemon(t, Options{Activity: activity.Options{Clock: clock.Now, MaxProfiles: 100}}, false)
	for range 3 {
		for p := range 20 {
			td.Feed().Send(&feed.Record{Action: "no action", Profile: fmt.Sprintf("profile-%02d", p), Time: clock.Now()})
		}
		clock.mu.Lock()
		clock.t = clock.t.Add(24 * time.Hour)
		clock.mu.Unlock()
	}
	full := td.accuracyJSON(AccuracyDays, maxAdminText)
	cut := td.accuracyJSON(AccuracyDays, len(full)/2)
	if len(cut) > len(full)/2 || !strings.HasPrefix(full, strings.TrimSuffix(cut, "]")) || strings.Count(full, `"Day"`) != 60 {
		t.Fatalf("full answer of %d bytes (%d rows), cut one of %d bytes", len(full), strings.Count(full, `"Day"`), len(cut))
	}
	if got := td.accuracyJSON(AccuracyDays, 10); got != "[]" {
		t.Fatalf("answer within 10 bytes: %q", got)
	}
	if got := td.accuracyJSON(1, maxAdminText); strings.Count(got, `"Day"`) != 0 {
		t.Fatalf("the last day holds no scans yet: %s", got)
	}
}

// TestActivityKeptAcrossRestart: a daemon with an activity file writes
// it when it stops, and the next one reads it back: a user's learn after
// the restart still finds the verdict of a message scanned before it. A
// file that does not load is logged, and the log starts empty.
func TestActivityKeptAcrossRestart(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)}
	file := filepath.Join(t.TempDir(), "activity.state")
	opts := Options{Activity: activity.Options{Clock: clock.Now}, ActivityFile: file}
	first := startDaemon(t, opts, false)
	first.Feed().Send(&feed.Record{Action: "add header", QueueID: "Q1", Digest: contentDigest(t, ham(1)), Time: clock.Now()})
	first.Feed().Send(&feed.Record{Action: "no action", QueueID: "Q2", Digest: contentDigest(t, spam(2)), Time: clock.Now()})
	mustLearn(t, first.Daemon, Spam, spam(2), "", Learned) // fn
	first.stop(t)

	second := startDaemon(t, opts, false)
	act := second.Activity()
	if h := act.History(activity.Filter{}); len(h) != 2 || h[0].QueueID != "Q2" {
		t.Fatalf("history after the restart %+v", h)
	}
	second.Learn(context.Background(), &Request{Label: Ham, Source: "dovecot", Message: ham(1)}) // fp
	want := []activity.Day{{Day: "2026-12-05", Scanned: 2, Corrections: 2, FP: 1, FN: 1, FPRate: 0.5, FNRate: 0.5}}
	if got := act.Accuracy(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after the restart %+v, want %+v", got, want)
	}
	second.stop(t)

	if err := os.WriteFile(file, []byte("not a saved log"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	third := startDaemon(t, opts, false)
	if h := third.Activity().History(activity.Filter{}); len(h) != 0 || !strings.Contains(logs.text(), "activity log not restored") {
		t.Fatalf("from a bad file: history %+v, log %s", h, logs.text())
	}
}

func (s *syncBuffer) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestActivitySavedWhileRunning: the daemon writes its activity file
// every ActivitySave once something was recorded, not only at the end.
func TestActivitySavedWhileRunning(t *testing.T) {
	file := filepath.Join(t.TempDir(), "activity.state")
	td := startDaemon(t, Options{ActivityFile: file, ActivitySave: 5 * time.Millisecond}, false)
	td.Feed().Send(&feed.Record{Action: "reject", QueueID: "Q9", Time: time.Now()})
	deadline := time.Now().Add(10 * time.Second)
	for {
		f, err := os.Open(file)
		if err == nil {
			l := activity.New(activity.Options{})
			err = l.Load(f)
			f.Close()
			if h := l.History(activity.Filter{}); err == nil && len(h) == 1 && h[0].QueueID == "Q9" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no activity file with the record while running: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
