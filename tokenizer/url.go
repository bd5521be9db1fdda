package tokenizer

import (
	"bytes"
	"encoding/binary"
	"slices"

	"golang.org/x/net/publicsuffix"
)

// maxURLTokens bounds the distinct links that give URL tokens per message.
const maxURLTokens = 256

// maxURLBytes bounds the length of a link found in text.
const maxURLBytes = 2048

// urlAt returns the end of a link that starts with the segment seg at
// text[start:end] ("http://...", "https://...", "ftp://...", "www.x.y"),
// or 0.
func urlAt(text []byte, start, end int, seg []byte) int {
	from := 0
	switch {
	case end+3 <= len(text) && text[end] == ':' && text[end+1] == '/' && text[end+2] == '/' && isScheme(seg):
		from = end + 3
	case len(seg) > 4 && (seg[0]|0x20) == 'w' && (seg[1]|0x20) == 'w' && (seg[2]|0x20) == 'w' && seg[3] == '.':
		from = start + 4
	default:
		return 0
	}
	i := from
	for i < len(text) && i-start < maxURLBytes {
		c := text[i]
		if c <= ' ' || c >= 0x7f || c == '<' || c == '>' || c == '"' || c == '\'' || c == '`' {
			break
		}
		i++
	}
	for i > from && bytes.IndexByte([]byte(".,;:!?)]}*"), text[i-1]) >= 0 {
		i--
	}
	if i == from {
		return 0
	}
	return i
}

func isScheme(seg []byte) bool {
	switch len(seg) {
	case 3:
		return (seg[0]|0x20) == 'f' && (seg[1]|0x20) == 't' && (seg[2]|0x20) == 'p'
	case 4, 5:
		if (seg[0]|0x20) != 'h' || (seg[1]|0x20) != 't' || (seg[2]|0x20) != 't' || (seg[3]|0x20) != 'p' {
			return false
		}
		return len(seg) == 4 || (seg[4]|0x20) == 's'
	}
	return false
}

// emailAt returns the end of an address whose local part ends at end
// ("local@domain.tld"), or 0.
func emailAt(text []byte, end int) int {
	if end+1 >= len(text) || text[end] != '@' {
		return 0
	}
	i, dots := end+1, 0
	for i < len(text) && i-end < 256 {
		c := text[i]
		if isAlnum(c) || c == '-' {
			i++
			continue
		}
		if c == '.' {
			dots++
			i++
			continue
		}
		break
	}
	for i > end+1 && (text[i-1] == '.' || text[i-1] == '-') {
		i--
		if text[i] == '.' {
			dots--
		}
	}
	if dots == 0 || i-end < 4 {
		return 0
	}
	return i
}

// parseURL returns the lower-cased host of a link and its registered domain
// (eTLD+1 by the public suffix list; the host itself for IP addresses and
// hosts the list does not know). Only http, https, ftp, protocol-relative
// and www. links count.
func (t *Tokenizer) parseURL(u []byte) (host, dom []byte, ok bool) {
	u = bytes.TrimSpace(u)
	if i := bytes.Index(u, []byte("://")); i >= 0 {
		if !isScheme(u[:i]) {
			return nil, nil, false
		}
		u = u[i+3:]
	} else if len(u) > 2 && u[0] == '/' && u[1] == '/' {
		u = u[2:]
	} else if !(len(u) > 4 && (u[0]|0x20) == 'w' && (u[1]|0x20) == 'w' && (u[2]|0x20) == 'w' && u[3] == '.') {
		return nil, nil, false
	}
	// QUIRK: backslashes end the host as browsers treat them like '/'.
	if i := bytes.IndexAny(u, "/?#\\"); i >= 0 {
		u = u[:i]
	}
	if i := bytes.LastIndexByte(u, '@'); i >= 0 {
		u = u[i+1:] // userinfo, a classic disguise
	}
	if len(u) > 0 && u[0] == '[' {
		if i := bytes.IndexByte(u, ']'); i > 0 {
			u = u[1:i]
		}
	} else if i := bytes.LastIndexByte(u, ':'); i >= 0 {
		u = u[:i]
	}
	u = bytes.Trim(u, ".")
	if len(u) == 0 || len(u) > 253 {
		return nil, nil, false
	}
	h := t.ubuf[:0]
	for _, c := range u {
		if c-'A' < 26 {
			c += 'a' - 'A'
		}
		if c <= ' ' || c == '%' || c == '"' || c == '<' || c == '>' {
			return nil, nil, false
		}
		h = append(h, c)
	}
	t.ubuf = h
	if isIPv4(h) || bytes.IndexByte(h, '.') < 0 || bytes.IndexByte(h, ':') >= 0 {
		return h, h, true
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(string(h))
	if err != nil {
		return h, h, true
	}
	t.dbuf = append(t.dbuf[:0], d...)
	return h, t.dbuf, true
}

// urlTokens emits url:<host> and url:<registered domain>.
func (t *Tokenizer) urlTokens(host, dom []byte) {
	t.feat.URLs++
	if isIPv4(host) || bytes.IndexByte(host, ':') >= 0 {
		t.feat.IPURLs++
	} else if _, ok := shorteners[string(dom)]; ok {
		t.feat.ShortURLs++
	}
	hd := t.hashWord(nsURL, dom)
	if len(t.domains) < maxURLTokens && !slices.Contains(t.domains, hd) {
		t.domains = append(t.domains, hd)
	}
	if t.urlTok >= maxURLTokens {
		return
	}
	t.urlTok++
	hh := t.hashWord(nsURL, host)
	t.dig = binary.LittleEndian.AppendUint64(t.dig, hh)
	t.add(hh, 0, URL, t.explain(nsURL, host))
	if !bytes.Equal(host, dom) {
		t.add(hd, 0, URL, t.explain(nsURL, dom))
	}
}

// href handles a link target from HTML.
func (t *Tokenizer) href(v []byte) {
	if host, dom, ok := t.parseURL(v); ok {
		t.urlTokens(host, dom)
	}
}

// shorteners are registered domains of well-known URL shorteners, whose
// links hide their target (Features.ShortURLs).
var shorteners = map[string]struct{}{
	"bit.ly": {}, "bitly.com": {}, "tinyurl.com": {}, "t.co": {}, "goo.gl": {}, "ow.ly": {},
	"is.gd": {}, "buff.ly": {}, "cutt.ly": {}, "rebrand.ly": {}, "shorturl.at": {}, "tiny.cc": {},
	"rb.gy": {}, "bl.ink": {}, "t.ly": {}, "v.gd": {}, "s.id": {}, "lnkd.in": {}, "qrco.de": {},
	"shorte.st": {}, "adf.ly": {}, "x.co": {}, "soo.gd": {}, "clck.ru": {}, "u.to": {},
}
