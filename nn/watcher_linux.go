package nn

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"unsafe"
)

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
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		return fmt.Errorf("nn: inotify: %w", err)
	}
	// A non-blocking descriptor in an *os.File goes through the runtime
	// poller, so Close from the goroutine below ends a blocked Read.
	f := os.NewFile(uintptr(fd), "inotify")
	if _, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_CLOSE_WRITE|syscall.IN_MOVED_TO); err != nil {
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
		for p := 0; p+syscall.SizeofInotifyEvent <= n; {
			ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[p]))
			nameBytes := buf[p+syscall.SizeofInotifyEvent : p+syscall.SizeofInotifyEvent+int(ev.Len)]
			if string(bytes.TrimRight(nameBytes, "\x00")) == name {
				changed = true
			}
			if ev.Mask&syscall.IN_Q_OVERFLOW != 0 {
				changed = true
			}
			p += syscall.SizeofInotifyEvent + int(ev.Len)
		}
		if changed {
			w.Reload()
		}
	}
}
