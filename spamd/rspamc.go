package spamd

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/sluicemail/sluice/scan"
)

// This file is rspamd's legacy protocol, "CHECK RSPAMC/1.3": what Exim's
// spam condition sends with variant=rspamd. Exim parses the reply with
// "RSPAMD/%7s 0 EX_OK\r\nMetric: default; %7s %lf / %lf / %lf\r\n", then an
// optional "Action: " line; the rest becomes $spam_report.

// serveRspamc answers one legacy rspamd request.
func (s *Server) serveRspamc(ctx context.Context, req *Request) []byte {
	switch req.Verb {
	case "PING":
		return []byte("RSPAMD/1.3 0 PONG\r\n")
	case "SKIP":
		return nil
	case "CHECK", "SYMBOLS", "REPORT", "REPORT_IFSPAM", "PROCESS":
		v, err := s.verdict(ctx, req.Body, s.rspamdRequest(req.Header), rspamdEnvelope(ProtoRspamc, req.Header))
		if err != nil {
			return rspamcError(err)
		}
		return rspamcVerdict(v, s.rejectScore(v))
	}
	return rspamcError(protoErr(exProtocol, "unknown verb %q", clip(req.Verb)))
}

func rspamcError(err *ProtocolError) []byte {
	return fmt.Appendf(nil, "RSPAMD/1.3 %d %s %s\r\n", err.Code, exitName(err.Code), oneLine(err.Msg))
}

// rspamcVerdict formats the Metric block. As in rspamd, the required score
// is the reject threshold and True means the score reaches it, so that
// Exim's plain `spam = user` condition is the reject decision; the action
// line carries the milder verdicts.
func rspamcVerdict(v *scan.Verdict, required float64) []byte {
	word := "False"
	if required > 0 && v.Score >= required {
		word = "True"
	}
	out := fmt.Appendf(nil, "RSPAMD/1.3 0 EX_OK\r\nMetric: default; %s; %.2f / %.2f / %.2f\r\nAction: %s\r\n",
		word, v.Score, required, required, v.Action)
	for _, sym := range v.Symbols {
		out = fmt.Appendf(out, "Symbol: %s(%.2f)\r\n", sym.Name, sym.Score)
	}
	return out
}

// rspamdUser picks whose statistics apply: Deliver-To, else the only
// recipient of a single-recipient message (Exim sends Rcpt: <addr> lines),
// else none (the shared statistics).
func rspamdUser(h map[string][]string) string {
	if v := h["deliver-to"]; len(v) > 0 && v[0] != "" {
		return trimAngle(v[0])
	}
	if v := h["rcpt"]; len(v) == 1 {
		return trimAngle(v[0])
	}
	return ""
}

// rspamdRequest says whose message an rspamd client sent: the user
// (rspamdUser) and the settings profile, which a Settings-ID header names
// outright (an unknown one is ignored, as rspamd does) or else the first
// of Deliver-To and the Rcpt lines that has one gives.
func (s *Server) rspamdRequest(h map[string][]string) scan.Request {
	req := scan.Request{User: rspamdUser(h), Envelope: scanEnvelope(h)}
	if s.opts.Profiles == nil {
		return req
	}
	if v := h["settings-id"]; len(v) > 0 {
		if name, ok := s.opts.Profiles.Named(v[0]); ok {
			req.Profile = name
			return req
		}
		s.log.Debug("unknown Settings-ID ignored", "settings_id", clip(v[0]))
	}
	var rcpts []string
	for _, r := range append(h["deliver-to"], h["rcpt"]...) {
		rcpts = append(rcpts, trimAngle(r))
	}
	req.Profile = s.profileOf(rcpts...)
	return req
}

// scanEnvelope is the SMTP session as an rspamd client (Exim, rspamc
// --from/--rcpt/--ip) states it in the From, Rcpt and IP headers, for the
// allow and block lists. Recipients are bounded as the milter's are.
func scanEnvelope(h map[string][]string) scan.Envelope {
	var env scan.Envelope
	if v := h["from"]; len(v) > 0 {
		env.Sender = trimAngle(v[0])
	}
	for _, r := range h["rcpt"] {
		if len(env.Recipients) == maxEnvelopeRcpts {
			break
		}
		env.Recipients = append(env.Recipients, trimAngle(r))
	}
	if v := h["ip"]; len(v) > 0 {
		if a, err := netip.ParseAddr(strings.Trim(v[0], "[]")); err == nil {
			env.Client = a.Unmap()
		}
	}
	return env
}

// maxEnvelopeRcpts bounds the recipients of one request kept for the lists.
const maxEnvelopeRcpts = 1000

func trimAngle(s string) string {
	if len(s) >= 2 && s[0] == '<' && s[len(s)-1] == '>' {
		return s[1 : len(s)-1]
	}
	return s
}
