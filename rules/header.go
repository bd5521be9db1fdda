package rules

import (
	"bytes"
	"strings"
)

// maxHeaderFields bounds the fields kept from one header; a message with
// more is hostile and its later fields are ignored.
const maxHeaderFields = 512

// Header is a message's top-level header: field names (lower-cased) and
// unfolded raw values, in order. The zero Header has no fields.
type Header struct {
	fields []field
}

type field struct{ name, value string }

// ParseHeader reads the header at the start of raw, up to the first empty
// line (or the end of raw). It is tolerant: lines without a colon are
// skipped, continuation lines are joined with one space, CRLF and LF are
// both line ends. It never fails.
func ParseHeader(raw []byte) Header {
	var h Header
	for len(raw) > 0 && len(h.fields) < maxHeaderFields {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			break // end of header
		}
		if line[0] == ' ' || line[0] == '\t' {
			if n := len(h.fields); n > 0 {
				h.fields[n-1].value += " " + string(bytes.TrimSpace(line))
			}
			continue
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue // QUIRK: a line without a colon (mbox "From " line, junk) is skipped
		}
		name = bytes.TrimSpace(name)
		if len(name) == 0 {
			continue
		}
		h.fields = append(h.fields, field{strings.ToLower(string(name)), string(bytes.TrimSpace(value))})
	}
	return h
}

// Get returns the value of the first field named name (any case), or "".
func (h Header) Get(name string) string {
	v, _ := h.Lookup(name)
	return v
}

// Lookup returns the value of the first field named name and whether there
// is one.
func (h Header) Lookup(name string) (string, bool) {
	name = strings.ToLower(name)
	for _, f := range h.fields {
		if f.name == name {
			return f.value, true
		}
	}
	return "", false
}

// Values returns the values of every field named name, in order.
func (h Header) Values(name string) []string {
	name = strings.ToLower(name)
	var out []string
	for _, f := range h.fields {
		if f.name == name {
			out = append(out, f.value)
		}
	}
	return out
}

// Len is the number of fields.
func (h Header) Len() int { return len(h.fields) }
