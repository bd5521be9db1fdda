package milter

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/emersion/go-milter"

	"github.com/sluicemail/sluice/feed"
	"github.com/sluicemail/sluice/metrics"
	"github.com/sluicemail/sluice/scan"
)

// apply turns a verdict into header edits and a reply, counts it, and sends
// its scan record.
func (x *session) apply(m *milter.Modifier, v *scan.Verdict, elapsed time.Duration) (milter.Response, error) {
	o := &x.s.opts
	greylist := ""
	if v.Action == scan.Greylist && o.Greylist != nil {
		greylist = "deferred"
		if o.Greylist.Check(x.c.client, x.from, x.rcpts) {
			greylist = "passed"
			t := v.Thresholds
			t.Greylist = 0
			v.Action = t.Decide(v.Score)
		}
	}
	x.s.m.scanned(v, elapsed)
	quarantine := v.Action == scan.Reject && o.Quarantine
	// The one line per message: what an admin greps for by queue id.
	attrs := []any{"conn", x.c.id, "queue_id", x.queueID, "client_ip", x.clientIP(),
		"from", x.sender(), "rcpts", x.nrcpt, "user", x.userName(), "profile", v.Profile,
		"score", round2(v.Score), "action", metrics.ActionLabel(v.Action), "quarantine", quarantine,
		"symbols", metrics.SymbolList(v.Symbols), "size", x.size, "elapsed", elapsed}
	if greylist != "" {
		attrs = append(attrs, "greylist", greylist)
	}
	if len(v.Listed) > 0 {
		attrs = append(attrs, "lists", v.Listed)
	}
	x.s.log.Info("message scanned", attrs...)
	if v.Skipped != "" {
		x.s.m.nonFinite.Inc()
		x.s.log.Warn("scan stage left out: its result was not a finite number", "conn", x.c.id, "queue_id", x.queueID, "skipped", v.Skipped)
	}
	x.sendRecord(v)

	switch {
	case v.Action == scan.Greylist:
		return milter.NewResponseStr(byte(milter.ActReplyCode), escapeReply(o.GreylistReply)), nil
	case v.Action == scan.Reject && !quarantine:
		return milter.NewResponseStr(byte(milter.ActReplyCode), escapeReply(o.RejectReply)), nil
	}
	if err := x.removeOurs(m); err != nil {
		return nil, err
	}
	for _, f := range o.Headers.Fields(v) {
		// libmilter's multi-line form: "\n" and white space; Postfix
		// and Sendmail write CRLF.
		if err := m.AddHeader(f.Name, f.Folded("\n")); err != nil {
			return nil, err
		}
	}
	if v.Action == scan.RewriteSubject {
		subject := strings.Replace(o.SubjectTemplate, "%s", strings.TrimSpace(x.subject), 1)
		var err error
		if x.hasSubj {
			err = m.ChangeHeader(1, "Subject", subject)
		} else {
			err = m.AddHeader("Subject", subject)
		}
		if err != nil {
			return nil, err
		}
	}
	if quarantine {
		x.s.m.quarantined.Inc()
		if err := m.Quarantine(fmt.Sprintf("Sluice: spam score %.2f", v.Score)); err != nil {
			return nil, err
		}
	}
	return milter.RespAccept, nil
}

// removeOurs deletes the copies of our headers that came with the message,
// last first so that the indexes of the others stay valid.
func (x *session) removeOurs(m *milter.Modifier) error {
	for _, name := range x.s.ours {
		for i := x.ours[name]; i >= 1; i-- {
			if err := m.ChangeHeader(i, name, ""); err != nil {
				return err
			}
		}
	}
	return nil
}

// escapeReply doubles %: Postfix and Sendmail read the reply text as a
// format.
func escapeReply(s string) string { return strings.ReplaceAll(s, "%", "%%") }

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// sendRecord hands the verdict to the learner's feed, never blocking.
func (x *session) sendRecord(v *scan.Verdict) {
	f := x.s.opts.Feed
	if f == nil {
		return
	}
	listed := len(v.Listed) > 0 // a list decided: shown, no sample for autolearn or training
	r := &feed.Record{
		Time:          x.s.opts.Now().UTC(),
		QueueID:       x.queueID,
		User:          x.userName(),
		Frontend:      "milter",
		Client:        x.clientIP(),
		Sender:        x.sender(),
		Profile:       v.Profile,
		Score:         v.Score,
		Required:      v.Required,
		Action:        v.Action.String(),
		Digest:        feed.Digest(v.Digest),
		Tokens:        v.Tokens, // for autolearn; feed.Encode leaves out too many
		Listed:        listed,
		BayesProb:     v.Prob,
		Authenticated: x.auth != "",
		Local:         x.c.local,
		Trusted:       x.c.trusted,
	}
	if listed {
		r.Tokens = nil
	} else if names := x.s.inputs; names != nil && len(v.Inputs) == len(names) {
		// The scanner's vector as it is: the sender decides whether the
		// names go along (feed.Sender).
		r.Inputs = &feed.Inputs{Set: v.InputSet, Names: names, Values: v.Inputs}
	}
	r.Symbols = make([]feed.Symbol, len(v.Symbols))
	for i, s := range v.Symbols {
		r.Symbols[i] = feed.Symbol{Name: s.Name, Score: s.Score}
	}
	if err := f.Send(r); err != nil {
		x.s.log.Debug("scan record dropped", "queue_id", x.queueID, "err", err)
	}
}

// sender is the envelope sender for the log line: without its angle
// brackets, bounded.
func (x *session) sender() string {
	return metrics.Clip(strings.Trim(strings.TrimSpace(x.from), "<>"))
}

// clientIP is the SMTP client's address for the log line ("" when the
// MTA did not say: a local submission).
func (x *session) clientIP() string {
	if x.c.client.IsValid() {
		return x.c.client.String()
	}
	return ""
}
