//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package mmapstore

import (
	"errors"
	"os"
	"syscall"

	"github.com/edsrzf/mmap-go"
	"golang.org/x/sys/unix"
)

// mmapFile maps size bytes of f, shared, read-only unless writable. The
// mapping is mmap-go's (the project's mapping library, also what a
// Windows port would need); the advice and the locks below are Unix
// calls it does not offer.
func mmapFile(f *os.File, size int64, writable bool) ([]byte, error) {
	prot := mmap.RDONLY
	if writable {
		prot = mmap.RDWR
	}
	b, err := mmap.MapRegion(f, int(size), prot, 0, 0)
	if err != nil {
		return nil, err
	}
	if !writable {
		// Lookups are random probes: no read-ahead.
		_ = unix.Madvise(b, unix.MADV_RANDOM)
	}
	return b, nil
}

// munmap unmaps a mapping made by mmapFile (the whole of it).
func munmap(b []byte) error {
	m := mmap.MMap(b)
	return m.Unmap()
}

// msync writes dirty pages of b back to the file and waits for the I/O.
func msync(b []byte) error { return mmap.MMap(b).Flush() }

// lockFile takes an exclusive, non-blocking flock on f.
func lockFile(f *os.File) (locked bool, err error) {
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return true, nil
	}
	return false, err
}

func unlockFile(f *os.File) error { return unix.Flock(int(f.Fd()), unix.LOCK_UN) }

// fileIdentity returns the device and inode of fi, to notice a rename.
// os.FileInfo.Sys is a *syscall.Stat_t (not x/sys/unix's type of the same
// name): asserting the wrong one gave 0, 0 for every file, and readers
// never noticed a replacement whose superseded flag was not set.
func fileIdentity(fi os.FileInfo) (dev, ino uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino)
	}
	return 0, 0
}

const supportedPlatform = true
