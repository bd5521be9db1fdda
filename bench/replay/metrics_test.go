package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// exposition is /metrics as sluice serve writes it (abridged).
const exposition = `# HELP sluice_learner_records_total Scan records from the milters.
# TYPE sluice_learner_records_total counter
sluice_learner_records_total{result="dropped"} 2
sluice_learner_records_total{result="received"} 40
# TYPE sluice_learner_autolearn_skipped_total counter
sluice_learner_autolearn_skipped_total{reason="disabled"} 30
sluice_learner_autolearn_skipped_total{reason="local"} 5
sluice_learner_learns_total{class="spam",outcome="learned",source="autolearn"} 3
sluice_learner_learns_total{class="spam",outcome="learned",source="cli"} 100
sluice_learner_neural_trainings_pending 1
sluice_learner_neural_new_samples 998
sluice_learner_neural_trainings_total{result="published"} 6
sluice_learner_neural_trainings_total{result="failed"} 1
sluice_neural_epoch_in_service 6
sluice_learner_commit_seconds_bucket{le="+Inf"} 12 1700000000000
`

func TestLearnerState(t *testing.T) {
	ms, err := parseMetrics(strings.NewReader(exposition))
	if err != nil {
		t.Fatal(err)
	}
	st, err := learnerState(ms)
	if err != nil {
		t.Fatal(err)
	}
	want := Learner{Received: 40, Processed: 38, Dropped: 2, Pending: 1, NewSamples: 998, InService: 6, Published: 6}
	if st != want {
		t.Fatalf("state %+v, want %+v", st, want)
	}
	if st.Idle() {
		t.Error("idle with records not taken in and a training pending")
	}
	st.Processed, st.Pending = 40, 0
	if !st.Idle() {
		t.Error("not idle with every record taken in and nothing pending")
	}
	// A serve built before the gauges: an error, not an endless wait.
	old := strings.ReplaceAll(exposition, "sluice_learner_neural_trainings_pending 1\n", "")
	if ms, err = parseMetrics(strings.NewReader(old)); err != nil {
		t.Fatal(err)
	}
	if _, err := learnerState(ms); err == nil {
		t.Error("no trainings_pending gauge: no error")
	}
}

func TestParseMetricsRefuses(t *testing.T) {
	for _, in := range []string{
		"x{a=\"1\" 2\n",
		"x{a=1} 2\n",
		"x 1e\n",
		"x\n",
	} {
		if _, err := parseMetrics(strings.NewReader(in)); err == nil {
			t.Errorf("%q parsed without an error", in)
		}
	}
}

func TestScrape(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(exposition))
	}))
	defer srv.Close()
	st, err := scrape(context.Background(), srv.Client(), srv.URL+"/metrics")
	if err != nil || st.NewSamples != 998 {
		t.Fatalf("scrape: %+v, %v", st, err)
	}
	if _, err := scrape(context.Background(), srv.Client(), srv.URL+"/other"); err == nil {
		t.Error("a 404 scraped without an error")
	}
}
