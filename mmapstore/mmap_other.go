//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package mmapstore

import "os"

func mmapFile(f *os.File, size int64, writable bool) ([]byte, error) { return nil, ErrUnsupported }
func munmap(b []byte) error                                          { return ErrUnsupported }
func msync(b []byte) error                                           { return ErrUnsupported }
func lockFile(f *os.File) (bool, error)                              { return false, ErrUnsupported }
func unlockFile(f *os.File) error                                    { return ErrUnsupported }
func fileIdentity(fi os.FileInfo) (dev, ino uint64)                  { return 0, 0 }

const supportedPlatform = false
