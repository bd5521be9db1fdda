package spamd

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/sluicemail/sluice/metrics"
	"github.com/sluicemail/sluice/scan"
)

const numActions = int(scan.Reject) + 1

// counters are the listener's Prometheus counters, declared here and
// registered by Register; each child is resolved once, so counting is an
// atomic add. Counters (the snapshot logged at exit) reads them back.
type counters struct {
	conns, errors, timeouts, panics, truncated, learns prometheus.Counter
	learnsRefused                                      prometheus.Counter
	requests                                           [4]prometheus.Counter // by Proto
	actions                                            [numActions]prometheus.Counter
	records                                            [2]prometheus.Counter // sent, dropped

	requestsVec, scannedVec, symbols, recordsVec *prometheus.CounterVec
	scanTime                                     prometheus.Histogram
}

func newCounters() counters {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_spamd_" + name, Help: help})
	}
	c := counters{
		conns:         counter("connections_total", "Connections accepted by the spamd/rspamd listener."),
		errors:        counter("errors_total", "Requests that failed: malformed, cut short, timed out, or not scanned (the client got an error reply)."),
		timeouts:      counter("timeouts_total", "Failed requests that ran out of spamd.header_timeout or spamd.timeout."),
		panics:        counter("panics_total", "Connections ended by a recovered panic."),
		truncated:     counter("truncated_total", "Messages over spamd.max_size: only the first max_size bytes were scanned."),
		learns:        counter("learns_total", "Learns answered (TELL, /learnspam, /learnham), learned or already learned."),
		learnsRefused: counter("learns_refused_total", "Learns refused as not authorized: over TCP without spamd.password (or with none set)."),
		requestsVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_spamd_requests_total",
			Help: "Requests read, by protocol (spamd: spamc and Exim; rspamc: rspamd's legacy protocol; http: rspamd's HTTP API).",
		}, []string{"proto"}),
		scannedVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_spamd_scanned_total",
			Help: "Messages scanned by the spamd/rspamd listener, by action (no_action, add_header, rewrite_subject, greylist, reject).",
		}, []string{"action"}),
		symbols: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_spamd_symbol_hits_total",
			Help: "Scanned messages on which a symbol fired, by symbol (BAYES_SPAM, NEURAL_HAM, rule names).",
		}, []string{"symbol"}),
		recordsVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_spamd_records_total",
			Help: "Scan records sent to the learner (spamd feed), or dropped (the learner is down or its queue is full).",
		}, []string{"result"}),
		scanTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sluice_spamd_scan_seconds",
			Help:    "Time the spamd/rspamd listener took to scan one message (tokenize, classify, rules, network), once it was read.",
			Buckets: metrics.ScanBuckets,
		}),
	}
	for p := ProtoSpamd; p <= ProtoHTTP; p++ {
		c.requests[p] = c.requestsVec.WithLabelValues(p.String())
	}
	c.records = [2]prometheus.Counter{c.recordsVec.WithLabelValues("sent"), c.recordsVec.WithLabelValues("dropped")}
	for i := range numActions {
		c.actions[i] = c.scannedVec.WithLabelValues(metrics.ActionLabel(scan.Action(i)))
	}
	return c
}

func (c *counters) collectors() []prometheus.Collector {
	return []prometheus.Collector{c.conns, c.errors, c.timeouts, c.panics, c.truncated, c.learns, c.learnsRefused,
		c.requestsVec, c.scannedVec, c.symbols, c.recordsVec, c.scanTime}
}

// scanned counts one verdict: its action, its symbols, its time.
func (c *counters) scanned(v *scan.Verdict, elapsed time.Duration) {
	if int(v.Action) < numActions {
		c.actions[v.Action].Inc()
	}
	for _, sym := range v.Symbols {
		c.symbols.WithLabelValues(sym.Name).Inc()
	}
	c.scanTime.Observe(elapsed.Seconds())
}

// scans is the number of messages scanned so far.
func (c *counters) scans() uint64 {
	var n uint64
	for _, a := range c.actions {
		n += value(a)
	}
	return n
}

// value reads a counter back.
func value(c prometheus.Counter) uint64 {
	if c == nil {
		return 0
	}
	var d dto.Metric
	if c.Write(&d) != nil || d.Counter == nil {
		return 0
	}
	return uint64(d.Counter.GetValue())
}

// Register registers the listener's metrics on reg (one listener per
// registry): the counters above, and the connections refused over a cap
// as a counter read at scrape time.
func (s *Server) Register(reg prometheus.Registerer) error {
	cs := append(s.count.collectors(), prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "sluice_spamd_refused_total",
		Help: "Connections closed at once because spamd.max_connections or max_connections_per_client were open.",
	}, func() float64 { lc := s.srv.Counters(); return float64(lc.RefusedFull + lc.RefusedClient) }))
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("spamd: register metrics: %w", err)
		}
	}
	return nil
}
