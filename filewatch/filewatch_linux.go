package filewatch

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Watch calls changed whenever one of paths is written and closed or
// renamed into place, until ctx is done (then it returns nil). It returns
// an error only when inotify cannot be set up or read. The caller owns the
// goroutine that runs it. ready, when not nil, is called once the watches
// are in place (a test writes its file after that).
func Watch(ctx context.Context, paths []string, changed func(), ready func()) error {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return fmt.Errorf("filewatch: inotify: %w", err)
	}
	// A non-blocking descriptor in an *os.File goes through the runtime
	// poller, so Close from the goroutine below ends a blocked Read.
	f := os.NewFile(uintptr(fd), "inotify")
	dirs := Split(paths)
	byWatch := make(map[int32]map[string]bool, len(dirs))
	for dir, names := range dirs {
		wd, err := unix.InotifyAddWatch(fd, dir, unix.IN_CLOSE_WRITE|unix.IN_MOVED_TO)
		if err != nil {
			f.Close()
			return fmt.Errorf("filewatch: inotify watch %s: %w", dir, err)
		}
		byWatch[int32(wd)] = names
	}
	done := make(chan struct{})
	defer close(done)
	go func() { // ends when Watch returns or ctx is done
		select {
		case <-ctx.Done():
		case <-done:
		}
		f.Close()
	}()
	if ready != nil {
		ready()
	}
	changed() // a file may have changed before the watches were set
	buf := make([]byte, 64<<10)
	for {
		n, err := f.Read(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("filewatch: inotify read: %w", err)
		}
		hit := false
		for p := 0; p+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[p]))
			end := min(p+unix.SizeofInotifyEvent+int(ev.Len), n)
			if byWatch[ev.Wd][string(bytes.TrimRight(buf[p+unix.SizeofInotifyEvent:end], "\x00"))] || ev.Mask&unix.IN_Q_OVERFLOW != 0 {
				hit = true
			}
			p = end
		}
		if hit {
			changed()
		}
	}
}
