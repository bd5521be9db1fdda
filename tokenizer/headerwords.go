package tokenizer

import (
	"bytes"
	"net/netip"
	"strings"
)

// Bounds of the header word and relay tokens.
const (
	maxHdrFields     = 64   // header fields read for words
	maxHdrValue      = 1024 // bytes of one field value read for words
	maxHdrFieldWords = 24   // words of one field
	maxHdrWordBytes  = 40   // longer words give no token
	maxHdrTokens     = 512  // header word tokens per message
	maxReceived      = 16   // Received fields walked for the relay
)

// hdrWordFields are the fields whose values give H*name:word tokens, as
// SpamAssassin's Bayes and spamprobe read headers. Subject and the From
// display name have their own streams; Date, Received and the other
// per-delivery fields give none.
var hdrWordFields = map[string]bool{
	"from": true, "to": true, "cc": true, "reply-to": true, "sender": true,
	"list-id": true, "list-owner": true, "mailing-list": true,
	"x-mailer": true, "user-agent": true, "message-id": true, "content-type": true,
	"organization": true, "x-priority": true, "x-msmail-priority": true, "importance": true,
	"x-mimeole": true, "errors-to": true, "x-beenthere": true, "x-mailman-version": true,
	"precedence": true, "mime-version": true, "content-transfer-encoding": true,
}

// headerWords emits, for the fields of hdrWordFields, one token per word of
// the value prefixed by the field name ("H*to:jane", "H*list-id:exmh"),
// and for the address fields each address and its registered domain
// ("H*to@:jane@example.com", "H*to@dom:example.com").
func (t *Tokenizer) headerWords(h *header) {
	n := 0
	for i, f := range h.fields {
		if i >= maxHdrFields || n >= maxHdrTokens {
			break
		}
		start := len(t.hnames)
		var ok bool
		if t.hnames, ok = appendLowerName(t.hnames, h.key(f)); !ok {
			t.hnames = t.hnames[:start]
			continue
		}
		name := t.hnames[start:]
		t.hnames = t.hnames[:start]
		if !hdrWordFields[string(name)] {
			continue
		}
		v := h.value(f)
		if len(v) > maxHdrValue {
			v = v[:maxHdrValue]
		}
		n += t.fieldWords(name, t.fieldText(v), maxHdrTokens-n)
		switch string(name) {
		case "from", "to", "cc", "reply-to", "sender":
			n += t.fieldAddrs(name, string(v))
		}
	}
}

// fieldText decodes a field value as the Subject is decoded (RFC 2047
// encoded words, 8-bit bytes in the message's charset), quietly: the
// problems of header fields are not the body's, and the Subject and From
// name already report theirs. The result aliases the Tokenizer's buffers.
func (t *Tokenizer) fieldText(v []byte) []byte {
	if isASCII(v) && !bytes.Contains(v, []byte("=?")) {
		return v
	}
	t.quiet = true
	b := t.headerText(string(v))
	t.quiet = false
	return b
}

// fieldWords emits the words of one field value; it returns the count.
func (t *Tokenizer) fieldWords(name, v []byte, budget int) int {
	n := 0
	for i := 0; i < len(v) && n < maxHdrFieldWords && n < budget; {
		for i < len(v) && !hdrWordByte(v[i]) {
			i++
		}
		j := i
		for j < len(v) && hdrWordByte(v[j]) {
			j++
		}
		w := trimWord(v[i:j])
		i = j
		if len(w) == 0 || len(w) > maxHdrWordBytes || idLike(w) {
			continue
		}
		hdrToken(t, name, ":", w)
		n++
	}
	return n
}

// fieldAddrs emits the addresses of an address field and their domains.
func (t *Tokenizer) fieldAddrs(name []byte, v string) int {
	var buf [8]string
	n := 0
	for _, a := range appendAddrs(buf[:0], v, len(buf)) {
		if len(a) > maxAddrValue {
			continue
		}
		hdrToken(t, name, "@:", a)
		n++
		if _, dom, ok := strings.Cut(a, "@"); ok {
			if d := registered(dom); d != "" {
				hdrToken(t, name, "@dom:", d)
				n++
			}
		}
	}
	return n
}

// hdrToken adds the token name+sep+word in the hdr namespace, the word
// lower-cased (ASCII).
func hdrToken[N, W ~string | ~[]byte](t *Tokenizer, name N, sep string, w W) {
	m := append(t.mbuf[:0], name...)
	m = append(m, sep...)
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		m = append(m, c)
	}
	t.mbuf = m
	t.add(t.hashWord(nsHdr, m), 0, Header, t.explain(nsHdr, m))
}

// hdrWordByte: letters, digits, 8-bit bytes (UTF-8) and the punctuation
// that holds host names and addresses together.
func hdrWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80 ||
		c == '.' || c == '-' || c == '_' || c == '@' || c == '$' || c == '%' || c == '!' || c == '+'
}

func trimWord(w []byte) []byte {
	for len(w) > 0 && (w[0] == '.' || w[0] == '-' || w[0] == '_') {
		w = w[1:]
	}
	for len(w) > 0 && (w[len(w)-1] == '.' || w[len(w)-1] == '-' || w[len(w)-1] == '_') {
		w = w[:len(w)-1]
	}
	return w
}

// idLike reports words that are identifiers rather than words: 8 or more
// bytes of which 6 or more are digits (dates, serials, message ids;
// "iso-8859-1" stays a word).
func idLike(w []byte) bool {
	if len(w) < 8 {
		return false
	}
	d := 0
	for _, c := range w {
		if c >= '0' && c <= '9' {
			d++
		}
	}
	return d >= 6
}

// A hop is one parsed Received field.
type hop struct {
	ip         netip.Addr // the connecting client's address, if written
	rdns, helo string     // its reverse name and HELO, lower case, "" if absent
	by         string     // the receiving host, lower case
}

// parseReceived reads the common forms of a Received field:
//
//	from HELO (RDNS [IP]) by HOST ...                (Sendmail, Postfix)
//	from HELO ([IP]) by HOST ...
//	from RDNS (HELO=x) [IP] / from [IP] (helo=HELO)  (Exim)
//	from unknown (HELO helo) (IP) by HOST ...        (qmail)
//	(from user@localhost) by HOST ...                (local pickup)
func parseReceived(v string) hop {
	var h hop
	l := strings.ToLower(v)
	fromPart := ""
	if i := strings.Index(l, "from "); i >= 0 && i < 8 {
		fromPart = l[i+5:]
	}
	byPart := ""
	if i := strings.Index(l, " by "); i >= 0 {
		byPart = l[i+4:]
		if fromPart != "" {
			if j := strings.Index(fromPart, " by "); j >= 0 {
				fromPart = fromPart[:j]
			}
		}
	} else if j := strings.Index(l, "by "); j == 0 {
		byPart = l[3:]
	}
	h.by = firstHost(byPart)
	if fromPart == "" {
		return h
	}
	// The first word is the HELO (or the reverse name, in Exim's form).
	h.helo = firstHost(fromPart)
	// An IP: the first [a.b.c.d] or (a.b.c.d) in the from part.
	for i := 0; i < len(fromPart); i++ {
		c := fromPart[i]
		if c != '[' && c != '(' {
			continue
		}
		j := i + 1
		if strings.HasPrefix(fromPart[j:], "ipv6:") {
			j += 5
		}
		for j < len(fromPart) && (fromPart[j] >= '0' && fromPart[j] <= '9' || fromPart[j] == '.' || fromPart[j] == ':' || fromPart[j] >= 'a' && fromPart[j] <= 'f') {
			j++
		}
		closer := byte(']')
		if c == '(' {
			closer = ')'
		}
		if j >= len(fromPart) || fromPart[j] != closer || j-i < 3 {
			continue // not "[addr]" or "(addr)": skip without a failing parse
		}
		s := strings.TrimPrefix(fromPart[i+1:j], "ipv6:")
		if a, err := netip.ParseAddr(s); err == nil {
			h.ip = a.Unmap()
			// Sendmail/Postfix: "(rdns [ip])": the word before '['.
			if c == '[' {
				pre := strings.TrimRight(fromPart[:i], " \t")
				if k := strings.LastIndexAny(pre, "( \t"); k >= 0 && pre[k] == '(' {
					if r := pre[k+1:]; r != "unknown" && validHost(r) && !isIPv4([]byte(r)) {
						h.rdns = r
					}
				}
			}
			break
		}
	}
	if strings.HasPrefix(h.helo, "unknown") {
		h.helo = ""
	}
	if i := strings.Index(fromPart, "helo="); i >= 0 {
		h.helo = firstHost(fromPart[i+5:])
	} else if i := strings.Index(fromPart, "(helo "); i >= 0 {
		h.helo = firstHost(fromPart[i+6:])
	}
	return h
}

// firstHost returns the first word of s if it looks like a host name.
func firstHost(s string) string {
	s = strings.TrimLeft(s, " \t")
	end := strings.IndexAny(s, " \t;()[]<>")
	if end >= 0 {
		s = s[:end]
	}
	s = strings.TrimRight(s, ".")
	if !validHost(s) {
		return ""
	}
	return s
}

func validHost(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// relayTokens finds the first untrusted hop, the client that handed the
// message to the receiving site, and emits its address, /24 (/48 for
// IPv6), reverse name and its registered domain, and HELO:
// "H*relay-ip:192.0.2.7", "H*relay-net:192.0.2.0/24",
// "H*relay-rdns:mx.example.com" (or "none"), "H*relay-rdom:example.com",
// "H*relay-helo:mx.example.com". The next untrusted hop below it, the
// client that handed the message to that one, gives "H*relay2-ip",
// "H*relay2-net" and "H*relay2-rdom".
//
// The site's own hops are those whose client is trusted: a loopback,
// private or link-local address, an address in Options.TrustedNetworks,
// no address at all (local pickup), or a reverse name in one of the own
// names. Own names are Options.TrustedHosts plus, by default, the
// registered domain of the topmost Received field's "by" host (the host
// that received the message last, necessarily the site's own). Walking
// from the top, the first hop whose client is not trusted is the first
// untrusted hop; the hops above it, the site's own, give no token, like
// SpamAssassin's trusted/untrusted split.
func (t *Tokenizer) relayTokens(h *header) {
	var ownBuf [1]string
	own := ownBuf[:0]
	seen, emitted := 0, 0
	for _, f := range h.fields {
		if seen >= maxReceived || emitted == 2 {
			return
		}
		if !strings.EqualFold(string(h.key(f)), "Received") {
			continue
		}
		seen++
		hp := parseReceived(string(h.value(f)))
		if seen == 1 && hp.by != "" {
			if d := registered(hp.by); d != "" && d != "ip" {
				own = append(own, d)
			} else {
				own = append(own, hp.by)
			}
		}
		if t.trustedHop(hp, own) {
			continue
		}
		if emitted == 0 {
			t.emitRelay(hp)
		} else {
			t.emitRelay2(hp)
		}
		emitted++
	}
}

func (t *Tokenizer) trustedHop(hp hop, own []string) bool {
	if !hp.ip.IsValid() {
		return true
	}
	if hp.ip.IsLoopback() || hp.ip.IsPrivate() || hp.ip.IsLinkLocalUnicast() || hp.ip.IsUnspecified() {
		return true
	}
	for _, p := range t.opts.TrustedNetworks {
		if p.Contains(hp.ip) {
			return true
		}
	}
	return hp.rdns != "" && (below(hp.rdns, own) || below(hp.rdns, t.opts.TrustedHosts))
}

// below reports whether host is one of names or a subdomain of one.
func below(host string, names []string) bool {
	for _, n := range names {
		if n != "" && (host == n || len(host) > len(n) && strings.HasSuffix(host, n) && host[len(host)-len(n)-1] == '.') {
			return true
		}
	}
	return false
}

func (t *Tokenizer) emitRelay(hp hop) {
	var b [64]byte
	hdrToken(t, "relay-ip", ":", hp.ip.AppendTo(b[:0]))
	hdrToken(t, "relay-net", ":", relayNet(hp.ip).AppendTo(b[:0]))
	if hp.rdns != "" {
		hdrToken(t, "relay-rdns", ":", hp.rdns)
		if d := registered(hp.rdns); d != "" {
			hdrToken(t, "relay-rdom", ":", d)
		}
	} else {
		hdrToken(t, "relay-rdns", ":", "none")
	}
	if hp.helo != "" {
		hdrToken(t, "relay-helo", ":", hp.helo)
	}
}

// emitRelay2 emits the second untrusted hop: address, network and the
// registered domain of its reverse name.
func (t *Tokenizer) emitRelay2(hp hop) {
	var b [64]byte
	hdrToken(t, "relay2-ip", ":", hp.ip.AppendTo(b[:0]))
	hdrToken(t, "relay2-net", ":", relayNet(hp.ip).AppendTo(b[:0]))
	if hp.rdns != "" {
		if d := registered(hp.rdns); d != "" {
			hdrToken(t, "relay2-rdom", ":", d)
		}
	}
}

// relayNet is the network of a relay address: its /24, or /48 for IPv6.
func relayNet(ip netip.Addr) netip.Prefix {
	bits := 24
	if !ip.Is4() {
		bits = 48
	}
	p, _ := ip.Prefix(bits)
	return p
}
