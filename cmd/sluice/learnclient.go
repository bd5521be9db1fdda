package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/learner"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/spamd"
)

// The spamd listener's learners: in `sluice serve` the daemon in process;
// in `sluice spamd` the daemon's socket when a learner runs, else the
// statfile directly (directLearner).

func opFor(class mmapstore.Class) learner.Op {
	if class == mmapstore.Ham {
		return learner.OpHam
	}
	return learner.OpSpam
}

// busy maps a failure to learn now onto spamd.ErrBusy (75, 503).
func busy(err error) error {
	if err == nil || errors.Is(err, learn.ErrNotMessage) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: %w", spamd.ErrBusy, err)
}

// daemonLearner hands spamd's learns to the daemon in the same process.
type daemonLearner struct{ d *learner.Daemon }

var (
	_ spamd.Learner   = daemonLearner{}
	_ spamd.Forgetter = daemonLearner{}
)

func (a daemonLearner) Learn(ctx context.Context, msg []byte, class mmapstore.Class, user string) (learn.Outcome, error) {
	out, err := a.d.Learn(ctx, &learner.Request{Op: opFor(class), User: user, Source: "spamd", Message: msg})
	return out, busy(err)
}

func (a daemonLearner) Forget(ctx context.Context, msg []byte, user string) (learn.Outcome, error) {
	out, err := a.d.Learn(ctx, &learner.Request{Op: learner.OpForget, User: user, Source: "spamd", Message: msg})
	return out, busy(err)
}

// socketLearner learns through the learner daemon's socket, or directly
// when no daemon can be reached.
type socketLearner struct {
	socket string
	max    int64
	direct *directLearner
}

var (
	_ spamd.Learner   = (*socketLearner)(nil)
	_ spamd.Forgetter = (*socketLearner)(nil)
)

func (s *socketLearner) do(ctx context.Context, req *learner.Request) (learn.Outcome, error) {
	c, err := learner.Dial(ctx, s.socket, s.max)
	if errors.Is(err, learner.ErrUnreachable) {
		return s.direct.do(ctx, req)
	}
	if err != nil {
		return 0, busy(err)
	}
	defer c.Close()
	out, err := c.Learn(ctx, req)
	return out, busy(err)
}

func (s *socketLearner) Learn(ctx context.Context, msg []byte, class mmapstore.Class, user string) (learn.Outcome, error) {
	return s.do(ctx, &learner.Request{Op: opFor(class), User: user, Source: "spamd", Message: msg})
}

func (s *socketLearner) Forget(ctx context.Context, msg []byte, user string) (learn.Outcome, error) {
	return s.do(ctx, &learner.Request{Op: learner.OpForget, User: user, Source: "spamd", Message: msg})
}
