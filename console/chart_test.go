package console

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluicemail/sluice/activity"
	"github.com/sluicemail/sluice/config"
)

func TestChart(t *testing.T) {
	start := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	var minutes []activity.Minute
	for i := range 240 {
		m := activity.Minute{Start: start.Add(time.Duration(i) * time.Minute), ByAction: map[string]uint64{}}
		if i%60 == 0 {
			m.ByAction["reject"] = 4
		}
		m.ByAction["no action"] = uint64(i % 3)
		minutes = append(minutes, m)
	}
	c := newChart("x", "X", minutes, func(m activity.Minute) map[string]uint64 { return m.ByAction })
	if c.Max != 4 {
		t.Errorf("max %d, want 4", c.Max)
	}
	if len(c.Series) != 2 || c.Series[0].Name != "no action" || c.Series[1].Name != "reject" {
		t.Fatalf("series %+v", c.Series)
	}
	if c.Series[1].Total != 16 || c.Series[0].Total != 240 {
		t.Errorf("totals %d, %d; want 240, 16", c.Series[0].Total, c.Series[1].Total)
	}
	for _, s := range c.Series {
		pts := strings.Fields(s.Points)
		if len(pts) != len(minutes) {
			t.Errorf("%s: %d points for %d minutes", s.Name, len(pts), len(minutes))
		}
		if pts[0] != "48,175" && s.Name == "no action" { // 0 at the left edge, on the axis
			t.Errorf("%s: first point %s", s.Name, pts[0])
		}
		if s.Name == "reject" && pts[0] != "48,10" { // the maximum at the top
			t.Errorf("%s: first point %s", s.Name, pts[0])
		}
		if last := pts[len(pts)-1]; !strings.HasPrefix(last, "750,") {
			t.Errorf("%s: last point %s, want at the right edge", s.Name, last)
		}
	}
	// 00:00 and 03:00 are labelled.
	if len(c.XLabels) != 2 || c.XLabels[0].Text != "00:00" || c.XLabels[1].Text != "03:00" {
		t.Errorf("labels %+v", c.XLabels)
	}
	if e := newChart("e", "E", nil, func(m activity.Minute) map[string]uint64 { return m.ByAction }); len(e.Series) != 0 {
		t.Errorf("an empty window has series %+v", e.Series)
	}
}

func TestCSRFToken(t *testing.T) {
	clk := &clock{now: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)}
	k, other := newCSRFKey(clk.Now), newCSRFKey(clk.Now)
	tok := k.token()
	for _, tc := range []struct {
		name  string
		key   csrfKey
		tok   string
		later time.Duration
		want  bool
	}{
		{"fresh", k, tok, 0, true},
		{"another process's", other, tok, 0, false},
		{"empty", k, "", 0, false},
		{"not base64", k, "!!!", 0, false},
		{"11 hours old", k, tok, 11 * time.Hour, true},
		{"13 hours old", k, tok, 2 * time.Hour, false}, // cumulative: 13 h
	} {
		clk.Add(tc.later)
		if got := tc.key.valid(tc.tok); got != tc.want {
			t.Errorf("%s: valid = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// fullDay is 24 hours of minutes with every action, front end and source.
func fullDay() []activity.Minute {
	start := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	minutes := make([]activity.Minute, 1440)
	for i := range minutes {
		minutes[i] = activity.Minute{Start: start.Add(time.Duration(i) * time.Minute),
			ByAction:   map[string]uint64{"no action": uint64(i % 50), "add header": uint64(i % 7), "rewrite subject": 1, "greylist": 2, "reject": uint64(i % 5)},
			ByFrontend: map[string]uint64{"milter": uint64(i % 40), "spamd": uint64(i % 9), "rspamd": 3, "console": 0},
			BySource:   map[string]uint64{"dovecot": uint64(i % 3), "autolearn": uint64(i % 11), "cli": 0}}
	}
	return minutes
}

// BenchmarkThroughputPage draws and renders the throughput page of a
// full day (1440 minutes, 5 actions, 4 front ends, 3 sources).
func BenchmarkThroughputPage(b *testing.B) {
	c := New(Options{Config: config.Default()})
	minutes := fullDay()
	var size int
	for b.Loop() {
		w := httptest.NewRecorder()
		c.render(w, 200, "throughput", view{Title: "Throughput", Data: struct {
			Minutes int
			Charts  []chart
		}{len(minutes), throughputCharts(minutes)}})
		size = w.Body.Len()
	}
	b.ReportMetric(float64(size), "bytes/page")
}
