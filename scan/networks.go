package scan

import (
	"context"
	"log/slog"
	"sync"

	"github.com/sluicemail/sluice/nn"
)

// Networks are the watchers of the network files a scanner uses: the
// default network and, with use_settings, one per settings profile. Each
// watcher loads its file at once (a missing file means no network yet; a
// bad one is logged and refused) and, while Start's goroutines run, swaps
// in every file the learner publishes.
type Networks struct {
	def      *nn.Watcher
	profiles map[string]*nn.Watcher
}

// NewNetworks watches the default network file and the files of the
// profiles named in profiles (profile name → path).
func NewNetworks(defaultFile string, profiles map[string]string, log *slog.Logger) *Networks {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &Networks{def: nn.NewWatcher(defaultFile, log)}
	for name, path := range profiles {
		if n.profiles == nil {
			n.profiles = make(map[string]*nn.Watcher, len(profiles))
		}
		n.profiles[name] = nn.NewWatcher(path, log.With("profile", name))
	}
	return n
}

// Neural is the scanner's post-classifier over these networks with the
// given symbol weights. A nil *Networks gives no post-classifier.
func (n *Networks) Neural(spamWeight, hamWeight float64) Neural {
	if n == nil {
		return Neural{}
	}
	nl := Neural{Source: n.def, SpamWeight: spamWeight, HamWeight: hamWeight}
	for name, w := range n.profiles {
		if nl.Profiles == nil {
			nl.Profiles = make(map[string]NetworkSource, len(n.profiles))
		}
		nl.Profiles[name] = w
	}
	return nl
}

// Start runs every watcher in a goroutine of its own until the returned
// stop is called; stop waits for them to end and may be called more than
// once. A daemon calls it after its listeners have stopped. A nil
// *Networks starts nothing.
func (n *Networks) Start(log *slog.Logger) (stop func()) {
	if n == nil {
		return func() {}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	run := func(w *nn.Watcher) {
		wg.Go(func() {
			if err := w.Run(ctx); err != nil {
				log.Error("network watcher", "err", err)
			}
		})
	}
	run(n.def)
	for _, w := range n.profiles {
		run(w)
	}
	return sync.OnceFunc(func() {
		cancel()
		wg.Wait()
	})
}

// Default is the watcher of the default network (nil for a nil *Networks).
func (n *Networks) Default() *nn.Watcher {
	if n == nil {
		return nil
	}
	return n.def
}
