package nn

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// inode is the file's inode number. os.Stat fills a *syscall.Stat_t, so
// that is the type to assert, not unix.Stat_t.
func inode(st os.FileInfo) uint64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return s.Ino
	}
	return 0
}

// watch reloads on inotify events until ctx is done. It returns an error
// only when inotify cannot be set up.
func (w *Watcher) watch(ctx context.Context) error {
	dir, name := filepath.Split(w.path)
	if dir == "" {
		dir = "."
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return fmt.Errorf("nn: inotify: %w", err)
	}
	// A non-blocking descriptor in an *os.File goes through the runtime
	// poller, so Close from the goroutine below ends a blocked Read.
	f := os.NewFile(uintptr(fd), "inotify")
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CLOSE_WRITE|unix.IN_MOVED_TO); err != nil {
		f.Close()
		return fmt.Errorf("nn: inotify watch %s: %w", dir, err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() { // ends when Run returns or ctx is done
		select {
		case <-ctx.Done():
		case <-done:
		}
		f.Close()
	}()
	w.Reload() // the file may have changed before the watch was set
	buf := make([]byte, 64<<10)
	for {
		n, err := f.Read(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("nn: inotify read: %w", err)
		}
		changed := false
		for p := 0; p+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[p]))
			nameBytes := buf[p+unix.SizeofInotifyEvent : p+unix.SizeofInotifyEvent+int(ev.Len)]
			if string(bytes.TrimRight(nameBytes, "\x00")) == name {
				changed = true
			}
			if ev.Mask&unix.IN_Q_OVERFLOW != 0 {
				changed = true
			}
			p += unix.SizeofInotifyEvent + int(ev.Len)
		}
		if changed {
			w.Reload()
		}
	}
}
