package scanstack

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicemail/sluice/nn"
)

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
