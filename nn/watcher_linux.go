package nn

import (
	"os"
	"syscall"
)

// inode is the file's inode number. os.Stat fills a *syscall.Stat_t, so
// that is the type to assert, not unix.Stat_t.
func inode(st os.FileInfo) uint64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return s.Ino
	}
	return 0
}
