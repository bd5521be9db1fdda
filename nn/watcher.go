package nn

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/sluicemail/sluice/filewatch"
)

// Watcher keeps the network of one file in service: it loads the file at
// start and again whenever it is replaced, and swaps the new network in
// atomically. A file that fails validation is refused and logged; the
// previous network stays in service. Scanners call Network once per
// message, so a swap takes effect between messages.
type Watcher struct {
	path string
	log  *slog.Logger
	cur  atomic.Pointer[Network]
	// loaded counts successful loads, refused failed ones (for metrics and
	// tests).
	loaded, refused atomic.Uint64
	// seen is the identity of the file last loaded, so that an event for an
	// unchanged file does not reload it.
	seen atomic.Pointer[fileID]
}

type fileID struct {
	mod  time.Time
	size int64
	ino  uint64
}

// NewWatcher returns a Watcher of the network file at path and loads it.
// A missing file is not an error (Network returns nil until one appears);
// a bad one is logged and refused.
func NewWatcher(path string, log *slog.Logger) *Watcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{path: path, log: log}
	w.Reload()
	return w
}

// Network returns the network in service, nil when there is none.
func (w *Watcher) Network() *Network { return w.cur.Load() }

// Loads returns how many files were loaded and how many refused.
func (w *Watcher) Loads() (loaded, refused uint64) { return w.loaded.Load(), w.refused.Load() }

// Reload loads the file now if it changed since the last load, and
// reports whether a new network was swapped in.
func (w *Watcher) Reload() bool {
	st, err := os.Stat(w.path)
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if err != nil {
		w.log.Warn("network file", "path", w.path, "err", err)
		return false
	}
	id := &fileID{mod: st.ModTime(), size: st.Size(), ino: inode(st)}
	if old := w.seen.Load(); old != nil && *old == *id {
		return false
	}
	n, err := Load(w.path)
	w.seen.Store(id)
	if err != nil {
		w.refused.Add(1)
		w.log.Error("network file refused, the previous network stays in service", "path", w.path, "err", err)
		return false
	}
	w.cur.Store(n)
	w.loaded.Add(1)
	w.log.Info("network loaded", "path", w.path, "inputs", len(n.Inputs), "hidden", n.Hidden, "epoch", n.Epoch,
		"spam", n.SpamSamples, "ham", n.HamSamples)
	return true
}

// Run watches the file's directory until ctx is done: with inotify on
// Linux (IN_CLOSE_WRITE and IN_MOVED_TO for the file's name), by polling
// every second elsewhere or when inotify is not available. The caller owns
// the goroutine that runs it; Run returns when ctx is done.
func (w *Watcher) Run(ctx context.Context) error {
	err := filewatch.Watch(ctx, []string{w.path}, func() { w.Reload() }, nil)
	if err == nil || ctx.Err() != nil {
		return nil
	}
	w.log.Warn("inotify unavailable, polling the network file", "err", err)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			w.Reload()
		}
	}
}
