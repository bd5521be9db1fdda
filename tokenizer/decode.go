package tokenizer

import (
	"bytes"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"golang.org/x/text/encoding/charmap"
)

// b64 maps base64 alphabet bytes (standard and URL-safe) to their value,
// others to 0xff.
var b64 = func() (m [256]byte) {
	for i := range m {
		m[i] = 0xff
	}
	const std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(std); i++ {
		m[std[i]] = byte(i)
	}
	m['-'], m['_'] = 62, 63
	return m
}()

// decodeBase64 appends the decoded src to dst. It never fails:
// QUIRK: bytes outside the alphabet are skipped (bad counts the non-space
// ones), '=' ends a group wherever it appears (concatenated base64 blocks
// decode), and a final partial group is decoded as far as it goes.
func decodeBase64(dst, src []byte) (out []byte, bad int) {
	var q [4]byte
	n := 0
	for _, c := range src {
		v := b64[c]
		if v == 0xff {
			switch c {
			case '=':
				dst = flush64(dst, q[:n])
				n = 0
			case ' ', '\t', '\r', '\n':
			default:
				bad++
			}
			continue
		}
		q[n] = v
		n++
		if n == 4 {
			dst = append(dst, q[0]<<2|q[1]>>4, q[1]<<4|q[2]>>2, q[2]<<6|q[3])
			n = 0
		}
	}
	return flush64(dst, q[:n]), bad
}

func flush64(dst, q []byte) []byte {
	switch len(q) {
	case 2:
		dst = append(dst, q[0]<<2|q[1]>>4)
	case 3:
		dst = append(dst, q[0]<<2|q[1]>>4, q[1]<<4|q[2]>>2)
	}
	return dst
}

func unhex(c byte) (byte, bool) {
	switch {
	case c-'0' < 10:
		return c - '0', true
	case (c|0x20)-'a' < 6:
		return (c | 0x20) - 'a' + 10, true
	}
	return 0, false
}

// decodeQP appends the quoted-printable src, decoded, to dst.
// QUIRK: '=' not followed by two hex digits or a line end is kept as is;
// lower-case hex is accepted; soft breaks may carry trailing blanks.
func decodeQP(dst, src []byte) []byte {
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c != '=' {
			dst = append(dst, c)
			continue
		}
		if i+2 < len(src) {
			if h, ok := unhex(src[i+1]); ok {
				if l, ok := unhex(src[i+2]); ok {
					dst = append(dst, h<<4|l)
					i += 2
					continue
				}
			}
		}
		j := i + 1
		for j < len(src) && (src[j] == ' ' || src[j] == '\t') {
			j++
		}
		if j < len(src) && src[j] == '\r' {
			j++
		}
		if j < len(src) && src[j] == '\n' {
			i = j // soft line break
			continue
		}
		if j == len(src) {
			break
		}
		dst = append(dst, '=')
	}
	return dst
}

// readCapped reads r into dst up to max bytes. It reports whether more
// input remained.
func readCapped(dst []byte, r io.Reader, max int) ([]byte, bool, error) {
	for {
		if len(dst) >= max {
			var one [1]byte
			n, err := io.ReadFull(r, one[:])
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				err = nil
			}
			return dst, n > 0, err
		}
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		room := min(cap(dst), max)
		n, err := r.Read(dst[len(dst):room])
		dst = dst[:len(dst)+n]
		if err == io.EOF {
			return dst, false, nil
		}
		if err != nil {
			return dst, false, err
		}
	}
}

// normCharset lower-cases a charset label and strips quotes and blanks.
// QUIRK: a few labels seen in the wild are mapped to what they mean;
// labels that only say "unknown" count as no label.
func normCharset(s string) string {
	s = strings.ToLower(strings.Trim(s, " \t\"'"))
	if len(s) > 40 {
		s = s[:40]
	}
	switch s {
	case "default", "default_charset", "unknown-8bit", "x-unknown", "unknown", "none":
		return ""
	case "chinesebig5", "big-5", "big5_charset":
		return "big5"
	case "gb2312_charset", "chinese-gb2312":
		return "gb2312"
	case "utf8", "unicode-1-1-utf-8":
		return "utf-8"
	case "latin1", "latin-1", "iso8859-1", "iso_8859_1":
		return "iso-8859-1"
	}
	return s
}

// asciiCompatible reports charsets whose ASCII range is ASCII, so that
// pure-ASCII text needs no conversion.
func asciiCompatible(cs string) bool {
	for _, p := range [...]string{"iso-8859", "iso8859", "latin", "windows-", "cp12", "cp8", "ibm8", "koi8", "us-ascii", "ascii",
		"ansi_x3.4", "gb2312", "gbk", "gb18030", "big5", "euc-", "shift_jis", "sjis", "x-sjis", "ks_c_5601", "tis-620", "macintosh", "x-mac"} {
		if strings.HasPrefix(cs, p) {
			return true
		}
	}
	return false
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// toUTF8 converts raw text in charset cs to UTF-8, using every charset
// go-message/charset knows. The result may alias raw or t.cvt.
//
// QUIRK: charsets lie. Text that is valid UTF-8 (and not plain ASCII) is
// taken as UTF-8 whatever the label says; an unknown label falls back to
// UTF-8, and text that is not valid UTF-8 then to Windows-1252.
func (t *Tokenizer) toUTF8(raw []byte, cs string) []byte {
	if isASCII(raw) && (cs == "" || cs == "utf-8" || cs == "utf8" || asciiCompatible(cs)) {
		return raw
	}
	if cs == "" || cs == "utf-8" || cs == "utf8" || cs == "us-ascii" || utf8.Valid(raw) && !strings.HasPrefix(cs, "utf-16") {
		if cs != "" && !t.knownCharset(cs) {
			t.problem("unknown charset " + quoteShort(cs))
			t.badCharset()
		}
		return t.fixUTF8(raw, cs)
	}
	r, err := charset.Reader(cs, bytes.NewReader(raw))
	if err != nil {
		t.problem("unknown charset " + quoteShort(cs))
		t.badCharset()
		return t.fixUTF8(raw, "")
	}
	t.cvt.Reset()
	if _, err := t.cvt.ReadFrom(io.LimitReader(r, int64(4*len(raw)+16))); err != nil {
		t.problem("charset " + quoteShort(cs) + ": conversion failed")
	}
	return t.fixUTF8(t.cvt.Bytes(), "")
}

// badCharset emits #bad:charset, unless the text being decoded is a header
// field read for words (quiet).
func (t *Tokenizer) badCharset() {
	if !t.quiet {
		t.meta("bad", "charset")
	}
}

// fixUTF8 returns valid UTF-8: invalid bytes are replaced by U+FFFD when
// the text is mostly UTF-8, else the whole text is read as Windows-1252.
func (t *Tokenizer) fixUTF8(b []byte, cs string) []byte {
	if utf8.Valid(b) {
		return b
	}
	valid, invalid := 0, 0
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			invalid++
		} else if n > 1 {
			valid++
		}
		i += n
	}
	if valid > invalid {
		t.problem("invalid UTF-8 replaced")
		t.fix = appendValidUTF8(t.fix[:0], b)
		return t.fix
	}
	if cs != "" {
		t.problem("charset " + quoteShort(cs) + " lies: read as windows-1252")
	} else {
		t.problem("8-bit text without charset: read as windows-1252")
	}
	t.fix = t.fix[:0]
	for _, c := range b {
		t.fix = utf8.AppendRune(t.fix, charmap.Windows1252.DecodeByte(c))
	}
	return t.fix
}

// stripInvisible removes zero-width characters that split or hide words
// (U+200B..U+200D, U+2060, U+FEFF, U+00AD) and turns NUL and other C0
// controls into spaces, in place.
func stripInvisible(b []byte) []byte {
	if isASCII(b) {
		for i, c := range b {
			if c < ' ' && c != '\n' && c != '\r' && c != '\t' {
				b[i] = ' '
			}
		}
		return b
	}
	out := b[:0]
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c < ' ' && c != '\n' && c != '\r' && c != '\t' {
				c = ' '
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		switch r {
		case 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD:
		default:
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	return out
}

func quoteShort(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	return "\"" + strings.ToValidUTF8(s, "?") + "\""
}

// appendValidUTF8 appends b to dst with invalid bytes replaced by U+FFFD.
func appendValidUTF8(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, "\uFFFD"...)
		} else {
			dst = append(dst, b[i:i+n]...)
		}
		i += n
	}
	return dst
}
