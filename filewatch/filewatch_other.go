//go:build !linux

package filewatch

import (
	"context"
	"errors"
)

// Watch needs inotify: elsewhere it fails at once and the caller polls.
func Watch(context.Context, []string, func(), func()) error {
	return errors.New("filewatch: no inotify on this system")
}
