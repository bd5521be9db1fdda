package spamd

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/sluicemail/sluice/scan"
	"github.com/sluicemail/sluice/spamheader"
)

// This file turns a verdict into the texts the protocols carry: the report,
// the symbol list and the X-Spam-* header fields of a processed message.

// isSpam is every front end's rule (scan.Action.IsSpam): the action is
// add header or stronger.
func isSpam(v *scan.Verdict) bool { return v.Action.IsSpam() }

// symbolNames lists the symbols, comma-separated (spamd's SYMBOLS body).
func symbolNames(v *scan.Verdict) string {
	names := make([]string, len(v.Symbols))
	for i, s := range v.Symbols {
		names[i] = s.Name
	}
	return strings.Join(names, ",")
}

// report is the human-readable analysis, in the shape of SpamAssassin's
// report so that people and scripts used to it read it (LF line ends).
func report(v *scan.Verdict, truncated bool) string {
	var b strings.Builder
	if isSpam(v) {
		b.WriteString("Sluice has identified this incoming email as possible spam.\n")
	} else {
		b.WriteString("Sluice has NOT identified this incoming email as spam.\n")
	}
	fmt.Fprintf(&b, "\nContent analysis details:   (%.1f points, %.1f required, action %s)\n\n", v.Score, v.Required, v.Action)
	b.WriteString(" pts rule name              description\n")
	b.WriteString("---- ---------------------- --------------------------------------------------\n")
	for _, s := range v.Symbols {
		fmt.Fprintf(&b, "%4.1f %-22s %s\n", s.Score, s.Name, describe(s))
	}
	if v.Silent != "" {
		fmt.Fprintf(&b, "Bayes was silent: %s\n", v.Silent)
	}
	if v.Truncated != "" {
		fmt.Fprintf(&b, "Scanned in part: %s\n", v.Truncated)
	} else if truncated {
		b.WriteString("Scanned in part: the message exceeded the server's size limit\n")
	}
	return b.String()
}

// describe is what the report says of a symbol (X-Spam-Report's words).
func describe(s scan.Symbol) string { return spamheader.Describe(s) }

// splitHeader returns the message's header section (without the empty
// line), the separator and body that follow, and the line end it uses.
func splitHeader(msg []byte) (head, rest []byte, eol string) {
	eol = "\r\n"
	if i := bytes.IndexByte(msg, '\n'); i >= 0 && (i == 0 || msg[i-1] != '\r') {
		eol = "\n"
	}
	sep := []byte(eol + eol)
	if bytes.HasPrefix(msg, []byte(eol)) {
		return nil, msg, eol // no header section at all
	}
	if i := bytes.Index(msg, sep); i >= 0 {
		return msg[:i+len(eol)], msg[i+len(eol):], eol
	}
	if len(msg) > 0 && !bytes.HasSuffix(msg, []byte(eol)) {
		return append(append([]byte{}, msg...), eol...), nil, eol
	}
	return msg, nil, eol
}

// processed returns the message with our X-Spam-* fields (package
// spamheader with the configured options, the milter's too) in place of
// any of those names it carried (a sender could forge them), appended to
// its header section.
func processed(msg []byte, v *scan.Verdict, o spamheader.Options) []byte {
	head, rest, eol := splitHeader(msg)
	out := make([]byte, 0, len(msg)+256)
	out = appendWithoutSpamFields(out, head, o)
	out = o.Append(out, v, eol)
	if rest == nil {
		rest = []byte(eol)
	}
	return append(out, rest...)
}

// processedHeaders is the header section of processed(msg) and the empty
// line that ends it (spamd's HEADERS body).
func processedHeaders(msg []byte, v *scan.Verdict, o spamheader.Options) []byte {
	head, _, eol := splitHeader(msg)
	out := appendWithoutSpamFields(nil, head, o)
	out = o.Append(out, v, eol)
	return append(out, eol...)
}

// appendWithoutSpamFields appends the header section head minus every
// field that spamheader writes with options o (o.Is) and its continuation
// lines.
func appendWithoutSpamFields(out, head []byte, o spamheader.Options) []byte {
	skipping := false
	for len(head) > 0 {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line = head[:i+1]
		}
		head = head[len(line):]
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			if !skipping {
				out = append(out, line...)
			}
			continue
		}
		name, _, ok := bytes.Cut(line, []byte{':'})
		skipping = ok && o.Is(string(bytes.TrimRight(name, " \t")))
		if !skipping {
			out = append(out, line...)
		}
	}
	return out
}
