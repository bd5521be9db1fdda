package tokenizer

import (
	"bytes"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlText reduces HTML to the text a reader sees, appended to dst:
// text outside script, style, template and similar, with image alt texts
// in place. Block-level tags separate words; inline tags (b, span, font, a,
// ...) do not, so "fr<b>ee</b>" reads "free" as it renders. Link targets
// (a/area href, img src, form action) are passed to t.href. Comments are
// dropped. Tag and attribute lookups allocate nothing.
func (t *Tokenizer) htmlText(dst, src []byte) []byte {
	t.htmlR.Reset(src)
	z := html.NewTokenizer(&t.htmlR)
	z.SetMaxBuf(len(src) + 1)
	skip := 0
	for n := 0; ; n++ {
		if n&255 == 255 && t.timeUp() {
			return dst
		}
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return dst
		case html.TextToken:
			if skip == 0 {
				dst = append(dst, z.Text()...)
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, hasAttr := z.TagName()
			a := atom.Lookup(name)
			switch a {
			case atom.Script, atom.Style, atom.Template, atom.Noembed, atom.Noframes, atom.Xmp, atom.Iframe, atom.Object, atom.Svg, atom.Math:
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
				continue
			}
			if tt == html.EndTagToken {
				if !inline(a) {
					dst = append(dst, '\n')
				}
				continue
			}
			if !inline(a) {
				dst = append(dst, '\n')
			}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				switch {
				case (a == atom.A || a == atom.Area || a == atom.Link) && bytes.Equal(k, []byte("href")),
					a == atom.Img && bytes.Equal(k, []byte("src")),
					a == atom.Form && bytes.Equal(k, []byte("action")):
					t.href(v)
				case a == atom.Img && bytes.Equal(k, []byte("alt")) && skip == 0:
					dst = append(dst, ' ')
					dst = append(dst, v...)
					dst = append(dst, ' ')
				}
			}
		}
	}
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
