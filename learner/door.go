package learner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/tokenizer"
)

// Via says which way a learn went through the Door.
type Via uint8

// The ways, in the Door's order of preference.
const (
	ViaLearner Via = iota + 1 // the learner daemon: its socket, or in process
	ViaDirect                 // the statfile opened for writing by this process
	ViaSpool                  // queued in the spool for the daemon to drain
)

func (v Via) String() string {
	switch v {
	case ViaLearner:
		return "learner"
	case ViaDirect:
		return "direct"
	case ViaSpool:
		return "spool"
	}
	return "none"
}

// ErrUnavailable is wrapped by the Door's error when a learn went none of
// its ways: not learned and not queued. Clients should try again later
// (EX_TEMPFAIL, HTTP 503).
var ErrUnavailable = errors.New("learner: not learned and not spooled")

// DoorOptions configure a Door: the ways a learn may go. A way left zero
// is not taken.
type DoorOptions struct {
	// Daemon is a learner daemon in this process (`sluice serve`); when
	// set, Socket is not dialled.
	Daemon *Daemon
	// Socket is the learner daemon's unix socket.
	Socket string
	// Statfile is the statfile to write directly, under the writer lock,
	// when no daemon answers; Writer and Learn configure that writer.
	Statfile string
	Writer   *mmapstore.Options
	Learn    learn.Options
	// NoDirect: never learn into Statfile directly ([cluster] enabled: a
	// learn must become an event of the cluster, which only the daemon
	// publishes; the spool waits for it). Statfile stays for backups.
	NoDirect bool
	// Spool queues a learn that neither the daemon nor the statfile took.
	Spool *Spool
	// MaxMessage bounds a message: longer ones are cut to it (the
	// tokenizer reads less than this anyway). Required.
	MaxMessage int64
	// Logger gets one line per learn that did not reach the daemon
	// (direct, spooled, refused as not a message, or not taken); the
	// daemon logs the ones it answers. Default: discard.
	Logger *slog.Logger
	// Timeout bounds each call to the daemon (DefaultTimeout): a daemon
	// that accepts but does not answer (stopped, wedged) is a detour, not
	// a wait without end.
	Timeout time.Duration
}

// DefaultTimeout bounds a call of the Door to the daemon by default.
const DefaultTimeout = 30 * time.Second

// Door is the one way into the statistics for everything that is not the
// daemon itself: `sluice learn` (Dovecot's sieve pipe, bulk imports), the
// spamd listener's TELL and rspamd learn endpoints, and `sluice serve`.
// A learn goes to the running learner (over its socket, or in process),
// else to the statfile directly under the writer lock, else to the spool,
// and the Result says which way it went. It is the only place outside the
// daemon that opens the statfile for writing. Safe for concurrent use;
// direct learns of one Door go one at a time.
type Door struct {
	opts   DoorOptions
	direct sync.Mutex // one writer at a time from this process
}

// NewDoor returns a Door with the given ways.
func NewDoor(opts DoorOptions) *Door {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Door{opts: opts}
}

// Spool is where the Door queues learns (nil: it does not).
func (d *Door) Spool() *Spool { return d.opts.Spool }

// Result is what a learn through the Door did.
type Result struct {
	Via     Via
	Outcome Outcome // with Via ViaLearner or ViaDirect: what the learn did
	// Detours says why the ways before Via were not taken (nil when the
	// first way was).
	Detours error
}

// Learn learns req the first way that takes it. An error wrapping
// ErrNotMessage means the input is not a message (Via says who found
// out); one wrapping ErrUnavailable that no way took it; ErrProtocol
// that req breaks a limit. The message is tokenized at most once in this
// process, whichever ways are tried.
func (d *Door) Learn(ctx context.Context, req *Request) (Result, error) {
	res, err := d.learn(ctx, req)
	if res.Via != ViaLearner { // the daemon logged those
		d.logLearn(req, res, err)
	}
	return res, err
}

// logLearn writes the one log line of a learn the daemon did not answer.
func (d *Door) logLearn(req *Request, res Result, err error) {
	outcome := ""
	level := slog.LevelInfo
	switch {
	case errors.Is(err, ErrNotMessage):
		outcome = "not_message"
	case err != nil:
		outcome, level = "error", slog.LevelWarn
	case res.Via == ViaSpool:
		outcome = "spooled"
	default:
		outcome = outcomeLabel(res.Outcome)
	}
	attrs := []slog.Attr{slog.String("source", req.Source), slog.String("user", clipUser(req.User)),
		slog.String("class", req.Label.String()), slog.String("outcome", outcome)}
	if res.Via != 0 {
		attrs = append(attrs, slog.String("via", res.Via.String()))
	}
	if err != nil {
		attrs = append(attrs, slog.String("err", err.Error()))
	} else if res.Detours != nil {
		attrs = append(attrs, slog.String("detours", res.Detours.Error()))
	}
	d.opts.Logger.LogAttrs(context.Background(), level, "learn", attrs...)
}

func (d *Door) learn(ctx context.Context, req *Request) (Result, error) {
	r := *req
	if int64(len(r.Message)) > d.opts.MaxMessage {
		r.Message = r.Message[:d.opts.MaxMessage]
	}
	if err := r.validate(d.opts.MaxMessage); err != nil {
		return Result{}, err
	}
	var detours []error
	if d.opts.Daemon != nil || d.opts.Socket != "" {
		out, err := d.viaLearner(ctx, &r)
		if err == nil || errors.Is(err, ErrNotMessage) {
			return Result{Via: ViaLearner, Outcome: out}, err
		}
		detours = append(detours, err)
	}
	statfile := d.opts.Statfile
	if d.opts.NoDirect {
		statfile = ""
	}
	if statfile == "" && d.opts.Spool == nil {
		return Result{Detours: errors.Join(detours...)}, fmt.Errorf("%w: %w", ErrUnavailable, errors.Join(detours...))
	}

	// Both the direct learn and the spool need to know that it is a
	// message: tokenize once, here.
	via := ViaDirect
	if statfile == "" {
		via = ViaSpool
	}
	res, err := tokenizer.New(d.opts.Learn.Tokenizer).Tokenize(bytes.NewReader(r.Message))
	if errors.Is(err, tokenizer.ErrNotMessage) {
		return Result{Via: via, Detours: errors.Join(detours...)}, fmt.Errorf("%w: %v", ErrNotMessage, err)
	}
	if err != nil {
		return Result{Via: via, Detours: errors.Join(detours...)}, fmt.Errorf("learner: tokenize: %w", err)
	}
	if statfile != "" {
		out, err := d.learnDirect(ctx, &r, res)
		if err == nil || errors.Is(err, ErrNotMessage) {
			return Result{Via: ViaDirect, Outcome: out, Detours: errors.Join(detours...)}, err
		}
		detours = append(detours, err)
	}
	if d.opts.Spool != nil {
		// No context: Dovecot's pipe has no second chance, so a learn
		// whose deadline passed on the way is still queued.
		err := d.opts.Spool.Put(&r)
		if err == nil {
			return Result{Via: ViaSpool, Detours: errors.Join(detours...)}, nil
		}
		detours = append(detours, fmt.Errorf("spool: %w", err))
	}
	return Result{Detours: errors.Join(detours...)}, fmt.Errorf("%w: %w", ErrUnavailable, errors.Join(detours...))
}

// viaLearner hands req to the daemon: in process, or over its socket.
func (d *Door) viaLearner(ctx context.Context, req *Request) (Outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	if d.opts.Daemon != nil {
		return d.opts.Daemon.Learn(ctx, req)
	}
	c, err := Dial(ctx, d.opts.Socket, d.opts.MaxMessage)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.Learn(ctx, req)
}

// learnDirect learns res with the statfile opened for writing, if no one
// holds it, and closes it at once so that the daemon or another `sluice
// learn` can take it in between.
func (d *Door) learnDirect(ctx context.Context, req *Request, res *tokenizer.Result) (Outcome, error) {
	d.direct.Lock()
	defer d.direct.Unlock()
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("learn directly: %w", err)
	}
	if err := writableDir(d.opts.Statfile); err != nil {
		return 0, err
	}
	w, err := OpenWriter(d.opts.Statfile, d.opts.Writer)
	if err != nil {
		return 0, fmt.Errorf("open statfile for learning: %w", err)
	}
	out, err := learn.New(w, d.opts.Learn).LearnTokens(res, req.Label, req.User)
	if cerr := w.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close statfile after learning: %w", cerr)
	}
	return out, err
}

// writableDir is the Door's rule for learning directly: only into a
// statfile whose directory (the data directory) already exists and this
// process may write. The Door never creates a data directory: a learn
// run by a mail user from wherever Dovecot started it must not leave a
// stray statfile there; it goes to the spool instead, or fails.
func writableDir(statfile string) error {
	dir := filepath.Dir(statfile)
	if err := unix.Access(dir, unix.W_OK|unix.X_OK); err != nil {
		return fmt.Errorf("learn directly: data directory %s: %w (the learner creates it; sluice learn does not)", dir, err)
	}
	return nil
}

// OpenWriter opens the statfile at path for writing: for the daemon's
// whole life, or for one learn (or bulk import) of a Door when no daemon
// runs. It is the one place outside mmapstore that does (eval's private
// statfile aside); a statfile another process holds gives an error
// wrapping mmapstore.ErrLocked.
func OpenWriter(path string, opts *mmapstore.Options) (*mmapstore.Writer, error) {
	return mmapstore.OpenWriter(path, opts)
}

// CreateStatfile creates an empty statfile if there is none, so that
// scanners can map it from the start (a writer holding it means it
// exists). It needs Statfile.
func (d *Door) CreateStatfile() error {
	if _, err := os.Stat(d.opts.Statfile); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	d.direct.Lock()
	defer d.direct.Unlock()
	w, err := OpenWriter(d.opts.Statfile, d.opts.Writer)
	if errors.Is(err, mmapstore.ErrLocked) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create statfile: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("create statfile: %w", err)
	}
	return nil
}

// BulkWorkers is how many connections a bulk learn keeps busy: enough for
// the daemon to commit many learns per fsync, and half the learns its
// socket serves at once (DefaultMaxLearns), so that a bulk import leaves
// room for Dovecot's learns.
const BulkWorkers = 4

// Walk calls yield once for each message of a bulk learn, in order, and
// stops at yield's first error.
type Walk func(yield func(name string, msg []byte) error) error

// LearnAll learns every message walk yields as label for user, for a bulk
// import: through the daemon over BulkWorkers connections when it
// answers, else directly in batches (one fsync per batch). report is
// called once per message, from any goroutine but one call at a time,
// with its outcome or its ErrNotMessage error. It stops at the first
// other error. There is no spool for bulk imports: whoever runs them
// retries; with no daemon and the statfile busy the error wraps
// ErrUnavailable.
func (d *Door) LearnAll(ctx context.Context, label Label, user, source string, walk Walk,
	report func(name string, out Outcome, err error)) (Via, error) {
	var mu sync.Mutex
	each := func(name string, out Outcome, err error) {
		mu.Lock()
		defer mu.Unlock()
		report(name, out, err)
	}
	if d.opts.Socket != "" {
		pctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
		probe, err := Dial(pctx, d.opts.Socket, d.opts.MaxMessage)
		cancel()
		if err == nil {
			probe.Close()
			return ViaLearner, d.allViaSocket(ctx, &Request{Label: label, User: user, Source: source}, walk, each)
		}
	}
	if d.opts.Statfile == "" || d.opts.NoDirect {
		return 0, fmt.Errorf("%w: no learner reachable", ErrUnavailable)
	}
	return ViaDirect, d.allDirect(ctx, label, user, walk, each)
}

func (d *Door) allViaSocket(ctx context.Context, proto *Request, walk Walk, report func(string, Outcome, error)) error {
	type message struct {
		name string
		data []byte
	}
	msgs := make(chan message)
	errs := make(chan error, BulkWorkers)
	var wg sync.WaitGroup
	for range BulkWorkers {
		wg.Go(func() {
			dctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
			c, err := Dial(dctx, d.opts.Socket, d.opts.MaxMessage)
			cancel()
			if err != nil {
				errs <- err
				for range msgs {
				}
				return
			}
			defer c.Close()
			for m := range msgs {
				req := *proto
				req.Message = m.data[:min(int64(len(m.data)), d.opts.MaxMessage)]
				lctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
				out, err := c.Learn(lctx, &req)
				cancel()
				if err != nil && !errors.Is(err, ErrNotMessage) {
					if errors.Is(err, ErrTempFail) {
						err = fmt.Errorf("%w: %w", ErrUnavailable, err)
					}
					errs <- fmt.Errorf("%s: %w", m.name, err)
					for range msgs {
					}
					return
				}
				report(m.name, out, err)
			}
		})
	}
	werr := walk(func(name string, data []byte) error {
		select {
		case msgs <- message{name, data}:
			return nil
		case err := <-errs:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(msgs)
	wg.Wait()
	close(errs)
	if werr == nil {
		werr = <-errs
	}
	return werr
}

func (d *Door) allDirect(ctx context.Context, label Label, user string, walk Walk, report func(string, Outcome, error)) (err error) {
	d.direct.Lock()
	defer d.direct.Unlock()
	if err := writableDir(d.opts.Statfile); err != nil {
		return fmt.Errorf("%w: no learner reachable: %w", ErrUnavailable, err)
	}
	w, err := OpenWriter(d.opts.Statfile, d.opts.Writer)
	if errors.Is(err, mmapstore.ErrLocked) {
		return fmt.Errorf("%w: no learner reachable and the statfile is busy: %w", ErrUnavailable, err)
	}
	if err != nil {
		return fmt.Errorf("open statfile for learning: %w", err)
	}
	defer func() {
		if cerr := w.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close statfile after learning: %w", cerr)
		}
	}()
	l := learn.New(w, d.opts.Learn)
	batch := l.NewBatch(0)
	err = walk(func(name string, data []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if label == Forget {
			// A forget must see every learn before it.
			if err := batch.Flush(); err != nil {
				return err
			}
		}
		out, err := batch.Add(bytes.NewReader(data), label, user)
		if err != nil && !errors.Is(err, ErrNotMessage) {
			return fmt.Errorf("%s: %w", name, err)
		}
		report(name, out, err)
		return nil
	})
	if ferr := batch.Flush(); err == nil && ferr != nil {
		err = ferr
	}
	return err
}
