package scanstack

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicemail/sluice/bayes"
	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/metrics"
	"github.com/sluicemail/sluice/nn"
	"github.com/sluicemail/sluice/scan"
)

// Collectors are the stack's own counters for a daemon's registry:
// sluice_statfile_faults_total and sluice_scan_non_finite_total.
func (s *Stack) Collectors() []prometheus.Collector {
	return metrics.Scanning(s.Stats.Faults, s.Live.NonFinite)
}

// SymbolWeights are the symbols' configured scores (rspamd's /counters):
// the rules' weights, and the Bayes and network symbols' greatest.
func SymbolWeights(cfg config.Config) map[string]float64 {
	w := cfg.Rules.Weights()
	w[bayes.SymbolSpam], w[bayes.SymbolHam] = cfg.Classifier.SpamSymbolScore, cfg.Classifier.HamSymbolScore
	w[scan.SymbolNeuralSpam], w[scan.SymbolNeuralHam] = cfg.Neural.SpamWeight, cfg.Neural.HamWeight
	return w
}

// NetworkInService is the gauge sluice_neural_epoch_in_service: the
// epoch of the default network the scanners use now (0: none, or [neural]
// off, w nil). The learner's file may be newer until the watcher has
// swapped it in; bench/replay.sh waits for the two to agree.
func NetworkInService(w *nn.Watcher) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sluice_neural_epoch_in_service",
		Help: "Epoch of the neural network the scanners use (0: none yet, or [neural] off).",
	}, func() float64 {
		if w == nil {
			return 0
		}
		if n := w.Network(); n != nil {
			return float64(n.Epoch)
		}
		return 0
	})
}
