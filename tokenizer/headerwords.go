package tokenizer

import (
	"bytes"
	"strings"
)

// Bounds of the header word and relay tokens.
const (
	maxHdrFields     = 64   // header fields read for words
	maxHdrValue      = 1024 // bytes of one field value read for words
	maxHdrFieldWords = 24   // words of one field
	maxHdrWordBytes  = 40   // longer words give no token
	maxHdrTokens     = 512  // header word tokens per message
)

// hdrWordFields are the fields whose values give H*name:word tokens, as
// SpamAssassin's Bayes and spamprobe read headers. Subject and the From
// display name have their own streams; Date, Received and the other
// per-delivery fields give none.
var hdrWordFields = map[string]bool{
	"from": true, "to": true, "cc": true, "reply-to": true, "sender": true,
	"list-id": true, "list-unsubscribe": true, "list-post": true, "list-help": true,
	"list-subscribe": true, "list-archive": true, "list-owner": true, "mailing-list": true,
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
