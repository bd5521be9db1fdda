package main

import (
	"encoding/json"
	"sort"

	"github.com/prometheus/client_golang/prometheus"
)

// countersCollector exposes a server's counter snapshot (milter.Counters,
// spamd.Counters: structs of uint64 and map[string]uint64 with JSON names)
// as Prometheus counters named sluice_<prefix>_<field>_total, a map's keys
// as the label "name". The snapshot is taken at scrape time: cheap, and
// the servers keep their own atomic counters.
type countersCollector struct {
	prefix   string
	snapshot func() any
}

// Describe sends nothing: an unchecked collector, its metrics are known
// only from the snapshot.
func (c *countersCollector) Describe(chan<- *prometheus.Desc) {}

// Collect flattens the snapshot.
func (c *countersCollector) Collect(ch chan<- prometheus.Metric) {
	b, err := json.Marshal(c.snapshot())
	if err != nil {
		return
	}
	var fields map[string]any
	if json.Unmarshal(b, &fields) != nil {
		return
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name := "sluice_" + c.prefix + "_" + k + "_total"
		switch v := fields[k].(type) {
		case float64:
			d := prometheus.NewDesc(name, c.prefix+" counter "+k, nil, nil)
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
		case map[string]any:
			d := prometheus.NewDesc(name, c.prefix+" counter "+k+" by name", []string{"name"}, nil)
			for label, x := range v {
				if f, ok := x.(float64); ok {
					ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, f, label)
				}
			}
		}
	}
}
