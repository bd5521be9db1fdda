package tokenizer

// The MIME walk: entities, multiparts, attached messages, text parts.

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"path"
	"strings"

	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"
)

// captureReader keeps the first captureMax bytes read through it.
type captureReader struct {
	r   io.Reader
	buf []byte
}

func (c *captureReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if room := captureMax - len(c.buf); room > 0 && n > 0 {
		c.buf = append(c.buf, p[:min(n, room)]...)
	}
	return n, err
}

// walk tokenizes one MIME entity and, for multiparts and attached
// messages, its children.
func (t *Tokenizer) walk(h headerGetter, body io.Reader, depth int, parent, deflt string) {
	if t.stop || t.timeUp() {
		return
	}
	if t.feat.Parts >= t.opts.MaxParts {
		t.halt("max parts")
		return
	}
	t.feat.Parts++
	t.feat.Depth = max(t.feat.Depth, depth)
	mt, params := parseContentType(h.Get("Content-Type"), deflt)
	t.meta("ct", mt)
	if depth > 0 {
		t.meta("nest", parent+">"+mt)
	}
	t.treeAdd(mt)
	cte := strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding")))
	disp, dparams := parseContentType(h.Get("Content-Disposition"), "")
	fname := dparams["filename"]
	if fname == "" {
		fname = params["name"]
	}
	switch {
	case strings.HasPrefix(mt, "multipart/"):
		t.multipart(body, params["boundary"], mt, depth)
	case mt == "message/rfc822" || mt == "message/global" || mt == "message/news":
		t.message(body, cte, depth)
	case isText(mt):
		if fname != "" || disp == "attachment" {
			t.feat.Attachments++
			t.ext(fname)
		}
		t.textPart(body, cte, params["charset"], mt == "text/html")
	default:
		t.attachment(body, mt, fname)
	}
}

// isText reports types whose text is tokenized.
func isText(mt string) bool {
	if !strings.HasPrefix(mt, "text/") {
		return false
	}
	switch mt {
	case "text/rtf", "text/calendar", "text/x-vcard", "text/vcard", "text/directory", "text/csv", "text/x-vcalendar":
		return false
	}
	return true
}

func (t *Tokenizer) multipart(body io.Reader, boundary, mt string, depth int) {
	if depth >= t.opts.MaxDepth {
		t.halt("max depth")
		return
	}
	if boundary == "" {
		// QUIRK: a multipart without boundary cannot be split (RFC 2046
		// §5.1.1 requires one); its body is read as plain text.
		t.problem("multipart without boundary")
		t.meta("bad", "mime")
		t.textPart(body, "", "", false)
		return
	}
	c := &t.capt[depth]
	c.r, c.buf = body, c.buf[:0]
	mr := textproto.NewMultipartReader(c, boundary)
	deflt := "text/plain"
	if mt == "multipart/digest" {
		deflt = "message/rfc822"
	}
	t.treeMark('(')
	n := 0
	for !t.stop {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.problem("multipart: " + strings.TrimPrefix(shortErr(err), "multipart: "))
			t.meta("bad", "mime")
			break
		}
		if n > 0 {
			t.treeMark(',')
		}
		n++
		t.walk(&p.Header, p, depth+1, mt, deflt)
	}
	t.treeMark(')')
	if n == 0 && !t.stop {
		// QUIRK: the boundary never appeared (wrong or missing delimiter
		// lines); the start of the body is read as plain text.
		// If it looks like HTML, it is read as HTML.
		t.problem("multipart: no part found")
		txt := t.toUTF8(c.buf, "")
		if looksHTML(txt) {
			t.feat.HTMLParts++
			t.html = true
			t.vis = t.htmlText(t.vis[:0], txt)
			txt = t.vis
		} else {
			t.feat.TextParts++
			t.plain = true
		}
		txt = stripInvisible(txt)
		s := t.newStream(nsBody, Body)
		t.tokenizeText(&s, txt)
	}
	c.r = nil
}

// looksHTML reports text with HTML markup.
func looksHTML(b []byte) bool {
	for _, tag := range [...]string{"<html", "<body", "<br", "<p>", "<div", "<table", "<font"} {
		if bytes.Contains(b, []byte(tag)) || bytes.Contains(b, []byte(strings.ToUpper(tag))) {
			return true
		}
	}
	return false
}

// message walks an attached message (message/rfc822).
func (t *Tokenizer) message(body io.Reader, cte string, depth int) {
	if depth >= t.opts.MaxDepth {
		t.halt("max depth")
		return
	}
	t.feat.Messages++
	r := body
	switch cte {
	case "base64", "quoted-printable":
		// QUIRK: RFC 2046 §5.2.1 forbids encoding message/rfc822, but
		// mailers do it; decode it in memory (bounded by MaxBytes).
		raw, _, _ := readCapped(nil, body, int(min(t.opts.MaxBytes, 1<<30)))
		var dec []byte
		if cte == "base64" {
			dec, _ = decodeBase64(nil, raw)
		} else {
			dec = decodeQP(nil, raw)
		}
		r = bytes.NewReader(dec)
	}
	br := t.brs[depth]
	if br == nil {
		br = bufio.NewReaderSize(r, 4096)
		t.brs[depth] = br
	} else {
		br.Reset(r)
	}
	defer br.Reset(nil)
	h := &t.hdrs[depth]
	rest, eof, _ := t.readHeader(br, h)
	if len(h.fields) == 0 {
		t.problem("attached message without header")
	}
	if s := h.Get("Subject"); s != "" {
		st := t.newStream(nsBody, Body)
		t.tokenizeText(&st, t.headerText(s))
	}
	var b io.Reader = br
	if rest != nil {
		b = io.MultiReader(bytes.NewReader(rest), br)
	} else if eof {
		b = bytes.NewReader(nil)
	}
	t.treeMark('(')
	t.walk(h, b, depth+1, "message/rfc822", "text/plain")
	t.treeMark(')')
}

// textPart decodes and tokenizes one text part.
func (t *Tokenizer) textPart(body io.Reader, cte, cs string, isHTML bool) {
	raw, more, err := readCapped(t.raw[:0], body, t.opts.MaxTextBytes)
	t.raw = raw
	if err != nil {
		// QUIRK: a part cut short (no closing delimiter, RFC 2046 §5.1.1;
		// truncated input) keeps the text read so far.
		t.problem("text part: " + shortErr(err))
	}
	if more {
		t.truncate("max text bytes")
	}
	var dec []byte
	switch cte {
	case "base64":
		var bad int
		dec, bad = decodeBase64(t.dec[:0], raw)
		t.dec = dec
		if bad > 0 {
			t.problem("bad base64")
			t.meta("bad", "base64")
		}
	case "quoted-printable":
		dec = decodeQP(t.dec[:0], raw)
		t.dec = dec
	case "", "7bit", "8bit", "binary":
		dec = raw
	default:
		// QUIRK: unknown transfer encodings (x-uuencode, typos) are read
		// as 8bit.
		t.problem("unknown transfer encoding " + quoteShort(cte))
		dec = raw
	}
	if cte != "" && cte != "7bit" && cte != "8bit" {
		t.meta("cte", safeValue(cte))
	}
	cs = normCharset(cs)
	switch {
	case cs == "":
		t.meta("cs", "none")
	case t.knownCharset(cs):
		t.meta("cs", cs)
	default:
		t.meta("cs", "unknown")
	}
	t.meta("tsize", log2Bucket(int64(len(dec))))
	txt := t.toUTF8(dec, cs)
	if isHTML {
		t.feat.HTMLParts++
		t.html = true
		t.vis = t.htmlText(t.vis[:0], txt)
		txt = t.vis
	} else {
		t.feat.TextParts++
		t.plain = true
	}
	txt = stripInvisible(txt)
	s := t.newStream(nsBody, Body)
	t.tokenizeText(&s, txt)
}

// knownCharset reports whether go-message/charset can decode cs; answers
// are cached per Tokenizer (a pure function of the label).
func (t *Tokenizer) knownCharset(cs string) bool {
	switch cs {
	case "utf-8", "us-ascii", "iso-8859-1":
		return true
	}
	if ok, found := t.csKnown[cs]; found {
		return ok
	}
	_, err := charset.Reader(cs, bytes.NewReader(nil))
	if len(t.csKnown) >= 256 {
		clear(t.csKnown)
	}
	if t.csKnown == nil {
		t.csKnown = make(map[string]bool)
	}
	t.csKnown[cs] = err == nil && len(cs) <= 40 && safeValue(cs) == cs
	return t.csKnown[cs]
}

// attachment reads past a part that is not tokenized.
func (t *Tokenizer) attachment(body io.Reader, mt, fname string) {
	n, _ := io.Copy(io.Discard, body)
	t.feat.Attachments++
	major, _, _ := strings.Cut(mt, "/")
	t.meta("psize", major+":"+log2Bucket(n))
	t.ext(fname)
}

// ext emits the extension of an attachment's file name.
func (t *Tokenizer) ext(fname string) {
	if fname == "" {
		return
	}
	if strings.Contains(fname, "=?") {
		if d, err := wordDecoder.DecodeHeader(fname); err == nil {
			fname = d
		}
	}
	fname = strings.ToLower(strings.TrimSpace(fname))
	e := strings.TrimPrefix(path.Ext(fname), ".")
	if _, ok := execExts[e]; ok {
		t.feat.ExecFiles++
		if _, ok := docExts[strings.TrimPrefix(path.Ext(strings.TrimSuffix(fname, "."+e)), ".")]; ok {
			t.feat.DoubleExts++
		}
	}
	switch {
	case e == "":
		e = "none"
	case len(e) > 8 || !isAlnumString(e):
		e = "bad"
	}
	t.meta("ext", e)
}

// execExts are file extensions that run code when opened on Windows, the
// usual malware carriers (Features.ExecFiles).
var execExts = map[string]struct{}{
	"exe": {}, "scr": {}, "com": {}, "pif": {}, "bat": {}, "cmd": {}, "vbs": {}, "vbe": {}, "js": {},
	"jse": {}, "wsf": {}, "wsh": {}, "hta": {}, "msi": {}, "jar": {}, "ps1": {}, "lnk": {}, "cpl": {},
	"reg": {}, "dll": {}, "iso": {}, "img": {}, "vhd": {}, "chm": {},
}

// docExts are extensions that a double-extension name pretends to have.
var docExts = map[string]struct{}{
	"pdf": {}, "doc": {}, "docx": {}, "xls": {}, "xlsx": {}, "ppt": {}, "txt": {}, "jpg": {},
	"jpeg": {}, "png": {}, "gif": {}, "zip": {}, "rtf": {}, "htm": {}, "html": {}, "mp3": {}, "csv": {},
}

func isAlnumString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return true
}

var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// headerText decodes a header field value to clean UTF-8 (RFC 2047 encoded
// words; QUIRK: raw 8-bit bytes are read in the message's charset, else as
// UTF-8 or Windows-1252).
func (t *Tokenizer) headerText(v string) []byte {
	if strings.Contains(v, "=?") {
		if d, err := wordDecoder.DecodeHeader(v); err == nil {
			v = d
		} else {
			t.problem("header: " + shortErr(err))
		}
	}
	t.hbuf = append(t.hbuf[:0], v...)
	b := t.hbuf
	if !isASCII(b) {
		b = t.toUTF8(b, t.hint)
		t.hbuf = append(t.hbuf[:0], b...)
		b = t.hbuf
	}
	return stripInvisible(b)
}

// parseContentType parses a Content-Type (or Content-Disposition) value,
// returning the lower-cased type and its parameters.
//
// QUIRK: invalid parameters do not lose the type, and boundary, charset,
// name and filename are recovered by a lenient scan; a type without
// subtype "text" means text/plain; other junk means the default.
func parseContentType(v, deflt string) (string, map[string]string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return deflt, nil
	}
	mt, params, err := mime.ParseMediaType(v)
	if err != nil {
		mt, _, _ = strings.Cut(v, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
		params = lenientParams(v)
	}
	if deflt == "" { // disposition: no slash
		return mt, params
	}
	if !strings.Contains(mt, "/") || len(mt) > 64 || !validType(mt) {
		if mt == "text" {
			return "text/plain", params
		}
		return deflt, params
	}
	return mt, params
}

func validType(mt string) bool {
	for i := 0; i < len(mt); i++ {
		c := mt[i]
		if !isAlnum(c) && c != '/' && c != '-' && c != '.' && c != '+' && c != '_' {
			return false
		}
	}
	return true
}

// lenientParams finds a few parameters in a header value that
// mime.ParseMediaType rejected.
func lenientParams(v string) map[string]string {
	m := map[string]string{}
	lv := asciiLower(v) // same length as v: indexes are shared
	for _, k := range [...]string{"boundary", "charset", "name", "filename"} {
		i := 0
		for {
			j := strings.Index(lv[i:], k)
			if j < 0 {
				break
			}
			j += i
			i = j + len(k)
			if j > 0 && (isAlnum(lv[j-1]) || lv[j-1] == '-') {
				continue
			}
			rest := strings.TrimLeft(v[i:], " \t")
			if !strings.HasPrefix(rest, "=") {
				continue
			}
			rest = strings.TrimLeft(rest[1:], " \t")
			var val string
			if strings.HasPrefix(rest, "\"") {
				val, _, _ = strings.Cut(rest[1:], "\"")
			} else {
				end := strings.IndexAny(rest, "; \t\r\n")
				if end < 0 {
					end = len(rest)
				}
				val = rest[:end]
			}
			if val != "" {
				m[k] = val
			}
			break
		}
	}
	return m
}

// asciiLower lower-cases ASCII letters only, keeping byte offsets.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c-'A' < 26 {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
