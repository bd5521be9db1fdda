package learner

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicemail/sluice/learn"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) learnLines(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		if line == "" {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if r["msg"] == "learn" {
			out = append(out, r)
		}
	}
	return out
}

func TestLearnLogLines(t *testing.T) {
	var logs syncBuffer
	d := startDaemon(t, Options{MaxMessage: 1 << 20, Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}, false)
	ctx := context.Background()
	reqs := []struct {
		req  Request
		want map[string]any
	}{
		{Request{Label: Spam, User: "bob@example.org", Source: "dovecot", Message: spam(1)},
			map[string]any{"source": "dovecot", "user": "bob@example.org", "class": "spam", "outcome": "learned", "via": "learner", "level": "INFO"}},
		{Request{Label: Spam, User: "bob@example.org", Source: "dovecot", Message: spam(1)},
			map[string]any{"outcome": "already_learned", "class": "spam"}},
		{Request{Label: Ham, Source: "http", Message: []byte("not a message at all")},
			map[string]any{"source": "http", "class": "ham", "outcome": "not_message", "user": ""}},
	}
	for _, r := range reqs {
		d.Learn(ctx, &r.req)
	}
	lines := logs.learnLines(t)
	if len(lines) != len(reqs) {
		t.Fatalf("%d learn lines for %d learns: %v", len(lines), len(reqs), lines)
	}
	for i, r := range reqs {
		for k, v := range r.want {
			if lines[i][k] != v {
				t.Errorf("learn %d: %s = %#v, want %#v", i, k, lines[i][k], v)
			}
		}
	}
}

func TestDoorLogsWhatTheDaemonDidNot(t *testing.T) {
	tests := []struct {
		name  string
		setup doorSetup
		want  map[string]any // nil: the Door writes no line (the daemon does)
	}{
		{"direct", doorSetup{}, map[string]any{"via": "direct", "outcome": "learned", "source": "cli", "class": "spam"}},
		{"spooled", doorSetup{noStatfile: true, spool: true}, map[string]any{"via": "spool", "outcome": "spooled"}},
		{"nowhere", doorSetup{noStatfile: true}, map[string]any{"outcome": "error", "level": "WARN"}},
		{"daemon", doorSetup{inProcess: true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			door, _, _ := newDoorFor(t, tt.setup)
			var logs syncBuffer
			door.opts.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
			door.Learn(context.Background(), &Request{Label: Spam, User: "bob@example.org", Source: "cli", Message: spam(7)})
			lines := logs.learnLines(t)
			if tt.want == nil {
				if len(lines) != 0 {
					t.Fatalf("door logged %v", lines)
				}
				return
			}
			if len(lines) != 1 {
				t.Fatalf("%d lines: %v", len(lines), lines)
			}
			for k, v := range tt.want {
				if lines[0][k] != v {
					t.Errorf("%s = %#v, want %#v (%v)", k, lines[0][k], v, lines[0])
				}
			}
		})
	}
}

func TestRspamdStatAndCounters(t *testing.T) {
	d := startDaemon(t, Options{MaxMessage: 1 << 20}, false)
	for i := range 3 {
		mustLearn(t, d.Daemon, Spam, spam(i), "", learn.Learned)
	}
	mustLearn(t, d.Daemon, Ham, ham(9), "", learn.Learned)
	// A front end's counters, as milter and spamd declare them.
	scanned := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_milter_scanned_total", Help: "h"}, []string{"action"})
	hits := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_spamd_symbol_hits_total", Help: "h"}, []string{"symbol"})
	d.reg.MustRegister(scanned, hits)
	scanned.WithLabelValues("add_header").Add(2)
	scanned.WithLabelValues("no_action").Add(5)
	hits.WithLabelValues("BAYES_SPAM").Add(2)
	h := NewHTTPHandler(d.Daemon, HTTPOptions{Gatherer: d.reg, Statfile: d.path, Weights: map[string]float64{"BAYES_SPAM": 8},
		Start: time.Now().Add(-time.Minute)})

	get := func(path string, v any) {
		t.Helper()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
		if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	var st struct {
		Scanned   uint64            `json:"scanned"`
		Actions   map[string]uint64 `json:"actions"`
		Spam      uint64            `json:"spam_count"`
		Ham       uint64            `json:"ham_count"`
		Learned   uint64            `json:"learned"`
		Statfiles []struct {
			Symbol   string `json:"symbol"`
			Revision uint64 `json:"revision"`
			Total    uint64 `json:"total"`
			Used     uint64 `json:"used"`
		} `json:"statfiles"`
	}
	get("/stat", &st)
	if st.Scanned != 7 || st.Actions["add header"] != 2 || st.Actions["no action"] != 5 || st.Actions["reject"] != 0 ||
		st.Spam != 2 || st.Ham != 5 || st.Learned != 4 {
		t.Fatalf("/stat %+v", st)
	}
	if len(st.Statfiles) != 2 || st.Statfiles[0].Symbol != "BAYES_SPAM" || st.Statfiles[0].Revision != 3 ||
		st.Statfiles[1].Revision != 1 || st.Statfiles[0].Total == 0 || st.Statfiles[0].Used == 0 {
		t.Fatalf("/stat statfiles %+v", st.Statfiles)
	}
	var cs []struct {
		Symbol string  `json:"symbol"`
		Weight float64 `json:"weight"`
		Hits   uint64  `json:"hits"`
	}
	get("/counters", &cs)
	if len(cs) != 1 || cs[0].Symbol != "BAYES_SPAM" || cs[0].Hits != 2 || cs[0].Weight != 8 {
		t.Fatalf("/counters %+v", cs)
	}
}
