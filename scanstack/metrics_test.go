package scanstack

import (
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicemail/sluice/nn"
)

// TestNetworkInService: the gauge gives the epoch of the network the
// watcher holds, 0 without a file or without a watcher, and follows a
// newer file once the watcher reloads it.
func TestNetworkInService(t *testing.T) {
	gauge := func(w *nn.Watcher) float64 {
		t.Helper()
		reg := prometheus.NewRegistry()
		reg.MustRegister(NetworkInService(w))
		mfs, err := reg.Gather()
		if err != nil || len(mfs) != 1 || len(mfs[0].GetMetric()) != 1 {
			t.Fatalf("gather: %v, %d families", err, len(mfs))
		}
		return mfs[0].GetMetric()[0].GetGauge().GetValue()
	}
	if got := gauge(nil); got != 0 {
		t.Errorf("no watcher ([neural] off): %v, want 0", got)
	}
	path := filepath.Join(t.TempDir(), "neural.nn")
	w := nn.NewWatcher(path, nil)
	if got := gauge(w); got != 0 {
		t.Errorf("no network file: %v, want 0", got)
	}
	for _, epoch := range []uint64{3, 4} {
		if err := nn.Save(path, network(t, epoch)); err != nil {
			t.Fatal(err)
		}
		w.Reload()
		if got := gauge(w); got != float64(epoch) {
			t.Errorf("network of epoch %d in service: gauge %v", epoch, got)
		}
	}
}

// network is a one-input network of the given epoch.
func network(t testing.TB, epoch uint64) *nn.Network {
	t.Helper()
	names := []string{"BAYES_SPAM"}
	return &nn.Network{Inputs: names, Digest: nn.InputDigest(names), Hidden: 1, HiddenAct: nn.ReLU, OutAct: nn.Tanh,
		Offset: []float32{0}, Scale: []float32{1}, W1: []float32{1}, B1: []float32{0}, W2: []float32{1}, Epoch: epoch}
}
