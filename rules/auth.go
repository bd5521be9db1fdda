package rules

import (
	"strings"

	"github.com/sluicemail/sluice/tokenizer"
)

// authResults are the spf, dkim and dmarc results of the trusted
// Authentication-Results field, "" when absent, with the domains they
// were about (for alignment with the From domain: package lists).
type authResults struct {
	spf, dkim, dmarc string
	spfDomain        string   // smtp.mailfrom's domain of the spf result
	dkimPass         []string // header.d of every dkim=pass
	dmarcFrom        string   // header.from of the dmarc result
}

// AuthResults are what the topmost trusted Authentication-Results field
// says: each method's result ("" when absent) and the domains they were
// about, lower case.
type AuthResults struct {
	SPF, DKIM, DMARC string
	SPFDomain        string   // the domain of smtp.mailfrom for the spf result
	DKIMPass         []string // header.d of every dkim=pass
	DMARCFrom        string   // header.from of the dmarc result
}

// TrustedAuthResults reads the header's Authentication-Results as the
// AUTH_* rules do: only the topmost field whose authserv-id is one of
// trusted (compared in lower case); nothing when trusted is empty.
func TrustedAuthResults(h *tokenizer.HeaderFields, trusted []string) AuthResults {
	ids := make([]string, 0, len(trusted))
	for _, id := range trusted {
		if id = strings.ToLower(strings.TrimSpace(id)); id != "" {
			ids = append(ids, id)
		}
	}
	a := parseAuth(h, ids)
	return AuthResults{SPF: a.spf, DKIM: a.dkim, DMARC: a.dmarc, SPFDomain: a.spfDomain, DKIMPass: a.dkimPass, DMARCFrom: a.dmarcFrom}
}

// FromAddress is the address of a From field's value, lower case (""
// when it has none), parsed as the rules parse it.
func FromAddress(v string) string {
	_, addr := fromAddr(v)
	return strings.ToLower(addr)
}

// property returns the value of the property key (e.g. "header.d") in
// one resinfo of an Authentication-Results field, lower case.
func property(resinfo, key string) string {
	for _, f := range strings.Fields(resinfo) {
		if k, v, ok := strings.Cut(f, "="); ok && strings.EqualFold(k, key) {
			v = strings.Trim(v, "\"<>")
			if at := strings.LastIndexByte(v, '@'); at >= 0 {
				v = v[at+1:]
			}
			return strings.TrimSuffix(strings.ToLower(v), ".")
		}
	}
	return ""
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
					res.spfDomain = property(p, "smtp.mailfrom")
				}
			case "dmarc":
				if res.dmarc == "" {
					res.dmarc = result
					res.dmarcFrom = property(p, "header.from")
				}
			case "dkim":
				if result == "pass" {
					if d := property(p, "header.d"); d != "" {
						res.dkimPass = append(res.dkimPass, d)
					}
				}
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
