package spamd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sluicemail/sluice/learner"
	"github.com/sluicemail/sluice/scan"
	"github.com/sluicemail/sluice/spamheader"
)

// This file is SpamAssassin's spamd protocol (spamd/PROTOCOL in
// SpamAssassin's source): one request per connection, the reply, then the
// connection is closed.

// spamdOK is the status line of every successful verdict; spamd answers 1.1
// whatever the client's version, and clients (spamc, Exim) accept any.
const spamdOK = "SPAMD/1.1 0 EX_OK\r\n"

// serveSpamd answers one spamd request; nil means no reply (SKIP).
func (s *Server) serveSpamd(ctx context.Context, req *Request) []byte {
	switch req.Verb {
	case "PING":
		return []byte("SPAMD/1.5 0 PONG\r\n")
	case "SKIP":
		return nil
	case "CHECK", "SYMBOLS", "REPORT", "REPORT_IFSPAM", "PROCESS", "HEADERS":
		if req.Truncated && (req.Verb == "PROCESS" || req.Verb == "HEADERS") {
			// The reply would have to carry the whole message; spamc
			// passes it through unchanged on an error.
			return spamdError(protoErr(exDataErr, "message larger than %d bytes", s.opts.Limits.MaxSize))
		}
		user := req.Get("user")
		v, err := s.verdict(ctx, req.Body, scan.Request{User: user, Profile: s.profileOf(user)}, envelope{proto: ProtoSpamd})
		if err != nil {
			return spamdError(err)
		}
		return spamdVerdict(req, v, s.opts.Headers)
	case "TELL":
		return s.tell(ctx, req)
	}
	return spamdError(protoErr(exProtocol, "unknown verb %q", clip(req.Verb)))
}

// spamdError is the one-line error reply: the status is the sysexits code.
func spamdError(err *ProtocolError) []byte {
	return fmt.Appendf(nil, "SPAMD/1.0 %d %s %s\r\n", err.Code, exitName(err.Code), oneLine(err.Msg))
}

// spamdVerdict formats the reply to CHECK, SYMBOLS, REPORT, REPORT_IFSPAM,
// PROCESS and HEADERS. From protocol 1.3 on, Content-length comes first
// (before Spam:); a 1.2 client (Exim) gets exactly the status line, the
// Spam: line, the empty line and the body, which is what Exim parses.
func spamdVerdict(req *Request, v *scan.Verdict, headers spamheader.Options) []byte {
	var body []byte
	switch req.Verb {
	case "SYMBOLS":
		body = []byte(symbolNames(v))
		if req.Minor < 3 {
			body = append(body, "\r\n"...)
		}
	case "REPORT":
		body = []byte(report(v, req.Truncated))
	case "REPORT_IFSPAM":
		if isSpam(v) {
			body = []byte(report(v, req.Truncated))
		}
	case "PROCESS":
		body = processed(req.Body, v, headers)
	case "HEADERS":
		body = processedHeaders(req.Body, v, headers)
	}
	out := make([]byte, 0, 128+len(body))
	out = append(out, spamdOK...)
	if req.Minor >= 3 || req.Verb == "PROCESS" || req.Verb == "HEADERS" {
		out = append(out, "Content-length: "...)
		out = strconv.AppendInt(out, int64(len(body)), 10)
		out = append(out, "\r\n"...)
	}
	word := "False"
	if isSpam(v) {
		word = "True"
	}
	out = fmt.Appendf(out, "Spam: %s ; %.1f / %.1f\r\n\r\n", word, v.Score, v.Required)
	return append(out, body...)
}

// tellRequest is what a TELL asks: the class to learn and where.
type tellRequest struct {
	label       learner.Label // 0 with Remove only
	setLocal    bool
	removeLocal bool
	user        string
}

// parseTell checks a TELL request's headers. Set and Remove name
// databases, "local" (ours) and "remote" (reporting services, which Sluice
// has none of: ignored).
func parseTell(req *Request) (tellRequest, *ProtocolError) {
	t := tellRequest{user: req.Get("user")}
	switch c := strings.ToLower(req.Get("message-class")); c {
	case "spam":
		t.label = learner.Spam
	case "ham":
		t.label = learner.Ham
	case "":
	default:
		return t, protoErr(exProtocol, "bad Message-class %q", clip(c))
	}
	var ok bool
	if t.setLocal, ok = databases(req.Header["set"]); !ok {
		return t, protoErr(exProtocol, "bad Set %q", clip(req.Get("set")))
	}
	if t.removeLocal, ok = databases(req.Header["remove"]); !ok {
		return t, protoErr(exProtocol, "bad Remove %q", clip(req.Get("remove")))
	}
	if len(req.Header["set"]) == 0 && len(req.Header["remove"]) == 0 {
		return t, protoErr(exProtocol, "TELL needs a Set or Remove header")
	}
	if len(req.Header["set"]) > 0 && t.label == 0 {
		return t, protoErr(exProtocol, "TELL with Set needs a Message-class")
	}
	return t, nil
}

// databases parses "local, remote" lists; it reports whether local is named
// and whether every name is known.
func databases(values []string) (local, ok bool) {
	for _, v := range values {
		for _, f := range strings.Split(v, ",") {
			switch strings.ToLower(strings.TrimSpace(f)) {
			case "local":
				local = true
			case "remote":
			default:
				return false, false
			}
		}
	}
	return local, true
}

// tell learns a message (spamc -L spam|ham). DidSet: local says it was
// counted; without it spamc reports "already learned", which is also a
// success (exit 0).
func (s *Server) tell(ctx context.Context, req *Request) []byte {
	t, perr := parseTell(req)
	if perr != nil {
		return spamdError(perr)
	}
	if s.opts.Learner == nil {
		return spamdError(protoErr(exUnavailable, "learning is disabled on this server"))
	}
	if !t.setLocal && !t.removeLocal {
		return []byte(spamdOK + "\r\n\r\n") // remote only: nothing to do here
	}
	label := t.label
	if !t.setLocal {
		label = learner.Forget
	}
	if perr := s.authorizeLearn(ctx, req.Get("password"), label); perr != nil {
		return spamdError(perr)
	}
	if !t.setLocal {
		if t.removeLocal {
			out, err := s.learn(ctx, req.Body, learner.Forget, t.user)
			if err != nil {
				return spamdError(s.learnError(err))
			}
			s.count.learns.Inc()
			if out == learner.Forgotten {
				return []byte(spamdOK + "DidRemove: local\r\n\r\n\r\n")
			}
			return []byte(spamdOK + "\r\n\r\n")
		}
	}
	out, err := s.learn(ctx, req.Body, t.label, t.user)
	if err != nil {
		return spamdError(s.learnError(err))
	}
	s.count.learns.Inc()
	reply := spamdOK
	if out != learner.AlreadyLearned {
		reply += "DidSet: local\r\n"
		if t.removeLocal && out == learner.Relearned {
			reply += "DidRemove: local\r\n"
		}
	}
	return []byte(reply + "\r\n\r\n")
}

// learnError maps a Learner error to the reply code, and logs it.
func (s *Server) learnError(err error) *ProtocolError {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return protoErr(exTimeout, "learning took too long")
	case errors.Is(err, ErrBusy), errors.Is(err, learner.ErrUnavailable):
		return protoErr(exTempFail, "statistics busy, try again later")
	case errors.Is(err, learner.ErrNotMessage):
		return protoErr(exDataErr, "input is not a mail message")
	}
	s.log.Error("learn failed", "err", err)
	return protoErr(exTempFail, "learning failed, try again later")
}

// oneLine keeps error text on one reply line.
func oneLine(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}
