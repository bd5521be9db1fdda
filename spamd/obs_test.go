package spamd

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
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

func TestScanLogLinePerProtocol(t *testing.T) {
	tests := []struct {
		name string
		req  string
		want map[string]any
	}{
		{"spamd", spamc("SYMBOLS SPAMC/1.5", "User: bob@example.org\r\n", spamMsg), map[string]any{
			"proto": "spamd", "queue_id": "", "client_ip": "", "from": "", "rcpts": float64(0),
			"user": "bob@example.org", "action": "add_header", "symbols": "BAYES_SPAM=8.00", "score": float64(8),
		}},
		{"rspamc", spamc("CHECK RSPAMC/1.3", "Queue-Id: 4QzW1\r\nIP: 203.0.113.9\r\nFrom: <alice@example.net>\r\nRcpt: <bob@example.org>\r\nRcpt: <carol@example.org>\r\n", hamMsg), map[string]any{
			"proto": "rspamc", "queue_id": "4QzW1", "client_ip": "203.0.113.9", "from": "alice@example.net", "rcpts": float64(2),
			"user": "", "action": "no_action", "symbols": "BAYES_HAM=-4.00", "score": float64(-4),
		}},
		{"http", post("/checkv2", "Queue-Id: 4QzW2\r\nIP: 2001:db8::7\r\nFrom: alice@example.net\r\nRcpt: bob@example.org\r\n", "Subject: x\r\n\r\nreject-me\r\n"), map[string]any{
			"proto": "http", "queue_id": "4QzW2", "client_ip": "2001:db8::7", "from": "alice@example.net", "rcpts": float64(1),
			"user": "bob@example.org", "action": "reject", "symbols": "BAYES_SPAM=8.00,RULE_X=8.00", "score": float64(16),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs syncBuffer
			srv, addr := startServer(t, Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
			reg := prometheus.NewRegistry()
			if err := srv.Register(reg); err != nil {
				t.Fatal(err)
			}
			exchange(t, addr, tt.req)
			lines := logs.records(t, "message scanned")
			if len(lines) != 1 {
				t.Fatalf("%d lines for one message", len(lines))
			}
			got := lines[0]
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %#v, want %#v", k, got[k], v)
				}
			}
			if id, _ := got["request_id"].(float64); id < 1 {
				t.Errorf("request_id %v", got["request_id"])
			}
			if sz, _ := got["size"].(float64); sz < 10 {
				t.Errorf("size %v", got["size"])
			}
			if _, ok := got["elapsed"]; !ok {
				t.Errorf("no elapsed")
			}

			rec := httptest.NewRecorder()
			promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
			p := expfmt.NewTextParser(model.LegacyValidation)
			fams, err := p.TextToMetricFamilies(rec.Body)
			if err != nil {
				t.Fatal(err)
			}
			for name, f := range fams {
				if !strings.HasPrefix(name, "sluice_spamd_") || len(f.GetHelp()) < 20 {
					t.Errorf("%s: help %q", name, f.GetHelp())
				}
				for _, m := range f.GetMetric() {
					for _, l := range m.GetLabel() {
						if strings.ContainsAny(l.GetValue(), " \t") {
							t.Errorf("%s: label %s=%q", name, l.GetName(), l.GetValue())
						}
					}
				}
			}
			if n := value1(t, fams["sluice_spamd_scanned_total"], "action", tt.want["action"].(string)); n != 1 {
				t.Errorf("scanned_total{action=%q} = %v", tt.want["action"], n)
			}
			if n := value1(t, fams["sluice_spamd_requests_total"], "proto", tt.name); n != 1 {
				t.Errorf("requests_total{proto=%q} = %v", tt.name, n)
			}
			h := fams["sluice_spamd_scan_seconds"]
			if h.GetType() != dto.MetricType_HISTOGRAM || h.GetMetric()[0].GetHistogram().GetSampleCount() != 1 {
				t.Errorf("scan histogram %v", h)
			}
			if c := srv.Counters(); c.Scans != 1 || c.Connections != 1 {
				t.Errorf("Counters %+v", c)
			}
		})
	}
}

// value1 is the counter of f whose label name has value v.
func value1(t *testing.T, f *dto.MetricFamily, name, v string) float64 {
	t.Helper()
	if f == nil {
		t.Fatalf("no family for %s=%s", name, v)
	}
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == name && l.GetValue() == v {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("%s: no %s=%q", f.GetName(), name, v)
	return 0
}

func TestFailedScanIsLogged(t *testing.T) {
	var logs syncBuffer
	_, addr := startServer(t, Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	exchange(t, addr, post("/checkv2", "Queue-Id: 4QzW3\r\n", "nomail"))
	lines := logs.records(t, "message not scanned: not a mail message")
	if len(lines) != 1 || lines[0]["queue_id"] != "4QzW3" || lines[0]["proto"] != "http" {
		t.Fatalf("lines %v", lines)
	}
}
