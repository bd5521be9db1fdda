package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// Bounds of the sender value metatokens.
const (
	maxAddrs       = 64 // addresses read from one address-list field
	maxAddrBytes   = 254
	maxAddrValue   = 64 // bytes of #from and #from-user values
	maxShapeBytes  = 24 // bytes of a #from-local or #msgid-shape value
	maxMailerWords = 8
	maxMailerWord  = 32
)

// senderFacts emits metatokens from the values of fields the sender
// writes, which headerFacts only uses as presence facts:
//
//   - #from:ADDR, #from-user:LOCAL and #from-local:SHAPE, the From
//     address, its local part and the shape of the local part;
//   - #rcpt-doms:N, the number of distinct registered domains among the To
//     and Cc addresses;
//   - #mailer-w:WORD, each word of X-Mailer (else User-Agent), versions
//     included;
//   - #msgid-shape:SHAPE, the shape of the Message-ID's left side;
//   - #date-tz:ZONE, the time zone of the Date field.
//
// Each was measured on the public corpus (4-fold cross-validation; see the
// commit that added it); values of the same fields that did not help
// (Reply-To and Sender domains, List-Id, List-Unsubscribe kind, recipient
// domains, encoded-word charsets, boundary shape...) give no token.
func (t *Tokenizer) senderFacts(h *header) {
	var one [1]string
	if a := appendAddrs(one[:0], h.Get("From"), 1); len(a) == 1 {
		local, _, _ := strings.Cut(a[0], "@")
		if v, ok := addrValue(a[0]); ok {
			t.meta("from", v)
		}
		if v, ok := addrValue(local); ok && v != "" {
			t.meta("from-user", v)
		}
		t.meta("from-local", shape(local, false))
	}
	if n := rcptDomains(h); n > 0 {
		t.meta("rcpt-doms", countBucket(n))
	}
	mailer := h.Get("X-Mailer")
	if mailer == "" {
		mailer = h.Get("User-Agent")
	}
	t.mailerWords(mailer)
	id := strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>")
	if left, _, ok := strings.Cut(id, "@"); ok && left != "" {
		t.meta("msgid-shape", shape(left, true))
	}
	if z := dateZone(h.Get("Date")); z != "" {
		t.meta("date-tz", z)
	}
}

// appendAddrs appends to dst the lower-cased addr-specs of an
// address-list value, up to max in all: "Name <a@b>", "a@b (Name)", bare
// "a@b", groups "name: a@b, c@d;". Commas inside quotes, comments and
// angle brackets do not split. Items without exactly one "@", or with
// blanks, quotes or brackets left in them, are skipped.
func appendAddrs(dst []string, v string, max int) []string {
	quoted := false
	paren, angle := 0, 0
	start := 0
	for i := 0; i <= len(v) && len(dst) < max; i++ {
		if i == len(v) {
			dst = appendAddr(dst, v[start:])
			break
		}
		switch c := v[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '(':
			paren++
		case c == ')':
			if paren > 0 {
				paren--
			}
		case c == '<':
			angle++
		case c == '>':
			if angle > 0 {
				angle--
			}
		case c == ',' && paren == 0 && angle == 0:
			dst = appendAddr(dst, v[start:i])
			start = i + 1
		}
	}
	return dst
}

// appendAddr appends the addr-spec of one item of an address list.
func appendAddr(dst []string, s string) []string {
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		s = s[i+1:]
		if j := strings.IndexByte(s, '>'); j >= 0 {
			s = s[:j]
		}
	} else if i := strings.IndexByte(s, '('); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 { // group name, source route
		s = s[i+1:]
	}
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), ";"))
	if len(s) < 3 || len(s) > maxAddrBytes || strings.Count(s, "@") != 1 || strings.ContainsAny(s, " \t\"'<>(),;\\") {
		return dst
	}
	return append(dst, asciiLower(s))
}

// addrValue makes an address or local part a metatoken value: at most
// maxAddrValue bytes (cut at a character boundary); ok is false when it
// holds control characters or invalid UTF-8 (UTF-8 addresses, RFC 6532,
// are kept).
func addrValue(s string) (string, bool) {
	if !utf8.ValidString(s) {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return "", false
		}
	}
	if len(s) > maxAddrValue {
		n := maxAddrValue
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n]
	}
	return s, true
}

// shape describes an identifier by its runs of character classes, each
// run written once: letters "a" (with cased, upper case "A"), digits "9",
// ASCII punctuation as itself, other bytes (blanks, controls, 8-bit) "?".
// The result has at most maxShapeBytes bytes and ends with "+" when cut:
// "john.smith" is "a.a", "jsmith72" "a9", "3D5F.1A2B" in cased mode
// "9A9A.9A9A".
func shape(s string, cased bool) string {
	var b [maxShapeBytes + 1]byte
	n := 0
	var last byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		k := c
		switch {
		case c >= 'a' && c <= 'z':
			k = 'a'
		case c >= 'A' && c <= 'Z':
			k = 'A'
			if !cased {
				k = 'a'
			}
		case c >= '0' && c <= '9':
			k = '9'
		case c > ' ' && c < 0x7f: // punctuation: kept
		default:
			k = '?'
		}
		if k == last {
			continue
		}
		if n == maxShapeBytes {
			b[n] = '+'
			n++
			break
		}
		b[n] = k
		n++
		last = k
	}
	return string(b[:n])
}

// rcptDomains counts the distinct registered domains of the first
// maxAddrs To and Cc addresses.
func rcptDomains(h *header) int {
	var buf [maxAddrs]string
	addrs := appendAddrs(buf[:0], h.Get("To"), maxAddrs)
	addrs = appendAddrs(addrs, h.Get("Cc"), maxAddrs-len(addrs))
	var doms [maxAddrs]string
	n := 0
	for _, a := range addrs {
		_, d, _ := strings.Cut(a, "@")
		if d = registered(d); d == "" {
			continue
		}
		seen := false
		for _, e := range doms[:n] {
			if e == d {
				seen = true
				break
			}
		}
		if !seen {
			doms[n] = d
			n++
		}
	}
	return n
}

// mailerWords emits #mailer-w for each word of a mailer field: lower case,
// split at bytes other than letters, digits, '.', '-' and '_', words of
// more than maxMailerWord bytes skipped, at most maxMailerWords words.
// Unlike #mailer, versions are kept: "microsoft outlook express
// 6.00.2600.0000" gives five words.
func (t *Tokenizer) mailerWords(v string) {
	n := 0
	for i := 0; i < len(v) && n < maxMailerWords; {
		for i < len(v) && !mailerByte(v[i]) {
			i++
		}
		j := i
		for j < len(v) && mailerByte(v[j]) {
			j++
		}
		if w := strings.Trim(v[i:j], ".-_"); w != "" && j-i <= maxMailerWord {
			t.meta("mailer-w", asciiLower(w))
			n++
		}
		i = j
	}
}

func mailerByte(c byte) bool { return isAlnum(c) || c == '.' || c == '-' || c == '_' }

// dateZone returns the zone of a Date value: the word after the time,
// "+hhmm"/"-hhmm" as written, an alphabetic zone (GMT, EST, UT...) in
// upper case, "none" when the time is the last word, "bad" for anything
// else; "" when no time (hh:mm) is found in the first six words.
func dateZone(v string) string {
	afterTime := false
	n := 0
	for w := range strings.FieldsSeq(v) {
		if afterTime {
			return zoneValue(w)
		}
		if n++; n > 6 {
			return ""
		}
		afterTime = strings.IndexByte(w, ':') > 0
	}
	if afterTime {
		return "none"
	}
	return ""
}

func zoneValue(w string) string {
	if len(w) == 5 && (w[0] == '+' || w[0] == '-') {
		if _, ok := digits(w[1:], 4, 4); ok {
			return w
		}
		return "bad"
	}
	if len(w) < 1 || len(w) > 5 {
		return "bad"
	}
	for i := 0; i < len(w); i++ {
		if c := w[i] | 0x20; c < 'a' || c > 'z' {
			return "bad"
		}
	}
	return strings.ToUpper(w)
}
