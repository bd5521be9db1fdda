// Package filewatch tells when files are replaced or rewritten: it watches
// their directories with inotify (IN_CLOSE_WRITE and IN_MOVED_TO, so both an
// editor's save in place and a write-then-rename count) and calls back
// with nothing but "something you watch changed": the caller re-stats its
// files and reloads what differs. Watching the directory, not the file,
// follows a file that is replaced by rename. Without inotify (another
// system, or no descriptors left) Watch returns an error at once and the
// caller polls instead. nn's network watcher and the allow/block lists use it.
package filewatch

import "path/filepath"

// Split gives the directories to watch for paths and the names that
// matter in each.
func Split(paths []string) map[string]map[string]bool {
	out := make(map[string]map[string]bool)
	for _, p := range paths {
		dir, name := filepath.Split(p)
		if dir == "" {
			dir = "."
		}
		dir = filepath.Clean(dir)
		if out[dir] == nil {
			out[dir] = make(map[string]bool)
		}
		out[dir][name] = true
	}
	return out
}
