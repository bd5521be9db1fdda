package learner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/statdump"
)

// BackupOptions say where the statfile and its learner are, for Dump and
// Load: the Door's rule (the daemon over its socket, else the statfile
// under the writer lock) applied to backups.
type BackupOptions struct {
	Socket   string             // the learner daemon's unix socket ("" none)
	Statfile string             // the statfile's path
	Writer   *mmapstore.Options // the writer's options when no daemon answers (Params are the configuration's)
}

// DumpFormat selects Dump's output.
type DumpFormat uint8

// The formats.
const (
	DumpBinary DumpFormat = iota // statdump's stream, for Load
	DumpText                     // one token per line, for people
)

// Dump writes a consistent snapshot of the statfile to w: taken by the
// running learner between two commits, or, when none answers on the
// socket, under the writer lock by this process (replaying the journal
// first). It returns how many namespaces and tokens it wrote.
func Dump(ctx context.Context, o BackupOptions, w io.Writer, format DumpFormat) (statdump.Summary, error) {
	f, err := snapshot(ctx, o)
	if err != nil {
		return statdump.Summary{}, err
	}
	defer f.Close()
	im, err := mmapstore.OpenImage(f)
	if err != nil {
		return statdump.Summary{}, fmt.Errorf("learner: dump: %w", err)
	}
	defer im.Close()
	if format == DumpText {
		return statdump.Summary{}, statdump.WriteText(w, im)
	}
	return statdump.Write(w, im)
}

// snapshot returns an unlinked consistent copy of the statfile.
func snapshot(ctx context.Context, o BackupOptions) (*os.File, error) {
	var detour error
	if o.Socket != "" {
		f, err := AdminCall(ctx, o.Socket, AdminSnapshot, "")
		if err == nil || !errors.Is(err, ErrUnreachable) {
			return f, err
		}
		detour = err
	}
	if _, err := os.Stat(o.Statfile); err != nil {
		return nil, fmt.Errorf("learner: dump: %w", err)
	}
	// The file's own parameters: a backup is wanted most when the
	// configuration's tokenizer no longer matches the file.
	info, err := mmapstore.Stat(o.Statfile)
	if err != nil {
		return nil, fmt.Errorf("learner: dump: %w", err)
	}
	wo := mmapstore.Options{}
	if o.Writer != nil {
		wo = *o.Writer
	}
	wo.Params = info.Params
	wr, err := mmapstore.OpenWriter(o.Statfile, &wo)
	if errors.Is(err, mmapstore.ErrLocked) && detour != nil {
		return nil, fmt.Errorf("learner: dump: %w, and no learner answers on %s (%v): try again", err, o.Socket, detour)
	}
	if err != nil {
		return nil, fmt.Errorf("learner: dump: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(o.Statfile), ".snapshot-*")
	if err == nil {
		os.Remove(f.Name())
		if err = wr.Snapshot(f); err != nil {
			f.Close()
		}
	}
	if cerr := wr.Close(); err == nil && cerr != nil {
		f.Close()
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("learner: dump: %w", err)
	}
	return f, nil
}

// Load reads a dump from r, builds the statfile it describes in a
// temporary file beside the statfile, and installs it over the statfile:
// through the running learner, or, when none answers, under the writer
// lock by this process. The dump's tokenizer parameters must be the
// configuration's (o.Writer.Params). A dump that is cut short, altered,
// or made with other parameters is refused and nothing changes.
func Load(ctx context.Context, o BackupOptions, r io.Reader) (statdump.Summary, error) {
	var wo mmapstore.Options
	if o.Writer != nil {
		wo = *o.Writer
	}
	tmpf, err := os.CreateTemp(filepath.Dir(o.Statfile), "."+filepath.Base(o.Statfile)+".load-*")
	if err != nil {
		return statdump.Summary{}, fmt.Errorf("learner: load: %w", err)
	}
	tmp := tmpf.Name()
	tmpf.Close()
	sink := &builderSink{path: tmp, params: wo.Params}
	sum, err := statdump.Read(r, sink, &statdump.Options{MaxBytes: wo.MaxBytes})
	if err == nil {
		err = sink.b.Finish()
		sink.b = nil
	}
	if err != nil {
		if sink.b != nil {
			sink.b.Abort()
		}
		os.Remove(tmp)
		return sum, fmt.Errorf("learner: load: %w", err)
	}
	abs, err := filepath.Abs(tmp)
	if err == nil {
		err = install(ctx, o, &wo, abs)
	}
	if err != nil {
		os.Remove(tmp)
		return sum, fmt.Errorf("learner: load: %w", err)
	}
	return sum, nil
}

func install(ctx context.Context, o BackupOptions, wo *mmapstore.Options, tmp string) error {
	var detour error
	if o.Socket != "" {
		_, err := AdminCall(ctx, o.Socket, AdminInstall, tmp)
		if err == nil || !errors.Is(err, ErrUnreachable) {
			return err
		}
		detour = err
	}
	err := mmapstore.InstallFile(o.Statfile, tmp, wo)
	if errors.Is(err, mmapstore.ErrLocked) && detour != nil {
		return fmt.Errorf("%w, and no learner answers on %s (%v): try again", err, o.Socket, detour)
	}
	return err
}

// builderSink builds a statfile from a dump as it is read.
type builderSink struct {
	path   string
	params mmapstore.Params
	b      *mmapstore.Builder
}

func (s *builderSink) Header(m mmapstore.Meta) error {
	if m.Params != s.params {
		return fmt.Errorf("%w: its counts do not carry over to this configuration's tokenizer: relearn from the mail folders (`sluice learn`)",
			&mmapstore.ParamsError{Path: "the dump", File: m.Params, Want: s.params})
	}
	b, err := mmapstore.NewBuilder(s.path, m, m.Generation+1)
	s.b = b
	return err
}

func (s *builderSink) Namespace(ns mmapstore.NamespaceInfo) error {
	return s.b.AddNamespace(ns.NS, ns.Name, ns.Totals)
}

func (s *builderSink) Slot(key uint64, c mmapstore.Counts) error { return s.b.AddSlot(key, c) }
