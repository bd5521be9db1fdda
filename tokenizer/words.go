package tokenizer

import (
	"encoding/binary"
	"strconv"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Hash namespaces. Each has its own XXH64 seed, derived from Seed and the
// namespace name, so that the same word hashes differently in the body, the
// subject, the From name, URLs and metatokens.
const (
	nsBody = iota
	nsSubject
	nsFrom
	nsURL
	nsMeta
	nsHdr // header field words and relay facts (headerwords.go)
	numNS
)

var nsNames = [numNS]string{"body", "subject", "from", "url", "meta", "hdr"}

// nsExplain prefixes Explain texts; it mirrors the namespace.
var nsExplain = [numNS]string{"", "subject:", "from:", "url:", "#", "H*"}

// sampleBlock is the number of consecutive words kept or skipped together
// by per-part sampling, so that kept words still form real OSB pairs.
const sampleBlock = 16

// stream is one run of words that forms OSB pairs: a text part, the
// subject, the From name. Pairs never cross streams.
type stream struct {
	ns   int
	kind Kind
	n    int // words pushed
	pipe [MaxWindow]uint64
	text [MaxWindow]string // Explain only
}

func (t *Tokenizer) newStream(ns int, kind Kind) stream {
	return stream{ns: ns, kind: kind}
}

// push adds a word hash to s: its unigram (with kind uni) and its pairs
// with the Window-1 words before it.
func (t *Tokenizer) push(s *stream, h uint64, txt string, uni Kind) {
	t.dig = binary.LittleEndian.AppendUint64(t.dig, h)
	t.add(h, 0, uni, txt)
	w := t.opts.Window
	for d := 1; d < w && d <= s.n; d++ {
		i := (s.n - d) & (MaxWindow - 1)
		var pt string
		if t.opts.Explain {
			pt = s.text[i] + gaps[d] + trimNS(txt)
		}
		t.add(pairHash(s.pipe[i], h, d), uint8(d), s.kind, pt)
	}
	i := s.n & (MaxWindow - 1)
	s.pipe[i] = h
	if t.opts.Explain {
		s.text[i] = txt
	}
	s.n++
}

// gaps separate the words of a pair in Explain texts: one "_" per word
// between them ("free money", "free _ money").
var gaps = [MaxWindow]string{"", " ", " _ ", " _ _ ", " _ _ _ ", " _ _ _ _ ", " _ _ _ _ _ ", " _ _ _ _ _ _ "}

// trimNS drops the namespace prefix of an Explain text for the second word
// of a pair ("subject:free subject:money" reads "subject:free money").
func trimNS(s string) string {
	for _, p := range nsExplain[nsSubject : nsFrom+1] {
		if len(s) > len(p) && s[:len(p)] == p {
			return s[len(p):]
		}
	}
	return s
}

// add records one token, deduplicating by hash.
func (t *Tokenizer) add(h uint64, d uint8, k Kind, txt string) {
	if i := t.set.insert(h, len(t.toks)); i >= 0 {
		if d < t.toks[i].Dist {
			t.toks[i].Dist = d
		}
		return
	}
	t.toks = append(t.toks, Token{Hash: h, Dist: d, Kind: k})
	if t.opts.Explain {
		t.texts = append(t.texts, txt)
	}
}

// hashWord hashes normalised word bytes in namespace ns.
func (t *Tokenizer) hashWord(ns int, w []byte) uint64 { return xxh64(w, t.seeds[ns]) }

func (t *Tokenizer) explain(ns int, w []byte) string {
	if !t.opts.Explain {
		return ""
	}
	return nsExplain[ns] + string(w)
}

// tokenizeText splits UTF-8 text into words (UAX #29), normalises them and
// pushes them into s, within the word budgets.
func (t *Tokenizer) tokenizeText(s *stream, text []byte) {
	if len(text) == 0 || t.stopped() {
		return
	}
	// The per-part cap is met by sampling; the message budget by stopping.
	limit, sample := t.opts.MaxWordsPerPart, true
	if left := t.opts.MaxWords - t.words; left <= limit {
		limit, sample = left, false
	}
	if limit <= 0 {
		t.truncate("max words")
		return
	}
	keepAll := limit
	if sample {
		keepAll = limit / 2
	}
	t.set.reserve(min(limit, len(text)/5+1) * t.opts.Window)
	kept, seen := 0, 0
	dropping := false
	for pos := 0; pos < len(text); {
		start, end := t.nextWord(text, pos)
		if start < 0 {
			break
		}
		pos = end
		seg := text[start:end]

		// Links and addresses are recognised from the raw text around the
		// segment: UAX #29 splits them at ':', '/' and '@'.
		var w []byte
		var h uint64
		var uni = s.kind
		ns := s.ns
		if u := urlAt(text, start, end, seg); u > 0 {
			pos = u
			host, dom, ok := t.parseURL(text[start:u])
			if !ok {
				continue
			}
			t.urlTokens(host, dom)
			w = dom
			ns = nsURL
			uni = URL
		} else if e := emailAt(text, end); e > 0 {
			pos = e
			w = t.lowerASCII(text[start:e])
			if len(w) > 7 && string(w[:7]) == "mailto:" {
				w = w[7:]
			}
			if len(w) > 4*t.opts.MaxWordBytes {
				w = t.shape("long", lengthClass(len(w)))
			}
		} else {
			w = t.normWord(seg)
			if w == nil {
				continue
			}
			if s.kind == Body {
				t.lang.count(w)
			}
		}
		h = t.hashWord(ns, w)

		seen++
		if seen&255 == 0 && t.timeUp() {
			return
		}
		// Deterministic sampling: after the first half of the budget, blocks
		// of sampleBlock words are kept with the probability that spreads
		// the rest of the budget over the rest of the text; the block's
		// first word hash decides, so the same text keeps the same words.
		if kept >= keepAll && (seen-keepAll-1)%sampleBlock == 0 {
			avg := float64(start+1) / float64(seen)
			est := float64(len(text)-start)/avg + 1
			p := float64(limit-kept) / est
			keep := p >= 1 || float64(h>>11)/(1<<53) < p
			if !keep {
				dropping = true
			} else if dropping {
				dropping = false
				s.n = 0 // no pairs across a gap
			}
		}
		if dropping {
			t.feat.SampledOut++
		} else {
			t.push(s, h, t.explain(ns, w), uni)
			kept++
			t.words++
			if kept >= limit {
				if !sample {
					t.truncate("max words")
				}
				return
			}
		}
	}
}

// nextWord returns the next word segment of text at or after pos, or -1.
//
// Fast path for ASCII: spaces and punctuation are skipped, and a run of
// letters and digits that is not followed by a UAX #29 joiner (full stop,
// comma, colon, semicolon, apostrophe, underscore) or a non-ASCII byte is a
// word, as the segmenter would say (a test checks this on the corpus).
// Everything else asks the segmenter.
func (t *Tokenizer) nextWord(text []byte, pos int) (int, int) {
	for pos < len(text) {
		c := text[pos]
		if c < utf8.RuneSelf && !isAlnum(c) && c != '$' && c != '_' {
			pos++
			continue
		}
		start, end := pos, 0
		if isAlnum(c) {
			e := pos + 1
			for e < len(text) && isAlnum(text[e]) {
				e++
			}
			if e == len(text) || text[e] < utf8.RuneSelf && !isJoiner(text[e]) {
				end = e
			}
		}
		if end == 0 {
			t.iter.SetText(text[pos:])
			t.iter.Next()
			end = pos + t.iter.End()
		}
		pos = end
		if isWordSegment(text[start:end]) {
			return start, end
		}
	}
	return -1, -1
}

// isWordSegment tells words from spaces and punctuation.
func isWordSegment(seg []byte) bool {
	c := seg[0]
	if c < utf8.RuneSelf {
		return isAlnum(c) || c == '$' || c == '_' && hasAlnum(seg)
	}
	r, _ := utf8.DecodeRune(seg)
	return wordRune(r)
}

func isAlnum(c byte) bool {
	return c-'0' < 10 || (c|0x20)-'a' < 26
}

func hasAlnum(b []byte) bool {
	for _, c := range b {
		if isAlnum(c) {
			return true
		}
	}
	return false
}

// wordRune reports whether a segment starting with r is a word: letters,
// numbers, currency and other symbols (emoji). A mark cannot start a word.
func wordRune(r rune) bool {
	return unicode.In(r, unicode.L, unicode.N, unicode.Sc, unicode.So)
}

// isJoiner reports ASCII bytes that UAX #29 may keep inside a word
// (MidLetter, MidNum, MidNumLet, ExtendNumLet).
func isJoiner(c byte) bool {
	switch c {
	case '.', ',', ':', ';', '\'', '_':
		return true
	}
	return false
}

// lowerASCII copies b lower-cased (ASCII only) into the word buffer.
func (t *Tokenizer) lowerASCII(b []byte) []byte {
	w := t.wbuf[:0]
	for _, c := range b {
		if c-'A' < 26 {
			c += 'a' - 'A'
		}
		w = append(w, c)
	}
	t.wbuf = w
	return w
}

// normWord turns a word segment into its normalised form in t.wbuf, or nil
// for segments that are not words. ASCII words are only lower-cased (NFKC
// leaves ASCII alone); others are NFKC-normalised, lower-cased, and
// stripped of format characters (soft hyphens, joiners).
func (t *Tokenizer) normWord(seg []byte) []byte {
	if len(seg) > t.opts.MaxWordBytes {
		return t.shape("long", lengthClass(len(seg)))
	}
	w := t.wbuf[:0]
	ascii := true
	upper, letters := 0, 0
	for _, c := range seg {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		if c-'A' < 26 {
			c += 'a' - 'A'
			upper++
			letters++
		} else if c-'a' < 26 {
			letters++
		}
		w = append(w, c)
	}
	if !ascii {
		upper, letters = 0, 0
		t.nbuf = norm.NFKC.Append(t.nbuf[:0], seg...)
		w = w[:0]
		for i := 0; i < len(t.nbuf); {
			r, n := utf8.DecodeRune(t.nbuf[i:])
			i += n
			if r < utf8.RuneSelf {
				c := byte(r)
				if c-'A' < 26 {
					c += 'a' - 'A'
					upper++
					letters++
				} else if c-'a' < 26 {
					letters++
				}
				w = append(w, c)
				continue
			}
			if unicode.Is(unicode.Cf, r) {
				continue
			}
			if unicode.IsLetter(r) {
				letters++
				if unicode.IsUpper(r) {
					upper++
				}
			}
			w = utf8.AppendRune(w, unicode.ToLower(r))
			t.nonASCII += n
		}
	}
	t.wbuf = w
	t.caps[0] += upper
	t.caps[1] += letters
	t.wordBytes += len(w)
	if len(w) == 0 {
		return nil
	}
	return t.foldShape(w)
}

// foldShape replaces numbers and ID-like strings by shape tokens.
func (t *Tokenizer) foldShape(w []byte) []byte {
	digits, letters, dots, other := 0, 0, 0, 0
	for _, c := range w {
		switch {
		case c-'0' < 10:
			digits++
		case c-'a' < 26:
			letters++
		case c == '.':
			dots++
		case c == ',':
		default:
			other++
		}
	}
	switch {
	case digits == 0:
		return w
	case letters == 0 && other == 0:
		if dots == 3 && isIPv4(w) {
			return w // IP addresses stay whole
		}
		return t.shape("num", strconv.Itoa(min(digits, 16)))
	case len(w) >= 16 && digits >= 4 && other == 0:
		return t.shape("id", lengthClass(len(w)))
	}
	return w
}

// shape writes "<kind:class>" into the word buffer.
func (t *Tokenizer) shape(kind, class string) []byte {
	w := append(t.wbuf[:0], '<')
	w = append(w, kind...)
	w = append(w, ':')
	w = append(w, class...)
	w = append(w, '>')
	t.wbuf = w
	return w
}

// lengthClass buckets a length by powers of two: "32", "64", ... "big".
func lengthClass(n int) string {
	for c := 16; c <= 1024; c *= 2 {
		if n <= c {
			return strconv.Itoa(c)
		}
	}
	return "big"
}

func isIPv4(w []byte) bool {
	groups, n, val := 0, 0, 0
	for i := 0; i <= len(w); i++ {
		if i == len(w) || w[i] == '.' {
			if n == 0 || n > 3 || val > 255 {
				return false
			}
			groups++
			n, val = 0, 0
			continue
		}
		c := w[i]
		if c-'0' >= 10 {
			return false
		}
		n++
		val = val*10 + int(c-'0')
	}
	return groups == 4
}
