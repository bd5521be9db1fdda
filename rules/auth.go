package rules

import (
	"strings"

	"github.com/sluicemail/sluice/tokenizer"
)

// authResults are the spf, dkim and dmarc results of the trusted
// Authentication-Results field, "" when absent.
type authResults struct {
	spf, dkim, dmarc string
}

// parseAuth reads the topmost Authentication-Results field (RFC 8601)
// whose authserv-id is trusted. Only the topmost is read: fields further
// down were added before our MTA and may be forged, even with our id.
// Several dkim results combine as pass if any passed, else fail if any
// failed, else the first.
func parseAuth(h *tokenizer.HeaderFields, trusted []string) authResults {
	var res authResults
	if len(trusted) == 0 {
		return res
	}
	for _, v := range h.Values("Authentication-Results") {
		v = stripComments(v)
		parts := strings.Split(v, ";")
		id := strings.ToLower(firstWord(parts[0]))
		if !contains(trusted, id) {
			continue
		}
		for _, p := range parts[1:] {
			method, result, ok := strings.Cut(firstWord(p), "=")
			if !ok {
				continue
			}
			method, _, _ = strings.Cut(strings.ToLower(method), "/") // method/version
			result = strings.ToLower(result)
			switch method {
			case "spf":
				if res.spf == "" {
					res.spf = result
				}
			case "dmarc":
				if res.dmarc == "" {
					res.dmarc = result
				}
			case "dkim":
				switch {
				case res.dkim == "", result == "pass", result == "fail" && res.dkim != "pass":
					res.dkim = result
				}
			}
		}
		break
	}
	return res
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func firstWord(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// stripComments removes RFC 5322 comments "( ... )", nested ones too.
func stripComments(s string) string {
	if !strings.Contains(s, "(") {
		return s
	}
	var b strings.Builder
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case c == '\\' && depth > 0:
			i++
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// authIs returns a check firing when the trusted result of method is want.
func authIs(method, want string) func(*Message) (float64, string) {
	return func(m *Message) (float64, string) {
		var got string
		switch method {
		case "spf":
			got = m.auth.spf
		case "dkim":
			got = m.auth.dkim
		case "dmarc":
			got = m.auth.dmarc
		}
		return hit(got == want, "")
	}
}
