package spamd

import (
	"context"
	"errors"

	"github.com/sluicemail/sluice/learner"
)

// Learner learns (or forgets) one message: *learner.Door, the learner's
// front door, which goes to the learner daemon, else to the statfile
// directly. It returns when the learn is durable (or queued).
//
// Errors it may return, wrapped: learner.ErrNotMessage for input that is
// not a message; learner.ErrUnavailable (or ErrBusy) when the statistics
// cannot be written now: the client is told to try again later.
type Learner interface {
	Learn(ctx context.Context, req *learner.Request) (learner.Result, error)
}

// ErrBusy says that the statistics are busy or unreachable; spamd replies
// EX_TEMPFAIL (75), HTTP 503.
var ErrBusy = errors.New("spamd: statistics busy, try again later")

// learn asks the Learner, from the spamd listener.
func (s *Server) learn(ctx context.Context, msg []byte, label learner.Label, user string) (learner.Outcome, error) {
	res, err := s.opts.Learner.Learn(ctx, &learner.Request{Label: label, User: user, Source: "spamd", Message: msg})
	return res.Outcome, err
}
