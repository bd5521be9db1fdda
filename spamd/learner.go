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

// peer is what a request's connection says about its client: a unix
// socket (whose mode and group decide who may connect) or not.
type peer struct {
	id     uint64 // the connection's number, the request id of log lines
	unix   bool
	remote string
}

type peerKey struct{}

// authorizeLearn decides whether a learn may go on: over a unix socket
// always, over TCP with the password. A refusal is logged and counted,
// and its error is the reply.
func (s *Server) authorizeLearn(ctx context.Context, password string, label learner.Label) *ProtocolError {
	p, _ := ctx.Value(peerKey{}).(peer)
	if p.unix {
		return nil
	}
	reason, msg := "", ""
	switch {
	case !s.pw.Set():
		reason, msg = "no_password", "learning over TCP is off: use the unix socket, or set spamd.password and send it (rspamc -P)"
	case !s.pw.Match(password):
		reason, msg = "wrong_password", "unauthorized: wrong or missing Password header"
	default:
		return nil
	}
	s.count.learnsRefused.Inc()
	s.log.Warn("learn refused", "remote", p.remote, "reason", reason, "class", label.String())
	return protoErr(exNoPerm, "%s", msg)
}
