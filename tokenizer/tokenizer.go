package tokenizer

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"mime"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/clipperhouse/uax29/v2/words"
	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"
)

// maxProblems bounds Result.Problems.
const maxProblems = 32

// captureMax is how much of a multipart body is kept in case no boundary is
// ever found, so that its text can still be read.
const captureMax = 64 << 10

// maxTree bounds the #tree metatoken.
const maxTree = 96

// A Tokenizer turns messages into tokens. It keeps its buffers between
// calls, so it is cheap to reuse and cheap to create (one per goroutine).
// A Tokenizer must not be used by more than one goroutine at a time.
type Tokenizer struct {
	opts   Options
	params Params
	seeds  [numNS]uint64

	// per message
	start       time.Time
	lim         limitReader
	br          *bufio.Reader
	top         header
	set         tokenSet
	toks        []Token
	texts       []string
	feat        Features
	problems    []string
	truncated   string // reason, "" when not truncated
	stop        bool   // a hard limit was hit: stop reading
	words       int
	caps        [2]int // upper, letters
	nonASCII    int
	wordBytes   int
	domains     []uint64
	urlTok      int
	tree        []byte
	treeFull    bool
	plain, html bool
	hint        string // top-level charset, for 8-bit header fields

	// reused buffers
	iter                         *words.Iterator[[]byte]
	wbuf, nbuf, ubuf, dbuf, mbuf []byte
	line, rest, hbuf             []byte
	raw, dec, fix, vis, dig      []byte
	cvt                          bytes.Buffer
	tag, attr                    []byte
	hdrs                         []header
	brs                          []*bufio.Reader
	capt                         []captureReader
	csKnown                      map[string]bool
}

// New returns a Tokenizer. Options are resolved with their defaults; a
// window outside 1..8 is clamped (see Options.Validate).
func New(opts Options) *Tokenizer {
	o := opts.withDefaults()
	t := &Tokenizer{
		opts:   o,
		params: Params{Hash: HashName, Seed: Seed, Window: o.Window, Version: Version},
		iter:   words.FromBytes(nil),
		br:     bufio.NewReaderSize(nil, 32<<10),
		hdrs:   make([]header, o.MaxDepth+1),
		brs:    make([]*bufio.Reader, o.MaxDepth+1),
		capt:   make([]captureReader, o.MaxDepth+1),
	}
	t.seeds[nsBody] = Seed
	for ns := nsBody + 1; ns < numNS; ns++ {
		t.seeds[ns] = xxh64([]byte(nsNames[ns]), Seed)
	}
	return t
}

// Params returns the parameters that determine the token hashes.
func (t *Tokenizer) Params() Params { return t.params }

// Options returns the resolved options.
func (t *Tokenizer) Options() Options { return t.opts }

// Tokenize reads one message from r and returns its tokens. Malformed mail
// yields a result, with Problems; limits yield a result with Truncated. The
// error is ErrNotMessage when the input has no header field, or a wrapped
// read error when r fails. Tokenize reads at most Options.MaxBytes (plus
// one byte to tell whether there was more) and stops early when it can;
// the time budget is checked between reads, so a reader that blocks is not
// interrupted: give network readers a deadline.
func (t *Tokenizer) Tokenize(r io.Reader) (*Result, error) {
	if r == nil {
		return nil, errors.New("tokenizer: nil reader")
	}
	t.reset()
	t.lim = limitReader{t: t, r: r, n: t.opts.MaxBytes}
	t.br.Reset(&t.lim)
	defer t.br.Reset(nil) // do not keep the caller's reader

	rest, eof, err := t.readHeader(t.br, &t.top)
	if err == nil {
		err = t.lim.err
	}
	if err != nil {
		return nil, fmt.Errorf("tokenizer: read message: %w", err)
	}
	if len(t.top.fields) == 0 {
		return nil, ErrNotMessage
	}
	t.lim.timed = true
	_, params := parseContentType(t.top.Get("Content-Type"), "text/plain")
	t.hint = normCharset(params["charset"])
	t.headerTokens(&t.top)

	var body io.Reader = t.br
	if rest != nil {
		body = io.MultiReader(bytes.NewReader(rest), t.br)
	} else if eof {
		body = bytes.NewReader(nil)
	}
	t.walk(&t.top, body, 0, "", "text/plain")
	if t.lim.err != nil {
		return nil, fmt.Errorf("tokenizer: read message: %w", t.lim.err)
	}
	return t.finish(), nil
}

func (t *Tokenizer) reset() {
	t.start = time.Now()
	t.set.reset()
	if cap(t.dig) > 1<<20 {
		t.dig = nil
	}
	t.dig = append(t.dig[:0], make([]byte, 24)...) // Params, filled in by finish
	t.toks = t.toks[:0]
	clear(t.texts)
	t.texts = t.texts[:0]
	t.feat = Features{}
	t.problems = nil
	t.truncated = ""
	t.stop = false
	t.words = 0
	t.caps = [2]int{}
	t.nonASCII, t.wordBytes = 0, 0
	t.domains = t.domains[:0]
	t.urlTok = 0
	t.tree = t.tree[:0]
	t.treeFull = false
	t.plain, t.html = false, false
	t.hint = ""
	// Give back buffers that a huge message grew.
	for _, b := range []*[]byte{&t.raw, &t.dec, &t.fix, &t.vis} {
		if cap(*b) > 4<<20 {
			*b = nil
		}
	}
	if t.cvt.Cap() > 4<<20 {
		t.cvt = bytes.Buffer{}
	}
	if cap(t.toks) > 1<<18 {
		t.toks, t.texts = nil, nil
	}
}

// truncate records that a limit cut the output.
func (t *Tokenizer) truncate(reason string) {
	if t.truncated == "" {
		t.truncated = reason
	}
}

// halt records a hard limit: reading stops.
func (t *Tokenizer) halt(reason string) {
	t.truncate(reason)
	t.stop = true
}

func (t *Tokenizer) stopped() bool { return t.stop }

// timeUp checks the time budget.
func (t *Tokenizer) timeUp() bool {
	if t.stop {
		return true
	}
	if time.Since(t.start) > t.opts.MaxTime {
		t.halt("max time")
		return true
	}
	return false
}

// problem records a non-fatal problem once.
func (t *Tokenizer) problem(p string) {
	if t.stop {
		return // errors caused by stopping are not problems of the message
	}
	t.feat.Problems++
	if len(t.problems) >= maxProblems {
		return
	}
	for _, q := range t.problems {
		if q == p {
			return
		}
	}
	t.problems = append(t.problems, p)
}

// limitReader bounds the bytes read from the caller's reader, stops all
// reading once a hard limit is hit, and turns read errors into EOF for the
// parsers (the error is reported by Tokenize).
type limitReader struct {
	t      *Tokenizer
	r      io.Reader
	n      int64
	read   int64
	err    error
	probed bool
	timed  bool // check the time budget (not before the header is read)
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.err != nil || l.t.stop || l.timed && l.t.timeUp() {
		return 0, io.EOF
	}
	if l.n <= 0 {
		if !l.probed {
			l.probed = true
			var one [1]byte
			if n, _ := io.ReadFull(l.r, one[:]); n > 0 {
				l.t.halt("max bytes")
			}
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	if n < 0 || n > len(p) {
		l.err = errors.New("tokenizer: reader returned invalid count")
		return 0, io.EOF
	}
	l.n -= int64(n)
	l.read += int64(n)
	if err != nil && err != io.EOF {
		l.err = err
		return n, io.EOF
	}
	return n, err
}

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
	e := strings.ToLower(strings.TrimPrefix(path.Ext(strings.TrimSpace(fname)), "."))
	switch {
	case e == "":
		e = "none"
	case len(e) > 8 || !isAlnumString(e):
		e = "bad"
	}
	t.meta("ext", e)
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

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 80 {
		s = s[:80]
	}
	return strings.ToValidUTF8(s, "?")
}

// log2Bucket formats the bit length of n: 0, 1, 2, ... (n < 2^bucket).
func log2Bucket(n int64) string {
	if n < 0 {
		n = 0
	}
	return strconv.Itoa(bits.Len64(uint64(n)))
}

// finish emits the message-level metatokens and builds the Result.
func (t *Tokenizer) finish() *Result {
	t.feat.Bytes = t.lim.read
	t.feat.URLDomains = len(t.domains)
	t.feat.Words = t.words
	t.feat.HTMLOnly = t.html && !t.plain
	if t.caps[1] > 0 {
		t.feat.Caps = float32(t.caps[0]) / float32(t.caps[1])
	}
	if t.wordBytes > 0 {
		t.feat.NonASCII = float32(t.nonASCII) / float32(t.wordBytes)
	}

	t.meta("parts", countBucket(t.feat.Parts))
	t.meta("size", log2Bucket(t.feat.Bytes))
	switch {
	case t.html && t.plain:
		t.meta("body", "plain+html")
	case t.html:
		t.meta("body", "html-only")
	case t.plain:
		t.meta("body", "plain-only")
	default:
		t.meta("body", "none")
	}
	t.meta("urls", countBucket(t.feat.URLs))
	t.meta("attachments", countBucket(t.feat.Attachments))
	if len(t.tree) > 0 {
		t.meta("tree", string(t.tree))
	}
	if t.truncated != "" {
		t.meta("truncated", t.truncated)
	}

	res := &Result{
		Tokens:          append([]Token(nil), t.toks...),
		Features:        t.feat,
		Truncated:       t.truncated != "",
		TruncatedReason: t.truncated,
		Problems:        t.problems,
	}
	if t.opts.Explain {
		res.Text = append([]string(nil), t.texts...)
	}
	for _, tok := range t.toks {
		if tok.Kind == Meta {
			res.MetaTokens++
		} else {
			res.BodyTokens++
		}
	}
	var p [24]byte
	binary.LittleEndian.PutUint64(p[0:], t.params.Seed)
	binary.LittleEndian.PutUint64(p[8:], uint64(t.params.Window))
	binary.LittleEndian.PutUint64(p[16:], uint64(t.params.Version))
	copy(t.dig, p[:])
	res.Digest = sha256.Sum256(t.dig)
	return res
}

// countBucket: exact up to 4, then powers of two ("8" means 5..8).
func countBucket(n int) string {
	if n <= 4 {
		return strconv.Itoa(n)
	}
	c := 8
	for c < n && c < 1024 {
		c *= 2
	}
	if n > c {
		return "many"
	}
	return strconv.Itoa(c)
}
