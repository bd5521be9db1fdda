package milter

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/sluicemail/sluice/metrics"
	"github.com/sluicemail/sluice/scan"
)

// skipReason says why a message was not scanned.
type skipReason int

const (
	skipAuthenticated skipReason = iota
	skipTrusted
	skipOversize
	numSkips
)

var skipNames = [numSkips]string{"authenticated", "trusted", "oversize"}

const numActions = int(scan.Reject) + 1

// counters are the server's Prometheus counters, declared here and
// registered by Register; each child is resolved once so that counting
// is an atomic add. Counters (the snapshot the daemons log at exit)
// reads them back.
type counters struct {
	connections prometheus.Counter
	actions     [numActions]prometheus.Counter // sluice_milter_scanned_total{action}
	quarantined prometheus.Counter
	skipped     [numSkips]prometheus.Counter
	errors      prometheus.Counter // default verdicts given for our own failures
	timeouts    prometheus.Counter
	nonFinite   prometheus.Counter // verdicts with a stage left out for a non-finite result
	symbols     *prometheus.CounterVec
	scanTime    prometheus.Histogram

	scannedVec, skippedVec *prometheus.CounterVec
}

func newCounters() counters {
	m := counters{
		connections: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_milter_connections_total",
			Help: "MTA connections accepted by the milter.",
		}),
		scannedVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_milter_scanned_total",
			Help: "Messages scanned by the milter, by action (no_action, add_header, rewrite_subject, greylist, reject).",
		}, []string{"action"}),
		quarantined: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_milter_quarantined_total",
			Help: "Messages at the reject score held in quarantine (milter.quarantine) instead of rejected.",
		}),
		skippedVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_milter_skipped_total",
			Help: "Messages passed without a scan, by reason (authenticated, trusted, oversize).",
		}, []string{"reason"}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_milter_errors_total",
			Help: "Messages given milter.default_action because scanning failed or a callback panicked.",
		}),
		timeouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_milter_timeouts_total",
			Help: "MTA connections closed because a command or reply took longer than idle_timeout or read_timeout.",
		}),
		nonFinite: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_milter_non_finite_total",
			Help: "Verdicts from which a stage (Bayes, the network, a symbol) was left out because its result was not a finite number.",
		}),
		symbols: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_milter_symbol_hits_total",
			Help: "Scanned messages on which a symbol fired, by symbol (BAYES_SPAM, NEURAL_HAM, rule names).",
		}, []string{"symbol"}),
		scanTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sluice_milter_scan_seconds",
			Help:    "Time the milter took to scan one message (tokenize, classify, rules, network), from end of message to verdict.",
			Buckets: metrics.ScanBuckets,
		}),
	}
	for i := range numActions {
		m.actions[i] = m.scannedVec.WithLabelValues(metrics.ActionLabel(scan.Action(i)))
	}
	for i, name := range skipNames {
		m.skipped[i] = m.skippedVec.WithLabelValues(name)
	}
	return m
}

func (m *counters) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.connections, m.scannedVec, m.quarantined, m.skippedVec,
		m.errors, m.timeouts, m.nonFinite, m.symbols, m.scanTime}
}

// scanned counts one verdict: its action, its symbols, its time.
func (m *counters) scanned(v *scan.Verdict, elapsed time.Duration) {
	if int(v.Action) < numActions {
		m.actions[v.Action].Inc()
	}
	for _, sym := range v.Symbols {
		m.symbols.WithLabelValues(sym.Name).Inc()
	}
	m.scanTime.Observe(elapsed.Seconds())
}

// value reads a counter back (for Counters and the exit log line).
func value(c prometheus.Counter) uint64 {
	var d dto.Metric
	if c.Write(&d) != nil || d.Counter == nil {
		return 0
	}
	return uint64(d.Counter.GetValue())
}

// Counters is a snapshot of the server's counters.
type Counters struct {
	Connections uint64            `json:"connections"`
	Scanned     uint64            `json:"scanned"`
	Actions     map[string]uint64 `json:"actions"` // by scan.Action name
	Quarantined uint64            `json:"quarantined"`
	Skipped     map[string]uint64 `json:"skipped"` // authenticated, trusted, oversize
	Errors      uint64            `json:"errors"`
	Timeouts    uint64            `json:"timeouts"`
	Refused     uint64            `json:"refused"` // connections over max_connections
	// NonFinite counts verdicts from which a stage (Bayes, the network, a
	// symbol) was left out because its result was not a finite number
	// (scan.Verdict.Skipped).
	NonFinite      uint64 `json:"non_finite"`
	RecordsSent    uint64 `json:"records_sent"`
	RecordsDropped uint64 `json:"records_dropped"`
}

func (m *counters) snapshot() Counters {
	c := Counters{
		Connections: value(m.connections),
		Actions:     make(map[string]uint64, numActions),
		Quarantined: value(m.quarantined),
		Skipped:     make(map[string]uint64, numSkips),
		Errors:      value(m.errors),
		Timeouts:    value(m.timeouts),
		NonFinite:   value(m.nonFinite),
	}
	for i := range m.actions {
		n := value(m.actions[i])
		c.Actions[scan.Action(i).String()] = n
		c.Scanned += n
	}
	for i := range m.skipped {
		c.Skipped[skipNames[i]] = value(m.skipped[i])
	}
	return c
}

// LogValue makes Counters print as a group of attributes, with keys
// without spaces (action_add_header, skipped_trusted).
func (c Counters) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.Uint64("connections", c.Connections), slog.Uint64("scanned", c.Scanned),
		slog.Uint64("quarantined", c.Quarantined), slog.Uint64("errors", c.Errors),
		slog.Uint64("timeouts", c.Timeouts), slog.Uint64("refused", c.Refused),
		slog.Uint64("non_finite", c.NonFinite),
		slog.Uint64("records_sent", c.RecordsSent), slog.Uint64("records_dropped", c.RecordsDropped),
	}
	for i := range numActions {
		a := scan.Action(i)
		attrs = append(attrs, slog.Uint64("action_"+metrics.ActionLabel(a), c.Actions[a.String()]))
	}
	for _, name := range skipNames {
		attrs = append(attrs, slog.Uint64("skipped_"+name, c.Skipped[name]))
	}
	return slog.GroupValue(attrs...)
}
