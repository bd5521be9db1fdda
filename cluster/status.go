package cluster

import (
	"maps"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Status is what a node knows of itself, for `sluice cluster status`
// (its --json form) and the learner's status page.
type Status struct {
	Site        string            `json:"site"`
	Origin      string            `json:"origin"`
	Connected   bool              `json:"connected"`        // to a NATS server
	Cursor      uint64            `json:"cursor"`           // last stream sequence applied
	StreamFirst uint64            `json:"stream_first_seq"` // as last seen
	StreamLast  uint64            `json:"stream_last_seq"`
	Lag         uint64            `json:"lag"`   // stream events not applied yet
	Marks       map[string]uint64 `json:"marks"` // per origin: highest sequence applied
	Outbox      int               `json:"outbox"`
	NextSeq     uint64            `json:"next_seq"`  // this origin's next event
	Published   uint64            `json:"published"` // since start
	Applied     uint64            `json:"applied"`   // since start
	// ResendsRefused counts resends the stream refused as already held
	// (a lost ack, a crash between publish and ack), since start.
	ResendsRefused uint64 `json:"resends_refused"`
	// RebootstrapNeeded: the cursor fell behind the stream's retention;
	// the host needs a snapshot and applies nothing until then.
	RebootstrapNeeded bool      `json:"rebootstrap_needed"`
	ApplyStopped      string    `json:"apply_stopped,omitempty"`   // why applying stopped
	PublishStopped    string    `json:"publish_stopped,omitempty"` // why publishing stopped
	LastError         string    `json:"last_error,omitempty"`
	LastErrorTime     time.Time `json:"last_error_time,omitzero"`
}

// Status returns the node's status now.
func (n *Node) Status() Status {
	n.mu.Lock()
	s := n.st
	s.Marks = maps.Clone(n.st.Marks)
	n.mu.Unlock()
	s.Connected = n.nc.IsConnected()
	s.Outbox = n.outbox.Len()
	s.NextSeq = n.outbox.Next()
	return s
}

func (n *Node) setStatus(f func(*Status)) {
	n.mu.Lock()
	f(&n.st)
	n.mu.Unlock()
}

// fail records err as the last error and logs it.
func (n *Node) fail(err error) {
	n.log.Warn("cluster", "err", err)
	n.m.errors.Inc()
	n.setStatus(func(s *Status) { s.LastError, s.LastErrorTime = err.Error(), time.Now() })
}

// Metrics are the node's Prometheus series, registered on a registry the
// caller owns (no global state).
type Metrics struct {
	published     prometheus.Counter
	publishErrors prometheus.Counter
	refused       *prometheus.CounterVec // reason: duplicate, wrong_last_sequence
	applied       prometheus.Counter
	applyDur      prometheus.Histogram
	errors        prometheus.Counter
	outbox        prometheus.Gauge
	cursor        prometheus.Gauge
	lag           prometheus.Gauge
	rebootstrap   prometheus.Gauge
}

// NewMetrics creates the series and registers them on reg (nil: not
// registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_cluster_published_total",
			Help: "This host's learn events the stream acknowledged.",
		}),
		publishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_cluster_publish_errors_total",
			Help: "Publishes that failed (broker unreachable, no quorum, timeout); the event stays in the outbox.",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_cluster_resends_refused_total",
			Help: "Resends of an event the stream already held (after a lost ack or a crash), by reason: duplicate (within the dedup window), wrong_last_sequence.",
		}, []string{"reason"}),
		applied: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_cluster_applied_total",
			Help: "Stream events applied to this host's statfile.",
		}),
		applyDur: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sluice_cluster_apply_seconds",
			Help:    "Time to apply one stream event.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14),
		}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_cluster_errors_total",
			Help: "Errors of the cluster node (each is logged; the last is in the status).",
		}),
		outbox: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sluice_cluster_outbox_events",
			Help: "This host's events waiting in the outbox for the stream's ack.",
		}),
		cursor: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sluice_cluster_cursor",
			Help: "The last stream sequence applied to this host's statfile.",
		}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sluice_cluster_lag_events",
			Help: "Stream events not yet applied on this host.",
		}),
		rebootstrap: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sluice_cluster_rebootstrap_needed",
			Help: "1 when this host's cursor fell behind the stream's retention: it applies nothing until re-bootstrapped.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.published, m.publishErrors, m.refused, m.applied, m.applyDur, m.errors, m.outbox, m.cursor, m.lag, m.rebootstrap)
	}
	return m
}
