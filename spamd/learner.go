package spamd

import (
	"context"
	"errors"

	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
)

// Learner learns one message as spam or ham for a user ("" for the shared
// statistics only). It returns when the learn is durable. The command wires
// a direct learner (the statfile opened for writing per request); the
// learner daemon's client will replace it.
//
// Errors it may return, wrapped: ErrBusy when the statistics cannot be
// written now (another writer holds them: the client is told to try again
// later), learn.ErrNotMessage for input that is not a message.
type Learner interface {
	Learn(ctx context.Context, msg []byte, class mmapstore.Class, user string) (learn.Outcome, error)
}

// ErrBusy says that the statistics are busy or unreachable; spamd replies
// EX_TEMPFAIL (75), HTTP 503.
var ErrBusy = errors.New("spamd: statistics busy, try again later")

// LearnerFunc adapts a function to Learner.
type LearnerFunc func(ctx context.Context, msg []byte, class mmapstore.Class, user string) (learn.Outcome, error)

// Learn calls f.
func (f LearnerFunc) Learn(ctx context.Context, msg []byte, class mmapstore.Class, user string) (learn.Outcome, error) {
	return f(ctx, msg, class, user)
}

// Forgetter is implemented by Learners that can unlearn a message (TELL
// with Remove: local alone, spamc -L forget): counts and totals of the
// class it was learned as go down and its learn cache entry is cleared.
// It returns learn.Forgotten, or learn.NotLearned when the message was not
// learned.
type Forgetter interface {
	Forget(ctx context.Context, msg []byte, user string) (learn.Outcome, error)
}
