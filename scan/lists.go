package scan

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/sluicemail/sluice/lists"
)

// Lists: with Options.Lists set, the scanner matches the request's
// envelope (Request.Sender, Recipients, Client) and the parsed header
// against the allow and block lists after the rules; each list that
// matches appends its symbol, like a rule, and the verdict names it in
// Listed. ScanTokens runs no lists.

// ListChecker is the allow and block lists; *lists.Lists implements it.
type ListChecker interface {
	Check(m *lists.Message, dst []lists.Hit) []lists.Hit
}

// Envelope is what the MTA said about a message in the SMTP session, for
// the lists: the front ends fill it from the milter's MAIL FROM, RCPT TO
// and client address, or from rspamd's From, Rcpt and IP headers.
type Envelope struct {
	Sender     string   // envelope MAIL FROM
	Recipients []string // envelope RCPT TO
	Client     netip.Addr
}

// runLists appends the symbols of the lists that match.
func (s *Scanner) runLists(w *worker, req Request, v *Verdict) {
	m := lists.Message{Sender: req.Envelope.Sender, Recipients: req.Envelope.Recipients, Client: req.Envelope.Client, Header: &w.res.Header}
	for _, h := range s.opts.Lists.Check(&m, nil) {
		v.Symbols = append(v.Symbols, Symbol{Name: h.Symbol, Score: h.Score, Detail: h.Detail})
		v.Listed = append(v.Listed, h.Symbol+": "+h.Detail)
	}
}

// ParseEnvelope builds an Envelope from command-line words: the sender,
// recipients separated by commas, and the client's IP address ("" for
// none).
func ParseEnvelope(sender, recipients, client string) (Envelope, error) {
	env := Envelope{Sender: sender}
	for _, r := range strings.Split(recipients, ",") {
		if r = strings.TrimSpace(r); r != "" {
			env.Recipients = append(env.Recipients, r)
		}
	}
	if client != "" {
		a, err := netip.ParseAddr(client)
		if err != nil {
			return Envelope{}, fmt.Errorf("client address %q is not an IP address", client)
		}
		env.Client = a
	}
	return env, nil
}
