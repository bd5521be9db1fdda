package activity

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/gob"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// filled is a Log with scans over two days (the first one's out of the
// 24-hour window by the end), one false positive and one false negative.
func filled(c *clock, opts Options) *Log {
	opts.Clock = c.Now
	l := New(opts)
	l.RecordScan(Scan{Action: "add header", QueueID: "A", Profile: "p", Digest: digest(1), Symbols: []Symbol{{"BAYES_SPAM", 6}}})
	l.RecordScan(Scan{Action: "no action", QueueID: "B", Digest: digest(2)})
	l.RecordLearn(Learn{Source: "dovecot", Label: "ham", Outcome: "learned", Digest: digest(1)})
	c.Add(24 * time.Hour)
	l.RecordScan(Scan{Action: "no action", QueueID: "C", Digest: digest(3), Frontend: "spamd"})
	l.RecordScan(Scan{Action: "reject", QueueID: "D", Digest: digest(4)})
	l.RecordLearn(Learn{Source: "dovecot", Label: "spam", Outcome: "learned", Digest: digest(2)})
	return l
}

func TestSaveLoad(t *testing.T) {
	tests := []struct {
		name      string
		opts      Options // of the Log loaded into
		later     time.Duration
		history   string // queue ids, newest first
		days      int    // rows
		matchable []int  // digests whose verdicts a learn still finds
		minutes   int    // minutes with counts
	}{
		{"same bounds", Options{}, 0, "D C B A", 3, []int{1, 2, 3, 4}, 1},
		{"smaller bounds", Options{History: 2, MaxLedger: 2, Days: 1, Window: time.Hour}, 0, "D C", 1, []int{3, 4}, 1},
		{"an hour later", Options{}, time.Hour, "D C B A", 3, []int{1, 2, 3, 4}, 1},
		{"a day later: past the window and a day", Options{Days: 2}, 24 * time.Hour, "D C B A", 1, []int{1, 2, 3, 4}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			src := filled(c, Options{})
			var buf bytes.Buffer
			if err := src.Save(&buf); err != nil {
				t.Fatal(err)
			}
			c.Add(tt.later)
			opts := tt.opts
			opts.Clock = c.Now
			l := New(opts)
			if err := l.Load(&buf); err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, s := range l.History(Filter{}) {
				ids = append(ids, s.QueueID)
				if got, ok := l.Scan(s.ID); !ok || !reflect.DeepEqual(got, s) {
					t.Fatalf("Scan(%d) = %+v %v", s.ID, got, ok)
				}
			}
			if got := fmt.Sprint(ids); got != fmt.Sprint(splitFields(tt.history)) {
				t.Fatalf("history %s, want %s", got, tt.history)
			}
			rows := l.Accuracy()
			if len(rows) != tt.days {
				t.Fatalf("rows %+v, want %d", rows, tt.days)
			}
			if tt.days == 3 {
				if want := src.Accuracy(); !reflect.DeepEqual(rows, want) {
					t.Fatalf("rows %+v, want %+v", rows, want)
				}
				if got, want := l.Corrections("2026-12-05", "p"), src.Corrections("2026-12-05", "p"); !reflect.DeepEqual(got, want) || len(got) != 1 {
					t.Fatalf("corrections %+v, want %+v", got, want)
				}
			}
			n := 0
			for _, m := range l.Throughput() {
				if len(m.ByAction)+len(m.BySource) > 0 {
					n++
				}
			}
			if n != tt.minutes {
				t.Fatalf("%d minutes with counts, want %d", n, tt.minutes)
			}
			// Verdicts kept match as before the restart, with what was
			// already matched remembered.
			for _, i := range tt.matchable {
				m := l.RecordLearnMatch(Learn{Source: "cli", Label: "spam", Outcome: "learned", Digest: digest(i)})
				want := map[int]string{1: KindConfirmed, 2: KindRepeated, 3: KindFN, 4: KindConfirmed}[i]
				if m.Result != want {
					t.Errorf("digest %d after load: %q, want %q", i, m.Result, want)
				}
			}
			if id := l.RecordScan(Scan{Action: "no action"}); id != 5 {
				t.Fatalf("the next scan after load got ID %d, want 5", id)
			}
		})
	}
}

func splitFields(s string) []string {
	var out []string
	for _, f := range bytes.Fields([]byte(s)) {
		out = append(out, string(f))
	}
	return out
}

func TestLoadRefuses(t *testing.T) {
	var good bytes.Buffer
	if err := filled(newClock(), Options{}).Save(&good); err != nil {
		t.Fatal(err)
	}
	gz := func(v ...any) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		enc := gob.NewEncoder(zw)
		for _, x := range v {
			if err := enc.Encode(x); err != nil {
				t.Fatal(err)
			}
		}
		zw.Close()
		return b.Bytes()
	}
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"not gzip", []byte("hello")},
		{"cut", good.Bytes()[:good.Len()/2]},
		{"another magic", gz(stateHeader{Magic: "something else", Version: 1}, state{})},
		{"another version", gz(stateHeader{Magic: stateMagic, Version: 2}, state{})},
		{"no state", gz(stateHeader{Magic: stateMagic, Version: 1})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			l := New(Options{Clock: c.Now})
			l.RecordScan(Scan{QueueID: "kept", Action: "no action"})
			if err := l.Load(bytes.NewReader(tt.in)); !errors.Is(err, ErrState) {
				t.Fatalf("Load: %v, want ErrState", err)
			}
			if h := l.History(Filter{}); len(h) != 1 || h[0].QueueID != "kept" {
				t.Fatalf("a refused load changed the log: %+v", h)
			}
		})
	}
}

// BenchmarkSaveFull saves a Log with a full default ledger and history,
// and reports the file's size.
func BenchmarkSaveFull(b *testing.B) {
	l := New(Options{Clock: newClock().Now})
	s := Scan{Frontend: "milter", QueueID: "4QzW1x2y3", Client: "198.51.100.23", Sender: "sender@example.org",
		User: "rcpt@example.org", Action: "add header", Score: 8, Symbols: []Symbol{{"BAYES_SPAM", 5.1}, {"MISSING_MID", 0.5}}}
	for i := range DefaultMaxLedger {
		s.Digest = sha256.Sum256(fmt.Append(nil, i)) // as random as real digests
		l.RecordScan(s)
	}
	var size int
	for b.Loop() {
		var buf bytes.Buffer
		if err := l.Save(&buf); err != nil {
			b.Fatal(err)
		}
		size = buf.Len()
	}
	b.ReportMetric(float64(size), "bytes/file")
}

// BenchmarkSaveLocked measures the copy Save makes of a full default
// ledger, which holds the lock one chunk at a time (recording waits for a
// chunk): ns/chunk, the whole copy (its sort included) by the number of
// chunks, bounds such a wait from above.
func BenchmarkSaveLocked(b *testing.B) {
	l := New(Options{Clock: newClock().Now})
	s := Scan{Frontend: "milter", QueueID: "4QzW1x2y3", Action: "add header", Symbols: []Symbol{{"BAYES_SPAM", 5.1}}}
	for i := range DefaultMaxLedger {
		s.Digest = sha256.Sum256(fmt.Append(nil, i))
		l.RecordScan(s)
	}
	chunks := (DefaultMaxLedger + saveChunk - 1) / saveChunk
	var elapsed time.Duration
	for b.Loop() {
		start := time.Now()
		l.liveVerdicts()
		elapsed += time.Since(start)
	}
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N*chunks), "ns/chunk")
}
