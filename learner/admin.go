package learner

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sluicemail/sluice/lifecycle"
)

// Backups through the daemon (`sluice dump`, `sluice load`). The learner
// is the statfile's only writer, so a consistent copy of a live statfile
// and the installation of a restored one go through it, over its unix
// socket (whose mode and group already say who may change the
// statistics):
//
//	request  "SLAD" | version u8 (1) | op u8 | len(path) u16 (big-endian) | path
//	response "SLAS" | status u8 | len(text) u16 (big-endian) | text
//
// AdminSnapshot: the daemon copies its mapping between two commits
// (mmapstore.Writer.Snapshot) into an unlinked file in the data directory
// and passes its descriptor with the response (SCM_RIGHTS): the client
// encodes the dump from that copy at its own pace, while learning goes
// on, and the copy disappears when it closes it.
//
// AdminInstall: path is a statfile the client built in the statfile's
// directory (mmapstore.Builder); the daemon checks it and renames it over
// the statfile (mmapstore.Writer.Install). Learns queued meanwhile wait on
// the writer's lock and go into the new file. Installing in the daemon
// rather than refusing while it runs is what an admin restoring a backup
// expects: no learner to stop, no learns spooled meanwhile, milters follow
// the rename as they follow a growth.
//
// AdminAccuracy: the text of the answer is JSON, the rows of the
// activity log's accuracy (activity.Day) of the last AccuracyDays days,
// newest first, at most 65,535 bytes (the oldest rows are left out to fit;
// DefaultMaxProfiles profiles over 7 days take about 40 KB). Whoever may
// learn may read it: it says how often the users corrected the filter.
const (
	adminMagic     = "SLAD"
	adminRespMagic = "SLAS"
	maxAdminPath   = 4096
)

// AdminOp is what an admin request asks.
type AdminOp uint8

// The admin operations.
const (
	AdminSnapshot AdminOp = 1
	AdminInstall  AdminOp = 2
	AdminAccuracy AdminOp = 3
	// AdminClusterStatus: the text of the answer is the JSON of
	// ClusterStatus (`sluice cluster status`), with the statfile's digest
	// when the request's argument is adminWithDigest; a temporary failure
	// when the daemon is not in a cluster.
	AdminClusterStatus AdminOp = 4
)

// adminWithDigest is AdminClusterStatus's argument that asks for the
// statfile's digest.
const adminWithDigest = "digest"

// AccuracyDays is how many days AdminAccuracy answers with.
const AccuracyDays = 7

// maxAdminText bounds the text of an admin answer: the u16 of its length.
const maxAdminText = 1<<16 - 1

// isAdmin reports whether the next request on br is an admin request.
func isAdmin(br *bufio.Reader) bool {
	b, err := br.Peek(len(adminMagic))
	return err == nil && string(b) == adminMagic
}

// serveAdmin answers one admin request; the connection closes after it.
func (s *Server) serveAdmin(c *lifecycle.Conn, br *bufio.Reader) {
	c.SetBusy(true)
	c.SetDeadline(time.Now().Add(s.opts.RequestTimeout))
	var h [4 + 1 + 1 + 2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return
	}
	n := int(binary.BigEndian.Uint16(h[6:]))
	var status Status = StatusOK
	text, maxText := "ok", MaxText
	var f *os.File
	switch path := make([]byte, min(n, maxAdminPath)); {
	case h[4] != version || n > maxAdminPath:
		status, text = StatusBadRequest, fmt.Sprintf("not a version %d admin request", version)
	default:
		if _, err := io.ReadFull(br, path); err != nil {
			return
		}
		var err error
		switch AdminOp(h[5]) {
		case AdminSnapshot:
			f, err = s.d.Snapshot()
		case AdminInstall:
			err = s.d.Install(string(path))
		case AdminAccuracy:
			text, maxText = s.d.accuracyJSON(AccuracyDays, maxAdminText), maxAdminText
		case AdminClusterStatus:
			text, err = s.d.clusterStatusJSON(string(path) == adminWithDigest)
			maxText = maxAdminText
		default:
			err = fmt.Errorf("%w: unknown admin op %d", ErrProtocol, h[5])
		}
		if err != nil {
			status, text = StatusTempFail, err.Error()
			if errors.Is(err, ErrProtocol) {
				status = StatusBadRequest
			}
			s.log.Error("learner: admin request", "op", h[5], "err", err)
		}
	}
	resp := appendAdminResponse(nil, status, text, maxText)
	if f == nil {
		c.Write(resp)
		return
	}
	defer f.Close()
	uc, ok := c.Conn.(*net.UnixConn)
	if !ok {
		c.Write(appendAdminResponse(nil, StatusTempFail, "a snapshot is passed over a unix socket only", MaxText))
		return
	}
	if _, _, err := uc.WriteMsgUnix(resp, unix.UnixRights(int(f.Fd())), nil); err != nil {
		s.log.Debug("learner: admin response", "err", err)
	}
}

func appendAdminResponse(b []byte, st Status, text string, maxText int) []byte {
	if len(text) > maxText {
		text = text[:maxText]
	}
	b = append(b, adminRespMagic...)
	b = append(b, byte(st))
	b = binary.BigEndian.AppendUint16(b, uint16(len(text)))
	return append(b, text...)
}

// Snapshot returns a consistent copy of the statfile, taken between two
// commits, in an unlinked file of the statfile's directory.
func (d *Daemon) Snapshot() (*os.File, error) {
	f, err := os.CreateTemp(filepath.Dir(d.w.Path()), ".snapshot-*")
	if err != nil {
		return nil, fmt.Errorf("learner: snapshot: %w", err)
	}
	os.Remove(f.Name())
	if err := d.w.Snapshot(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("learner: snapshot: %w", err)
	}
	return f, nil
}

// Install puts the statfile built at path (in the statfile's directory)
// in service in place of the current one.
func (d *Daemon) Install(path string) error {
	// The client's working directory need not be the daemon's: compare
	// the directories themselves, not their names.
	got, err1 := os.Stat(filepath.Dir(path))
	want, err2 := os.Stat(filepath.Dir(d.w.Path()))
	if !filepath.IsAbs(path) || err1 != nil || err2 != nil || !os.SameFile(got, want) {
		return fmt.Errorf("%w: %q is not an absolute path in the statfile's directory", ErrProtocol, path)
	}
	path = filepath.Join(filepath.Dir(d.w.Path()), filepath.Base(path))
	if err := d.w.Install(path); err != nil {
		return fmt.Errorf("learner: install: %w", err)
	}
	d.log.Info("learner: installed a restored statfile", "from", path)
	return nil
}

// AdminCall sends one admin request to the learner at socket and returns
// the descriptor passed with the answer (AdminSnapshot), or nil. An error
// wrapping ErrUnreachable means no learner answers there.
func AdminCall(ctx context.Context, socket string, op AdminOp, path string) (*os.File, error) {
	f, _, err := adminCall(ctx, socket, op, path, MaxText)
	return f, err
}

// adminCall sends one admin request and returns the descriptor passed
// with the answer, if any, and the answer's text (at most maxText bytes).
func adminCall(ctx context.Context, socket string, op AdminOp, path string, maxText int) (*os.File, string, error) {
	var dl net.Dialer
	c, err := dl.DialContext(ctx, "unix", socket)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	defer c.Close()
	if dead, ok := ctx.Deadline(); ok {
		c.SetDeadline(dead)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	if len(path) > maxAdminPath {
		return nil, "", fmt.Errorf("%w: path of %d bytes", ErrProtocol, len(path))
	}
	req := append([]byte(adminMagic), version, byte(op))
	req = binary.BigEndian.AppendUint16(req, uint16(len(path)))
	if _, err := c.Write(append(req, path...)); err != nil {
		return nil, "", fmt.Errorf("%w: send request: %w", ErrTempFail, err)
	}
	uc := c.(*net.UnixConn)
	buf := make([]byte, 7+maxText)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := uc.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, "", fmt.Errorf("%w: read response: %w", ErrTempFail, err)
	}
	var f *os.File
	if oobn > 0 {
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err == nil && len(msgs) == 1 {
			if fds, err := unix.ParseUnixRights(&msgs[0]); err == nil && len(fds) == 1 {
				f = os.NewFile(uintptr(fds[0]), "snapshot")
			}
		}
	}
	// The response may come in pieces; the descriptor came with the first.
	fail := func(err error) (*os.File, string, error) {
		if f != nil {
			f.Close()
		}
		return nil, "", err
	}
	want := 7
	for {
		if n >= 7 {
			if string(buf[:4]) != adminRespMagic {
				return fail(fmt.Errorf("%w: not an admin response", ErrProtocol))
			}
			want = 7 + min(int(binary.BigEndian.Uint16(buf[5:7])), maxText)
		}
		if n >= want {
			break
		}
		m, err := c.Read(buf[n:want])
		if n += m; err != nil && n < want {
			return fail(fmt.Errorf("%w: read response: %w", ErrTempFail, err))
		}
	}
	text := string(buf[7:want])
	switch Status(buf[4]) {
	case StatusOK:
		if op == AdminSnapshot && f == nil {
			return nil, "", fmt.Errorf("%w: no snapshot came with the answer", ErrProtocol)
		}
		return f, text, nil
	case StatusBadRequest:
		err = fmt.Errorf("%w: %s", ErrProtocol, strings.TrimPrefix(text, ErrProtocol.Error()+": "))
	default:
		err = fmt.Errorf("%w: the learner says: %s", ErrTempFail, text)
	}
	return fail(err)
}
