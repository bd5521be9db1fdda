package learner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sluicemail/sluice/internal/atomicfile"
	"github.com/sluicemail/sluice/learn"
)

// ErrSpoolFull is returned by Put when the spool holds its maximum.
var ErrSpoolFull = errors.New("learner: spool is full")

// Spool is a directory of learn requests that `sluice learn` could not hand
// to the learner (not running, statfile busy). Each file is one encoded
// Request, named "<unix nanoseconds>-<random>.req" so that a directory
// listing is in arrival order. A file appears whole or not at all: it is
// written under a temporary name, fsynced, renamed, and the directory is
// fsynced, so a spooled request survives a machine crash. Drain learns and
// removes them; a file that is not a request or not a message is renamed
// to *.bad and kept for the admin.
type Spool struct {
	dir    string
	max    int
	maxMsg int64
}

// NewSpool describes the spool at dir holding at most max requests of at
// most maxMsg message bytes. It does no I/O.
func NewSpool(dir string, max int, maxMsg int64) *Spool {
	return &Spool{dir: dir, max: max, maxMsg: maxMsg}
}

// Dir is the spool directory.
func (s *Spool) Dir() string { return s.dir }

// Init creates the directory (the learner does, at start) with mode and,
// when gid >= 0, that group and the setgid bit, so that spooled files get
// the group and the learner can read and remove what Dovecot's user wrote.
func (s *Spool) Init(mode fs.FileMode, gid int) error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("learner: spool: %w", err)
	}
	if gid >= 0 {
		if err := os.Chown(s.dir, -1, gid); err != nil {
			return fmt.Errorf("learner: spool: %w", err)
		}
		mode |= fs.ModeSetgid
	}
	// Directories need x wherever they have r or w.
	perm := mode.Perm() | (mode.Perm()&0o444)>>2 | (mode.Perm()&0o222)>>1
	if err := os.Chmod(s.dir, perm|mode&fs.ModeSetgid); err != nil {
		return fmt.Errorf("learner: spool: %w", err)
	}
	return nil
}

// Put stores req durably, creating the directory if the learner has not
// yet. It fails with ErrSpoolFull past the maximum.
func (s *Spool) Put(req *Request) error {
	b, err := AppendRequest(nil, req, s.maxMsg)
	if err != nil {
		return fmt.Errorf("learner: spool: %w", err)
	}
	// The spool's directory, not its parents: a data directory nobody
	// configured is not created by a learn (Door).
	if err := os.Mkdir(s.dir, 0o770); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("learner: spool: %w", err)
	}
	names, err := s.list()
	if err != nil {
		return err
	}
	if len(names) >= s.max {
		return fmt.Errorf("%w (%d messages in %s)", ErrSpoolFull, len(names), s.dir)
	}
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return fmt.Errorf("learner: spool: %w", err)
	}
	name := fmt.Sprintf("%019d-%s.req", time.Now().UnixNano(), hex.EncodeToString(rnd[:]))
	tmp := filepath.Join(s.dir, "."+name+".tmp")
	if err := atomicfile.Write(filepath.Join(s.dir, name), b, &atomicfile.Options{Perm: 0o660, TempPath: tmp}); err != nil {
		return fmt.Errorf("learner: spool: %w", err)
	}
	return nil
}

// list returns the names of spooled requests, oldest first.
func (s *Spool) list() ([]string, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("learner: spool: %w", err)
	}
	var names []string
	for _, e := range ents {
		if n := e.Name(); strings.HasSuffix(n, ".req") && !strings.HasPrefix(n, ".") && e.Type().IsRegular() {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names, nil
}

// Len is the number of spooled requests.
func (s *Spool) Len() (int, error) {
	names, err := s.list()
	return len(names), err
}

// Drain passes each spooled request to fn, oldest first, and removes it
// once fn returns nil. A request fn rejects as not a message, or a file
// that does not decode, is renamed to *.bad. Any other error from fn stops
// the drain (the request stays for the next one). Temporary files older
// than an hour (a writer that died) are removed.
func (s *Spool) Drain(ctx context.Context, fn func(*Request) error) (drained, rejected int, err error) {
	s.removeStale(time.Hour)
	names, err := s.list()
	if err != nil {
		return 0, 0, err
	}
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return drained, rejected, err
		}
		path := filepath.Join(s.dir, n)
		req, err := s.read(path)
		if err == nil {
			err = fn(req)
		}
		switch {
		case err == nil:
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return drained, rejected, fmt.Errorf("learner: spool: %w", err)
			}
			drained++
		case errors.Is(err, fs.ErrNotExist):
			// Another drainer took it.
		case errors.Is(err, ErrProtocol), errors.Is(err, learn.ErrNotMessage):
			rejected++
			if rerr := os.Rename(path, path+".bad"); rerr != nil {
				return drained, rejected, fmt.Errorf("learner: spool: %w", rerr)
			}
		default:
			return drained, rejected, fmt.Errorf("learner: spool %s: %w", n, err)
		}
	}
	return drained, rejected, nil
}

func (s *Spool) read(path string) (*Request, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, s.maxMsg+reqHdrLen+MaxUser+MaxSource+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return DecodeRequest(b, s.maxMsg)
}

func (s *Spool) removeStale(age time.Duration) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if n := e.Name(); strings.HasPrefix(n, ".") && strings.HasSuffix(n, ".tmp") {
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > age {
				os.Remove(filepath.Join(s.dir, n))
			}
		}
	}
}

// spoolLoop drains the spool at start and every SpoolInterval until ctx
// ends.
func (d *Daemon) spoolLoop(ctx context.Context) {
	t := time.NewTicker(d.opts.SpoolInterval)
	defer t.Stop()
	for {
		drained, rejected, err := d.opts.Spool.Drain(ctx, func(req *Request) error {
			req.Source = "spool"
			_, err := d.Learn(ctx, req)
			return err
		})
		d.m.spool.WithLabelValues("drained").Add(float64(drained))
		d.m.spool.WithLabelValues("rejected").Add(float64(rejected))
		if drained+rejected > 0 {
			d.log.Info("learner: drained spool", "learned", drained, "rejected", rejected)
		}
		if err != nil && ctx.Err() == nil {
			d.m.spool.WithLabelValues("failed").Inc()
			d.log.Warn("learner: drain spool", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
