package milter

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// syncBuffer is a log destination safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// records returns the JSON log records whose msg is msg.
func (s *syncBuffer) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// scrape serves reg's /metrics once and parses it as Prometheus does.
func scrape(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

func counterOf(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no metric %s", name)
	}
next:
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
				continue next
			}
		}
		return m.GetCounter().GetValue()
	}
	t.Fatalf("no %s with labels %v", name, labels)
	return 0
}

func TestScanLogLineAndMetrics(t *testing.T) {
	var logs syncBuffer
	h := start(t, Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	reg := prometheus.NewRegistry()
	if err := h.srv.Register(reg); err != nil {
		t.Fatal(err)
	}
	h.sendOne(t, envelope{client: netip.MustParseAddr("198.51.100.23"), qid: "4QzW1x2y3"}, newMessage(1, "offer", spamWords, 0))
	h.sendOne(t, envelope{qid: "4QzW1x2y4"}, newMessage(2, "minutes", hamWords, 0))

	lines := logs.records(t, "message scanned")
	if len(lines) != 2 {
		t.Fatalf("%d lines for 2 messages", len(lines))
	}
	spam := lines[0]
	want := map[string]any{
		"queue_id": "4QzW1x2y3", "client_ip": "198.51.100.23", "from": "sender@example.org",
		"rcpts": float64(1), "user": "rcpt@example.org", "profile": "", "action": "add_header",
	}
	for k, v := range want {
		if spam[k] != v {
			t.Errorf("%s = %#v, want %#v (line %v)", k, spam[k], v, spam)
		}
	}
	if s, _ := spam["score"].(float64); s < 6 {
		t.Errorf("score %v below the add-header threshold", spam["score"])
	}
	if sy, _ := spam["symbols"].(string); !strings.HasPrefix(sy, "BAYES_SPAM=") {
		t.Errorf("symbols %q", spam["symbols"])
	}
	if sz, _ := spam["size"].(float64); sz < 200 {
		t.Errorf("size %v", spam["size"])
	}
	if _, ok := spam["elapsed"]; !ok {
		t.Errorf("no elapsed: %v", spam)
	}
	if lines[1]["action"] != "no_action" || lines[1]["queue_id"] != "4QzW1x2y4" {
		t.Errorf("ham line %v", lines[1])
	}

	fams := scrape(t, reg)
	for name, f := range fams {
		if !strings.HasPrefix(name, "sluice_milter_") {
			t.Errorf("metric %s outside sluice_milter_", name)
		}
		if len(f.GetHelp()) < 20 || strings.Contains(f.GetHelp(), "counter ") {
			t.Errorf("%s: help %q is not written for people", name, f.GetHelp())
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.ContainsAny(l.GetValue(), " \t") || l.GetName() == "name" {
					t.Errorf("%s: label %s=%q", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"sluice_milter_scanned_total", map[string]string{"action": "add_header"}, 1},
		{"sluice_milter_scanned_total", map[string]string{"action": "no_action"}, 1},
		{"sluice_milter_scanned_total", map[string]string{"action": "reject"}, 0},
		{"sluice_milter_symbol_hits_total", map[string]string{"symbol": "BAYES_SPAM"}, 1},
		{"sluice_milter_symbol_hits_total", map[string]string{"symbol": "BAYES_HAM"}, 1},
		{"sluice_milter_connections_total", nil, 2},
		{"sluice_milter_errors_total", nil, 0},
		{"sluice_milter_skipped_total", map[string]string{"reason": "trusted"}, 0},
	} {
		if got := counterOf(t, fams, tc.name, tc.labels); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	hist := fams["sluice_milter_scan_seconds"]
	if hist.GetType() != dto.MetricType_HISTOGRAM || hist.GetMetric()[0].GetHistogram().GetSampleCount() != 2 {
		t.Fatalf("scan histogram %v", hist)
	}
	if c := h.srv.Counters(); c.Scanned != 2 || c.Actions["add header"] != 1 || c.Connections != 2 {
		t.Fatalf("Counters %+v disagree with the metrics", c)
	}
}
