// Package atomicfile replaces a file atomically and durably: the new
// content goes to a temporary file in the same directory, which is
// fsynced, renamed over the path, and the directory fsynced. A reader (or
// a crash, at any moment) sees the old file or the new one, never a part;
// readers that mapped or opened the old file keep its inode, unchanged.
//
// It is the one implementation of that sequence for the statfile's
// rebuilds (mmapstore), the network file (nn), the training pools and the
// spool (learner). Options carry the hooks mmapstore's fault-injection
// tests use to make each step fail.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Options control a replacement. The zero value (or nil) is a durable
// write of a 0600 file through a uniquely named temporary file.
type Options struct {
	// Perm is the mode of the new file, set exactly (the umask does not
	// apply). 0 means 0600.
	Perm fs.FileMode
	// TempPath is the temporary file; it must be in the directory of the
	// path. A leftover from a crash is removed first. "" means a unique
	// name, "."+base+".tmp-*", in the path's directory.
	TempPath string
	// NoSync skips both fsyncs: atomic, but not durable. For tests and
	// bulk work that can start over.
	NoSync bool
	// Hooks, for fault injection in tests: each runs before its step, and
	// an error it returns makes the step fail without being done.
	BeforeSync    func(f *os.File) error              // fsync of the temporary file
	BeforeRename  func(oldpath, newpath string) error // rename over the path
	BeforeSyncDir func(dir string) error              // fsync of the directory
}

// File is a replacement in progress: write to the embedded *os.File (or
// map it), then Commit, or Abort.
type File struct {
	*os.File
	path string
	opts Options
	done bool
}

// Create starts the replacement of path: it creates the temporary file.
func Create(path string, opts *Options) (*File, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Perm == 0 {
		o.Perm = 0o600
	}
	var f *os.File
	var err error
	if o.TempPath == "" {
		f, err = os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	} else {
		if err := os.Remove(o.TempPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("atomicfile: %w", err)
		}
		f, err = os.OpenFile(o.TempPath, os.O_RDWR|os.O_CREATE|os.O_EXCL, o.Perm)
	}
	if err != nil {
		return nil, fmt.Errorf("atomicfile: %w", err)
	}
	if err := f.Chmod(o.Perm); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("atomicfile: %w", err)
	}
	return &File{File: f, path: path, opts: o}, nil
}

// Commit fsyncs the temporary file, closes it, renames it over the path
// and fsyncs the directory. renamed reports whether the rename happened:
// when it did, the new file is at the path even if err is not nil (only
// the directory fsync failed). When it did not, the temporary file is
// removed.
func (f *File) Commit() (renamed bool, err error) {
	if f.done {
		return false, errors.New("atomicfile: commit after commit or abort")
	}
	f.done = true
	tmp := f.Name()
	fail := func(err error) (bool, error) {
		f.File.Close()
		os.Remove(tmp)
		return false, fmt.Errorf("atomicfile: %w", err)
	}
	if err := f.sync(); err != nil {
		return fail(fmt.Errorf("fsync %s: %w", tmp, err))
	}
	if err := f.File.Close(); err != nil {
		return fail(err)
	}
	if h := f.opts.BeforeRename; h != nil {
		if err := h(tmp, f.path); err != nil {
			return fail(err)
		}
	}
	if err := os.Rename(tmp, f.path); err != nil {
		return fail(err)
	}
	if err := f.syncDir(); err != nil {
		return true, fmt.Errorf("atomicfile: fsync directory of %s: %w", f.path, err)
	}
	return true, nil
}

// Abort closes and removes the temporary file. After Commit it does
// nothing.
func (f *File) Abort() error {
	if f.done {
		return nil
	}
	f.done = true
	return errors.Join(f.File.Close(), os.Remove(f.Name()))
}

func (f *File) sync() error {
	if h := f.opts.BeforeSync; h != nil {
		if err := h(f.File); err != nil {
			return err
		}
	}
	if f.opts.NoSync {
		return nil
	}
	return f.File.Sync()
}

func (f *File) syncDir() error {
	dir := filepath.Dir(f.path)
	if h := f.opts.BeforeSyncDir; h != nil {
		if err := h(dir); err != nil {
			return err
		}
	}
	if f.opts.NoSync {
		return nil
	}
	return SyncDir(dir)
}

// Write replaces path with b.
func Write(path string, b []byte, opts *Options) error {
	f, err := Create(path, opts)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		return errors.Join(fmt.Errorf("atomicfile: %w", err), f.Abort())
	}
	_, err = f.Commit()
	return err
}

// SyncDir fsyncs the directory dir, making a rename or a creation in it
// durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
