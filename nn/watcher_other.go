//go:build !linux

package nn

import (
	"context"
	"errors"
	"os"
)

func inode(os.FileInfo) uint64 { return 0 }

func (w *Watcher) watch(context.Context) error { return errors.New("no inotify on this system") }
