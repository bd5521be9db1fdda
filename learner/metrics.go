package learner

import (
	"sync"

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
	matched     *prometheus.CounterVec // result: fp, fn, confirmed, unmatched, repeated
	corrections *prometheus.CounterVec // kind (fp, fn), profile

	profMu   sync.Mutex
	profiles map[string]bool // the profile labels corrections used so far
}

// maxProfileLabels bounds the profile label values of corrections (a
// scan record names its profile); further profiles count as "(other)".
const maxProfileLabels = 32

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
			Help: "Scan records from the milters and spamd: received, dropped (queue full), malformed, or listed (an allow or block list decided: shown, never learned).",
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
		matched: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_learner_learns_matched_total",
			Help: "Users' learns of spam or ham (not autolearn) matched by content digest to the verdict the message got on arrival: fp, fn (corrections), confirmed, unmatched (no verdict kept: scanned elsewhere or too long ago), repeated (that verdict was already matched for this class).",
		}, []string{"result"}),
		corrections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_learner_corrections_total",
			Help: "Users' learns that contradict the arrival verdict, by kind (fp: flagged, learned ham; fn: no action, learned spam) and the verdict's settings profile (\"\" the default).",
		}, []string{"kind", "profile"}),
		profiles: make(map[string]bool),
	}
	if reg != nil {
		reg.MustRegister(m.learns, m.autoSkip, m.records, m.spool, m.nnSamples, m.nnTrainings, m.nnPending, m.nnNew, m.refused, m.busy, m.batchSize, m.commitDur,
			m.matched, m.corrections)
	}
	return m
}

func (m *Metrics) learn(source string, label Label, outcome string) {
	m.learns.WithLabelValues(source, label.String(), outcome).Inc()
}

// correction counts one false positive or negative of a profile.
func (m *Metrics) correction(kind, profile string) {
	m.profMu.Lock()
	if !m.profiles[profile] {
		if len(m.profiles) >= maxProfileLabels {
			profile = "(other)"
		}
		m.profiles[profile] = true
	}
	m.profMu.Unlock()
	m.corrections.WithLabelValues(kind, profile).Inc()
}
