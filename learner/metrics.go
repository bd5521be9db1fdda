package learner

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the learner's Prometheus counters. They are registered on a
// registry the caller owns (no global state), so tests and `sluice serve`
// each build their own.
type Metrics struct {
	learns      *prometheus.CounterVec // source, class, outcome
	autoSkip    *prometheus.CounterVec // reason
	records     *prometheus.CounterVec // result: received, dropped, malformed
	spool       *prometheus.CounterVec // event: drained, rejected, failed
	nnSamples   *prometheus.CounterVec // result: spam, ham, between_thresholds, retired_inputs
	nnTrainings *prometheus.CounterVec // result: published, failed, discarded
	nnPending   prometheus.Gauge       // networks whose training is due or running
	nnNew       prometheus.Gauge       // samples added since each network's last training, summed
	refused     *prometheus.CounterVec // listener, reason
	busy        *prometheus.CounterVec // listener
	batchSize   prometheus.Histogram
	commitDur   prometheus.Histogram
}

// NewMetrics creates the counters and registers them on reg (nil: not
// registered, for tests that only read them).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		learns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_learner_learns_total",
			Help: "Learn requests by source (dovecot, cli, http, spool, autolearn, spamd), class (spam, ham, forget) and outcome (learned, already_learned, relearned, forgotten, not_learned, not_message, error).",
		}, []string{"source", "class", "outcome"}),
		autoSkip: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_learner_autolearn_skipped_total",
			Help: "Scan records not autolearned, by reason.",
		}, []string{"reason"}),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_learner_records_total",
			Help: "Scan records from the milters: received, dropped (queue full) or malformed.",
		}, []string{"result"}),
		spool: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_learner_spool_total",
			Help: "Spooled messages: drained (learned), rejected (not a message or unreadable: removed), failed (kept for later).",
		}, []string{"event"}),
		nnSamples: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_learner_neural_samples_total",
			Help: "Scan records with the network's inputs: pooled as spam or ham, or not (between_thresholds, retired_inputs: an input set replaced before).",
		}, []string{"result"}),
		nnTrainings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_learner_neural_trainings_total",
			Help: "Trainings of the neural network: published, failed (or cancelled), discarded (the input set changed meanwhile).",
		}, []string{"result"}),
		nnPending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sluice_learner_neural_trainings_pending",
			Help: "Networks whose training is due (max_train new samples) or running: 0 when every network is up to date with its pools.",
		}),
		nnNew: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sluice_learner_neural_new_samples",
			Help: "Samples added to the training pools since the last training (summed over networks); a training is due at max_train.",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_learner_refused_total",
			Help: "Learn requests refused as not authorized, by listener (http) and reason (no_password: learning over TCP is off without learner.password; wrong_password).",
		}, []string{"listener", "reason"}),
		busy: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_learner_busy_total",
			Help: "Learn requests refused at once because the listener (socket, http) already served its most concurrent learns.",
		}, []string{"listener"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sluice_learner_commit_messages",
			Help:    "Messages journaled per commit (group commit: one fsync each).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
		}),
		commitDur: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sluice_learner_commit_seconds",
			Help:    "Time to journal (fsync) and apply one commit.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
	}
	if reg != nil {
		reg.MustRegister(m.learns, m.autoSkip, m.records, m.spool, m.nnSamples, m.nnTrainings, m.nnPending, m.nnNew, m.refused, m.busy, m.batchSize, m.commitDur)
	}
	return m
}

func (m *Metrics) learn(source string, label Label, outcome string) {
	m.learns.WithLabelValues(source, label.String(), outcome).Inc()
}
