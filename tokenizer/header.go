package tokenizer

import (
	"bufio"
	"bytes"
	"io"
	"strings"
)

// HeaderFields is a parsed header block: field names as written, unfolded
// values with surrounding white space removed, kept raw (not RFC
// 2047-decoded), in order. Result.Header is the message's top-level header
// as the tokenizer read it, so that later stages (the rules) use the same
// parse instead of reading the header a second time. How lines are read is
// readHeader's business (mbox "From " line skipped, a line that is neither
// a field nor a continuation ends the header, a field is cut at
// Options.MaxLineBytes). The zero HeaderFields has no fields.
type HeaderFields struct {
	buf    []byte
	fields []field
}

// header is the tokenizer's name for HeaderFields inside the package.
type header = HeaderFields

type field struct {
	k0, k1, v0, v1 int // key and value spans in buf
}

type headerGetter interface {
	Get(key string) string
}

func (h *header) reset() {
	h.buf = h.buf[:0]
	h.fields = h.fields[:0]
}

func (h *header) key(f field) []byte   { return h.buf[f.k0:f.k1] }
func (h *header) value(f field) []byte { return h.buf[f.v0:f.v1] }

// Get returns the first value of key (case-insensitive), or "".
func (h *HeaderFields) Get(key string) string {
	v, _ := h.Lookup(key)
	return v
}

// Lookup returns the first value of key (case-insensitive) and whether
// the header has such a field.
func (h *HeaderFields) Lookup(key string) (string, bool) {
	for _, f := range h.fields {
		if strings.EqualFold(string(h.key(f)), key) {
			return string(h.value(f)), true
		}
	}
	return "", false
}

// Values returns the values of every field named key (case-insensitive),
// in order.
func (h *HeaderFields) Values(key string) []string {
	var out []string
	for _, f := range h.fields {
		if strings.EqualFold(string(h.key(f)), key) {
			out = append(out, string(h.value(f)))
		}
	}
	return out
}

// Len is the number of fields.
func (h *HeaderFields) Len() int { return len(h.fields) }

// copyTo makes dst a copy of h that shares no memory with it, reusing
// dst's buffers.
func (h *HeaderFields) copyTo(dst *HeaderFields) {
	dst.buf = append(dst.buf[:0], h.buf...)
	dst.fields = append(dst.fields[:0], h.fields...)
}

// ParseHeader reads the header block at the start of raw with the
// tokenizer's rules (default options), up to the first empty line or the
// end of raw. It never fails. Scanning gets the header from
// Result.Header; this is for callers that have a header and no message
// to tokenize (tests, tools).
func ParseHeader(raw []byte) HeaderFields {
	t := &Tokenizer{opts: Options{}.withDefaults()}
	var h HeaderFields
	_, _, _ = t.readHeader(bufio.NewReader(bytes.NewReader(raw)), &h)
	return h
}

// count returns the number of fields named key.
func (h *header) count(key string) int {
	n := 0
	for _, f := range h.fields {
		if strings.EqualFold(string(h.key(f)), key) {
			n++
		}
	}
	return n
}

// readLine reads one line without its line ending. Lines longer than max
// are cut and the rest is discarded. eof is set when the input ended.
func readLine(br *bufio.Reader, dst []byte, max int) (line []byte, eof bool, err error) {
	line = dst[:0]
	for {
		chunk, err := br.ReadSlice('\n')
		if room := max - len(line); room > 0 {
			line = append(line, chunk[:min(len(chunk), room)]...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			return trimEOL(line), true, nil
		}
		if err != nil {
			return trimEOL(line), true, err
		}
		return trimEOL(line), false, nil
	}
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

// readHeader reads a header block from br into h. It stops at the blank
// line. It returns rest, the first body line, when the header ended without
// a blank line (see below), and eof when the input ended in the header.
//
// Tolerated:
//   - QUIRK: a first line "From ..." (mbox envelope, as in the public
//     corpus) or ">From ..." is skipped.
//   - QUIRK: a line that is neither a field nor a continuation ends the
//     header and becomes the first body line (RFC 5322 §2.1 wants a blank
//     line; broken mailers omit it).
//   - QUIRK: continuation lines before any field, NUL and 8-bit bytes are
//     kept or ignored, never fatal.
func (t *Tokenizer) readHeader(br *bufio.Reader, h *header) (rest []byte, eof bool, err error) {
	h.reset()
	max := t.opts.MaxLineBytes
	first := true
	for {
		line, end, err := readLine(br, t.line, max)
		t.line = line[:0]
		if err != nil {
			return nil, true, err
		}
		if first {
			first = false
			if bytes.HasPrefix(line, []byte("From ")) || bytes.HasPrefix(line, []byte(">From ")) {
				if end {
					return nil, true, nil
				}
				continue
			}
		}
		if len(line) == 0 {
			return nil, end, nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			if n := len(h.fields); n > 0 {
				f := &h.fields[n-1]
				v := bytes.TrimSpace(line)
				if len(v) > 0 && f.v1-f.k0+len(v) < max {
					h.buf = append(h.buf, ' ')
					h.buf = append(h.buf, v...)
					f.v1 = len(h.buf)
				}
			}
		} else if i := bytes.IndexByte(line, ':'); i > 0 && validKey(bytes.TrimRight(line[:i], " \t")) {
			k := bytes.TrimRight(line[:i], " \t")
			var f field
			f.k0 = len(h.buf)
			h.buf = append(h.buf, k...)
			f.k1 = len(h.buf)
			f.v0 = f.k1
			h.buf = append(h.buf, bytes.TrimSpace(line[i+1:])...)
			f.v1 = len(h.buf)
			h.fields = append(h.fields, f)
		} else {
			rest = append(t.rest[:0], line...)
			rest = append(rest, '\n')
			t.rest = rest
			return rest, end, nil
		}
		if end {
			return nil, true, nil
		}
	}
}

func validKey(k []byte) bool {
	if len(k) == 0 || len(k) > 128 {
		return false
	}
	for _, c := range k {
		if c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}

// LooksLikeMessage reports whether b, the start of an input, begins like a
// mail message: after an optional mbox "From " line, a header field
// "Name: value". Tokenize returns ErrNotMessage exactly when no header
// field can be read; this is the cheap test on a prefix (for example the
// first KiB read by `sluice learn` before spooling anything).
func LooksLikeMessage(b []byte) bool {
	line, rest, _ := bytes.Cut(b, []byte("\n"))
	if bytes.HasPrefix(line, []byte("From ")) || bytes.HasPrefix(line, []byte(">From ")) {
		line, _, _ = bytes.Cut(rest, []byte("\n"))
	}
	line = trimEOL(line)
	if len(line) == 0 || line[0] == ' ' || line[0] == '\t' {
		return false
	}
	i := bytes.IndexByte(line, ':')
	return i > 0 && validKey(bytes.TrimRight(line[:i], " \t"))
}
