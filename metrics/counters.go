// Package metrics exposes the services' own counters to Prometheus. The
// milter and the spamd listener keep atomic counters and hand out
// snapshots (structs of uint64 and map[string]uint64 with JSON names);
// Counters turns a snapshot into Prometheus counters at scrape time, so
// the servers never depend on Prometheus. (The learner registers its
// metrics with Prometheus itself.)
package metrics

import (
	"encoding/json"
	"sort"

	"github.com/prometheus/client_golang/prometheus"
)

// Counters is a collector of a server's counter snapshot (milter.Counters,
// spamd.Counters) as Prometheus counters named sluice_<prefix>_<field>_total,
// a map's keys as the label "name". snapshot is called at scrape time.
func Counters(prefix string, snapshot func() any) prometheus.Collector {
	return &countersCollector{prefix: prefix, snapshot: snapshot}
}

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
