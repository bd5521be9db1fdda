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
	"strconv"
	"strings"
	"time"

	"github.com/clipperhouse/uax29/v2/words"
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
	quiet       bool   // decoding header words: record no problem (headerwords.go)
	lang        langCounter

	// reused buffers
	iter                         *words.Iterator[[]byte]
	wbuf, nbuf, ubuf, dbuf, mbuf []byte
	line, rest, hbuf, hnames     []byte
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
	res := new(Result)
	if err := t.TokenizeInto(r, res); err != nil {
		return nil, err
	}
	return res, nil
}

// TokenizeInto is Tokenize writing into res, whose slices it reuses: a
// scanner that keeps one Result per goroutine allocates almost nothing per
// message. res must not be in use elsewhere; its previous contents are lost.
func (t *Tokenizer) TokenizeInto(r io.Reader, res *Result) error {
	if r == nil {
		return errors.New("tokenizer: nil reader")
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
		return fmt.Errorf("tokenizer: read message: %w", err)
	}
	if len(t.top.fields) == 0 {
		return ErrNotMessage
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
		return fmt.Errorf("tokenizer: read message: %w", t.lim.err)
	}
	t.finish(res)
	return nil
}

func (t *Tokenizer) reset() {
	t.start = time.Now()
	t.set.reset()
	t.lang.reset()
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
	if t.stop || t.quiet {
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
func (t *Tokenizer) finish(res *Result) {
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

	text := res.Text[:0]
	hdr := res.Header
	t.top.copyTo(&hdr)
	*res = Result{
		Header:          hdr,
		Tokens:          append(res.Tokens[:0], t.toks...),
		Features:        t.feat,
		Truncated:       t.truncated != "",
		TruncatedReason: t.truncated,
		Problems:        t.problems,
		Language:        t.lang.guess(),
	}
	if t.opts.Explain {
		res.Text = append(text, t.texts...)
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
