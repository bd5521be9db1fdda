package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestCounters(t *testing.T) {
	type snapshot struct {
		Scanned uint64            `json:"scanned"`
		Actions map[string]uint64 `json:"actions"`
	}
	n := uint64(3)
	reg := prometheus.NewRegistry()
	reg.MustRegister(Counters("milter", func() any {
		return snapshot{Scanned: n, Actions: map[string]uint64{"reject": 2, "accept": 1}}
	}))
	gather := func() map[string]float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				key := mf.GetName()
				for _, l := range m.GetLabel() {
					key += "{" + l.GetName() + "=" + l.GetValue() + "}"
				}
				got[key] = m.GetCounter().GetValue()
			}
		}
		return got
	}
	tests := []struct {
		scanned uint64
		want    map[string]float64
	}{
		{3, map[string]float64{"sluice_milter_scanned_total": 3, "sluice_milter_actions_total{name=accept}": 1, "sluice_milter_actions_total{name=reject}": 2}},
		{4, map[string]float64{"sluice_milter_scanned_total": 4, "sluice_milter_actions_total{name=accept}": 1, "sluice_milter_actions_total{name=reject}": 2}},
	}
	for _, tt := range tests {
		n = tt.scanned // the snapshot is taken at scrape time
		got := gather()
		if len(got) != len(tt.want) {
			t.Fatalf("gathered %v, want %v", got, tt.want)
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Fatalf("gathered %v, want %v", got, tt.want)
			}
		}
	}
}
