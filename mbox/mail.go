package mbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrNotMail is why `sluice learn` refuses an input before it reaches the
// learner (CheckMail).
var ErrNotMail = errors.New("not a mail message")

// mailFields are the header fields one of which a mail message has: what
// every MTA and MUA writes. A file of "name: value" lines without any of
// them (/etc/passwd, a YAML file, a log) is not mail.
var mailFields = []string{
	"from", "sender", "reply-to", "to", "cc", "date", "message-id", "received",
	"return-path", "delivered-to", "subject", "mime-version",
}

// maxHeaderScan bounds how much of an input CheckMail reads.
const maxHeaderScan = 256 << 10

// CheckMail is the rule by which `sluice learn` takes an input for a mail
// message: it starts with a header block (RFC 5322 "Name: value" fields,
// continuation lines, up to the first empty line or the first line that
// is neither), and that block holds at least one field every mail has
// (mailFields: From, Date, Message-ID, Received, Subject, To…). The
// tokenizer alone takes any "word: text" line for a header field, and so
// /etc/passwd for a message.
func CheckMail(data []byte) error {
	sc := bufio.NewScanner(bytes.NewReader(data[:min(len(data), maxHeaderScan)]))
	sc.Buffer(make([]byte, 0, 4096), maxHeaderScan)
	fields := 0
	for first := true; sc.Scan(); first = false {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			break
		}
		if !first && (line[0] == ' ' || line[0] == '\t') {
			continue
		}
		name, _, ok := strings.Cut(line, ":")
		if !ok || !fieldName(name) {
			if first {
				return fmt.Errorf("%w: it does not start with a header field", ErrNotMail)
			}
			break
		}
		fields++
		if slices.Contains(mailFields, strings.ToLower(name)) {
			return nil
		}
	}
	if fields == 0 {
		return fmt.Errorf("%w: no header fields", ErrNotMail)
	}
	return fmt.Errorf("%w: none of its %d header fields is From, To, Subject, Date, Message-ID, Received or another that every mail has", ErrNotMail, fields)
}

// fieldName reports whether s is an RFC 5322 field name: printable ASCII
// but ':' and space.
func fieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
