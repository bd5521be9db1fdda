package mmapstore

import (
	"os"
	"path/filepath"

	"github.com/sluicemail/sluice/internal/atomicfile"
)

// hooks replace or precede I/O steps in tests (fault injection, in the
// manner of bbolt's Options.OpenFile and db.ops.writeAt). A hook that
// returns an error makes the step fail without doing it.
type hooks struct {
	sync    func(f *os.File) error              // before fsync of the journal or a new statfile
	msync   func(b []byte) error                // before msync of the mapping
	rename  func(oldpath, newpath string) error // before rename of a new statfile
	syncDir func(dir string) error              // before fsync of the directory
}

// fileOps runs the I/O steps whose failure matters for crash safety.
type fileOps struct {
	noSync    bool
	h         *hooks
	failpoint func(Step) // Options.Failpoint
}

// step calls the failpoint, if any, before step s.
func (o *fileOps) step(s Step) {
	if o.failpoint != nil {
		o.failpoint(s)
	}
}

func (o *fileOps) sync(f *os.File) error {
	if o.h != nil && o.h.sync != nil {
		if err := o.h.sync(f); err != nil {
			return err
		}
	}
	if o.noSync {
		return nil
	}
	return f.Sync()
}

func (o *fileOps) msync(b []byte) error {
	if o.h != nil && o.h.msync != nil {
		if err := o.h.msync(b); err != nil {
			return err
		}
	}
	if o.noSync {
		return nil
	}
	return msync(b)
}

// atomicOptions are the options of a new statfile's replacement (write
// tmp, fsync, rename over the path, fsync the directory), with the hooks
// of its steps.
func (o *fileOps) atomicOptions(tmp string) *atomicfile.Options {
	a := &atomicfile.Options{Perm: 0o644, TempPath: tmp, NoSync: o.noSync}
	if o.h != nil {
		a.BeforeSync, a.BeforeRename, a.BeforeSyncDir = o.h.sync, o.h.rename, o.h.syncDir
	}
	return a
}

// syncDir fsyncs the directory holding path, making a rename or a
// creation in it durable.
func (o *fileOps) syncDir(path string) error {
	dir := filepath.Dir(path)
	if o.h != nil && o.h.syncDir != nil {
		if err := o.h.syncDir(dir); err != nil {
			return err
		}
	}
	if o.noSync {
		return nil
	}
	return atomicfile.SyncDir(dir)
}
