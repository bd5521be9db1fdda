package spamd

import (
	"net/netip"
	"time"

	"github.com/sluicemail/sluice/feed"
	"github.com/sluicemail/sluice/scan"
)

// RecordSender takes scan records without blocking: *feed.Sender (the
// learner's scan record socket), or the learner's in-process feed in
// `sluice serve`.
type RecordSender interface {
	Send(r *feed.Record) error
}

// frontend names the protocol's front end in a scan record: "spamd" for
// spamc's protocol (Exim's default), "rspamd" for rspamc's and the HTTP
// API.
func (p Proto) frontend() string {
	if p == ProtoSpamd {
		return "spamd"
	}
	return "rspamd"
}

// sendRecord hands a verdict to the learner's feed, never blocking, as
// the milter does: for the console's history and accuracy, and for
// autolearn. A client that did not say the SMTP client's address (spamc,
// Exim without variant=rspamd) is taken for a local one, whose mail
// autolearn leaves alone unless autolearn.local says otherwise: without
// the address nothing tells an outside sender from a local submission.
func (s *Server) sendRecord(v *scan.Verdict, req scan.Request, env envelope) {
	f := s.opts.Feed
	if f == nil {
		return
	}
	listed := len(v.Listed) > 0 // a list decided: shown, no sample for autolearn
	addr, err := netip.ParseAddr(env.client)
	r := &feed.Record{
		Time:          time.Now().UTC(),
		QueueID:       env.queueID,
		User:          req.User,
		Frontend:      env.proto.frontend(),
		Client:        env.client,
		Sender:        env.from,
		Profile:       v.Profile,
		Score:         v.Score,
		Required:      v.Required,
		Action:        v.Action.String(),
		Digest:        feed.Digest(v.Digest),
		Tokens:        v.Tokens,
		Listed:        listed,
		BayesProb:     v.Prob,
		Authenticated: env.auth,
		Local:         err != nil || addr.IsLoopback(),
	}
	if listed {
		r.Tokens = nil
	}
	r.Symbols = make([]feed.Symbol, len(v.Symbols))
	for i, sym := range v.Symbols {
		r.Symbols[i] = feed.Symbol{Name: sym.Name, Score: sym.Score}
	}
	if err := f.Send(r); err != nil {
		s.count.records[1].Inc()
		s.log.Debug("scan record dropped", "queue_id", env.queueID, "err", err)
		return
	}
	s.count.records[0].Inc()
}
