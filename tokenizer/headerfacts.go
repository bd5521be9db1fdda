package tokenizer

import (
	"strings"

	"golang.org/x/net/publicsuffix"
)

// maxHeaderNames bounds the #h: metatokens of one message.
const maxHeaderNames = 48

// perDelivery lists header fields that say where and how a copy of the
// message was delivered rather than what the sender sent: relay stamps,
// the receiving site's own filters and mail stores. They differ between
// two deliveries of the same message, and they describe the receiving
// site (whoever collected a corpus) instead of the mail, so a filter that
// learned them would learn its own infrastructure. They give no tokens.
var perDelivery = map[string]bool{
	"received": true, "return-path": true, "delivered-to": true, "delivery-date": true,
	"envelope-to": true, "x-original-to": true, "x-envelope-from": true, "x-envelope-to": true,
	"x-rcpt-to": true, "x-uid": true, "x-uidl": true, "status": true, "x-status": true,
	"x-keywords": true, "x-mozilla-status": true, "x-mozilla-status2": true, "lines": true,
	"content-length": true, "x-imap": true, "x-authentication-warning": true, "x-mailscanner": true,
	"authentication-results": true, "received-spf": true, "x-original-authentication-results": true,
	"x-received": true, "x-gm-message-state": true, "x-google-smtp-source": true, "x-sieve": true,
	"x-virus-scanned": true, "x-virus-status": true, "x-greylist": true, "x-bogosity": true,
}

// perDeliveryPrefix: whole families of receiving-side fields.
var perDeliveryPrefix = []string{"x-spam", "x-rspamd", "x-sluice", "arc-", "x-ms-exchange-organization", "x-barracuda", "x-proofpoint", "x-ironport", "x-sa-", "x-evolution"}

// headerFacts emits metatokens for what the sender's header says about the
// mail, as opposed to its relay path:
//
//   - #h:NAME for each field name present (lower case, at most
//     maxHeaderNames, per-delivery fields excluded): mailing-list fields,
//     In-Reply-To and References, X-Priority and the like are strong and
//     general evidence.
//   - #from-dom:DOMAIN, the registered domain of the From address, and
//     #msgid-dom:DOMAIN, that of the Message-ID.
//   - #reply-to:same|other|none, whether Reply-To points to the From domain.
//   - #rcpts:BUCKET, the number of To and Cc addresses, and #to:none when
//     there is no To field.
//   - #prec:VALUE, the Precedence field's value (bulk, list, junk).
//
// Then senderFacts adds tokens from the values of sender-written fields.
func (t *Tokenizer) headerFacts(h *header) {
	var seen [maxHeaderNames][]byte // names emitted, views into t.hnames
	names := 0
	t.hnames = t.hnames[:0]
	for _, f := range h.fields {
		if names >= maxHeaderNames {
			break
		}
		start := len(t.hnames)
		var ok bool
		if t.hnames, ok = appendLowerName(t.hnames, h.key(f)); !ok {
			t.hnames = t.hnames[:start]
			continue
		}
		name := t.hnames[start:]
		if perDelivery[string(name)] || hasAnyPrefix(name, perDeliveryPrefix) || containsName(seen[:names], name) {
			t.hnames = t.hnames[:start]
			continue
		}
		seen[names] = name
		names++
		t.meta("h", string(name))
	}
	fromDom := addrDomain(h.Get("From"))
	if fromDom != "" {
		t.meta("from-dom", fromDom)
	}
	if d := msgIDDomain(h.Get("Message-Id")); d != "" {
		t.meta("msgid-dom", d)
	}
	switch rt := addrDomain(h.Get("Reply-To")); {
	case h.Get("Reply-To") == "":
		t.meta("reply-to", "none")
	case rt != "" && rt == fromDom:
		t.meta("reply-to", "same")
	default:
		t.meta("reply-to", "other")
	}
	to, cc := h.Get("To"), h.Get("Cc")
	if strings.TrimSpace(to) == "" {
		t.meta("to", "none")
	}
	t.meta("rcpts", countBucket(countAddrs(to)+countAddrs(cc)))
	if p := strings.ToLower(strings.TrimSpace(h.Get("Precedence"))); p != "" {
		t.meta("prec", safeValue(p))
	}
	t.senderFacts(h)
}

// appendLowerName appends a header name in lower case; ok is false for a
// name that is empty, longer than 40 bytes, or has bytes other than
// letters, digits, '-', '_' and '.' (8-bit garbage gives no token).
func appendLowerName(dst, b []byte) ([]byte, bool) {
	if len(b) == 0 || len(b) > 40 {
		return dst, false
	}
	for _, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return dst, false
		}
		dst = append(dst, c)
	}
	return dst, true
}

func containsName(names [][]byte, name []byte) bool {
	for _, n := range names {
		if string(n) == string(name) {
			return true
		}
	}
	return false
}

func hasAnyPrefix(s []byte, prefixes []string) bool {
	for _, p := range prefixes {
		if len(s) >= len(p) && string(s[:len(p)]) == p {
			return true
		}
	}
	return false
}

// addrDomain returns the registered domain of the first address in an
// address-list value, or "".
func addrDomain(v string) string {
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			v = v[i+1 : i+j]
		}
	}
	at := strings.LastIndexByte(v, '@')
	if at < 0 {
		return ""
	}
	d := strings.TrimRight(strings.ToLower(strings.TrimSpace(v[at+1:])), ".>) \t")
	if i := strings.IndexAny(d, " \t,;()<>\""); i >= 0 {
		d = d[:i]
	}
	return registered(d)
}

// msgIDDomain returns the registered domain of a Message-ID's right side.
func msgIDDomain(v string) string {
	v = strings.Trim(strings.TrimSpace(v), "<>")
	at := strings.LastIndexByte(v, '@')
	if at < 0 {
		return ""
	}
	return registered(strings.ToLower(v[at+1:]))
}

// registered reduces a host name to its registered domain (eTLD+1); names
// that are not plausible host names give "".
func registered(host string) string {
	if host == "" || len(host) > 253 || !strings.Contains(host, ".") {
		return ""
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '[' || c == ']') {
			return ""
		}
	}
	if host[0] == '[' || isIPv4([]byte(host)) {
		return "ip"
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return safeValue(host)
	}
	return d
}

// countAddrs counts the addresses of an address-list value (by '@').
func countAddrs(v string) int { return strings.Count(v, "@") }
