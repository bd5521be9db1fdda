package tokenizer

import (
	"bytes"
	stdhtml "html"
	"unicode/utf8"

	"golang.org/x/net/html/atom"
)

// htmlText reduces HTML to the text a reader sees, appended to dst: text
// outside script, style and similar elements, with entities decoded and
// image alt texts in place. Block-level tags separate words; inline tags
// (b, span, font, a, unknown ones) do not, so "fr<b>ee</b>" reads "free" as
// it renders. Link targets (a/area/link href, img src, form action) go to
// t.href. Comments, doctypes and processing instructions are dropped.
//
// It is a small scanner rather than golang.org/x/net/html's tokenizer,
// which allocates for every tag and attribute; it follows the HTML5
// tokenizer where it matters for text (raw-text elements, comments,
// attribute quoting, character references) and tolerates anything.
func (t *Tokenizer) htmlText(dst, src []byte) []byte {
	for i, n := 0, 0; i < len(src); n++ {
		if n&1023 == 1023 && t.timeUp() {
			return dst
		}
		j := bytes.IndexByte(src[i:], '<')
		if j < 0 {
			return appendUnescaped(dst, src[i:])
		}
		dst = appendUnescaped(dst, src[i:i+j])
		i += j
		rest := src[i:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			// QUIRK: an unclosed comment runs to the end, as in browsers.
			k := bytes.Index(rest[4:], []byte("-->"))
			if k < 0 {
				return dst
			}
			i += 4 + k + 3
		case len(rest) > 1 && (rest[1] == '!' || rest[1] == '?'):
			i += skipTag(rest)
		case len(rest) > 2 && rest[1] == '/' && isLetter(rest[2]):
			name, _ := tagName(rest[2:])
			if !inline(atom.Lookup(lowerTag(&t.tag, name))) {
				dst = append(dst, '\n')
			}
			i += skipTag(rest)
		case len(rest) > 1 && isLetter(rest[1]):
			var a atom.Atom
			var end int
			dst, a, end = t.htmlTag(dst, rest)
			i += end
			if rawText(a) {
				i += skipRaw(src[i:], a.String())
			}
		default:
			dst = append(dst, '<')
			i++
		}
	}
	return dst
}

// htmlTag handles a start tag at the start of s: it returns how many bytes
// it spans and its atom.
func (t *Tokenizer) htmlTag(dst, s []byte) ([]byte, atom.Atom, int) {
	name, i := tagName(s[1:])
	i++
	a := atom.Lookup(lowerTag(&t.tag, name))
	if !inline(a) {
		dst = append(dst, '\n')
	}
	for i < len(s) {
		for i < len(s) && (isSpace(s[i]) || s[i] == '/') {
			i++
		}
		if i >= len(s) {
			break
		}
		if s[i] == '>' {
			return dst, a, i + 1
		}
		k := i
		for i < len(s) && !isSpace(s[i]) && s[i] != '=' && s[i] != '>' && s[i] != '/' {
			i++
		}
		if i == k { // QUIRK: stray '=' etc.
			i++
			continue
		}
		key := s[k:i]
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		var val []byte
		if i < len(s) && s[i] == '=' {
			i++
			for i < len(s) && isSpace(s[i]) {
				i++
			}
			if i < len(s) && (s[i] == '"' || s[i] == '\'') {
				q := s[i]
				e := bytes.IndexByte(s[i+1:], q)
				if e < 0 { // QUIRK: unclosed quote runs to the end
					e = len(s) - i - 1
				}
				val = s[i+1 : i+1+e]
				i += e + 2
			} else {
				v := i
				for i < len(s) && !isSpace(s[i]) && s[i] != '>' {
					i++
				}
				val = s[v:i]
			}
		}
		switch {
		case (a == atom.A || a == atom.Area || a == atom.Link) && equalFold(key, "href"),
			a == atom.Img && equalFold(key, "src"),
			a == atom.Form && equalFold(key, "action"):
			t.attr = appendUnescaped(t.attr[:0], val)
			t.href(t.attr)
		case a == atom.Img && equalFold(key, "alt"):
			dst = append(dst, ' ')
			dst = appendUnescaped(dst, val)
			dst = append(dst, ' ')
		}
	}
	return dst, a, len(s)
}

func isLetter(c byte) bool { return (c|0x20)-'a' < 26 }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// tagName returns the tag name at the start of s and its length.
func tagName(s []byte) ([]byte, int) {
	i := 0
	for i < len(s) && !isSpace(s[i]) && s[i] != '>' && s[i] != '/' {
		i++
	}
	return s[:i], i
}

func lowerTag(buf *[]byte, name []byte) []byte {
	if len(name) > 16 {
		return nil
	}
	b := (*buf)[:0]
	for _, c := range name {
		if c-'A' < 26 {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	*buf = b
	return b
}

func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if c-'A' < 26 {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// skipTag returns the length of the tag at the start of s, up to '>'.
func skipTag(s []byte) int {
	if k := bytes.IndexByte(s, '>'); k >= 0 {
		return k + 1
	}
	return len(s)
}

// rawText reports elements whose content is not shown: skipped up to their
// end tag.
func rawText(a atom.Atom) bool {
	switch a {
	case atom.Script, atom.Style, atom.Template, atom.Noembed, atom.Noframes, atom.Xmp, atom.Iframe,
		atom.Object, atom.Svg, atom.Math:
		return true
	}
	return false
}

// skipRaw returns the length of s up to and including "</name...>".
func skipRaw(s []byte, name string) int {
	for i := 0; i < len(s); {
		j := bytes.Index(s[i:], []byte("</"))
		if j < 0 {
			return len(s)
		}
		i += j + 2
		if len(s)-i >= len(name) && equalFold(s[i:i+len(name)], name) {
			return i + skipTag(s[i:])
		}
	}
	return len(s)
}

// inline reports elements that do not break words. Unknown elements are
// inline too: spammers invent tags to split words.
func inline(a atom.Atom) bool {
	switch a {
	case atom.A, atom.Abbr, atom.B, atom.Bdi, atom.Bdo, atom.Big, atom.Cite, atom.Code, atom.Data, atom.Dfn,
		atom.Em, atom.Font, atom.I, atom.Kbd, atom.Mark, atom.Q, atom.S, atom.Samp, atom.Small, atom.Span,
		atom.Strike, atom.Strong, atom.Sub, atom.Sup, atom.Time, atom.Tt, atom.U, atom.Var, atom.Wbr, atom.Label,
		atom.Nobr, atom.Blink, atom.Marquee, atom.Acronym, atom.Ins, atom.Del, 0:
		return true
	}
	return false
}

// charRef decodes the number of "&#65;" or "&#x41;" (without '&#'), or
// returns -1.
func charRef(n []byte) rune {
	base := rune(10)
	if len(n) > 0 && (n[0]|0x20) == 'x' {
		base, n = 16, n[1:]
	}
	if len(n) == 0 || len(n) > 8 {
		return -1
	}
	var r rune
	for _, c := range n {
		d, ok := unhex(c)
		if !ok || rune(d) >= base {
			return -1
		}
		r = r*base + rune(d)
	}
	return r
}

// appendUnescaped appends s with HTML character references decoded.
// QUIRK: references without ';' and unknown names are kept as written.
func appendUnescaped(dst, s []byte) []byte {
	for {
		i := bytes.IndexByte(s, '&')
		if i < 0 {
			return append(dst, s...)
		}
		dst = append(dst, s[:i]...)
		s = s[i:]
		end := 1
		for end < len(s) && end < 33 && (isAlnum(s[end]) || s[end] == '#') {
			end++
		}
		if end == 1 || end >= len(s) || s[end] != ';' {
			dst = append(dst, '&')
			s = s[1:]
			continue
		}
		ref := s[1:end]
		s = s[end+1:]
		if ref[0] == '#' {
			r := charRef(ref[1:])
			if !utf8.ValidRune(r) || r == 0 {
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		}
		switch string(ref) {
		case "nbsp":
			dst = append(dst, ' ')
		case "amp":
			dst = append(dst, '&')
		case "lt":
			dst = append(dst, '<')
		case "gt":
			dst = append(dst, '>')
		case "quot":
			dst = append(dst, '"')
		case "apos":
			dst = append(dst, '\'')
		default:
			e := "&" + string(ref) + ";"
			dst = append(dst, stdhtml.UnescapeString(e)...)
		}
	}
}
