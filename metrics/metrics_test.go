package metrics

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sluicemail/sluice/scan"
)

func TestActionLabel(t *testing.T) {
	want := []string{"no_action", "add_header", "rewrite_subject", "greylist", "reject"}
	for a := scan.NoAction; a <= scan.Reject; a++ {
		if got := ActionLabel(a); got != want[a] {
			t.Errorf("%v: %q, want %q", a, got, want[a])
		}
	}
}

func TestSymbolList(t *testing.T) {
	tests := []struct {
		syms []scan.Symbol
		want string
	}{
		{nil, ""},
		{[]scan.Symbol{{Name: "BAYES_SPAM", Score: 7.918}}, "BAYES_SPAM=7.92"},
		{[]scan.Symbol{{Name: "BAYES_HAM", Score: -4}, {Name: "MISSING_MID", Score: 0.5}}, "BAYES_HAM=-4.00,MISSING_MID=0.50"},
	}
	for _, tt := range tests {
		if got := SymbolList(tt.syms); got != tt.want {
			t.Errorf("%v: %q, want %q", tt.syms, got, tt.want)
		}
	}
}

func TestCountersSumFrontEndsAndFrequency(t *testing.T) {
	reg := prometheus.NewRegistry()
	for _, fe := range []string{"milter", "spamd"} {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_" + fe + "_symbol_hits_total", Help: "h"}, []string{"symbol"})
		reg.MustRegister(v)
		v.WithLabelValues("BAYES_SPAM").Add(30)
	}
	other := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_other_symbol_hits_total", Help: "h"}, []string{"symbol"})
	reg.MustRegister(other)
	other.WithLabelValues("BAYES_SPAM").Add(1000)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cs, err := BuildCounters(ControllerOptions{Gatherer: reg, Start: start, Now: func() time.Time { return start.Add(2 * time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Hits != 60 || cs[0].Frequency != 0.5 {
		t.Fatalf("%+v", cs)
	}
}

func TestScanningAndServe(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(Scanning(func() uint64 { return 3 }, func() uint64 { return 4 })...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := Serve(ln, reg, slog.New(slog.DiscardHandler))
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	}()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{"sluice_statfile_faults_total": 3, "sluice_scan_non_finite_total": 4} {
		f := fams[name]
		if f == nil || f.GetMetric()[0].GetCounter().GetValue() != want || !strings.Contains(f.GetHelp(), " ") {
			t.Errorf("%s: %v", name, f)
		}
	}
	resp2, err := c.Get("http://" + ln.Addr().String() + "/other")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp2.Body)
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusNotFound {
		t.Errorf("/other: %d", resp2.StatusCode)
	}
}
