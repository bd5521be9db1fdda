package tokenizer

import (
	"strings"
)

// meta emits the metatoken "#key:value".
func (t *Tokenizer) meta(key, value string) {
	m := append(t.mbuf[:0], key...)
	m = append(m, ':')
	m = append(m, value...)
	t.mbuf = m
	t.add(t.hashWord(nsMeta, m), 0, Meta, t.explain(nsMeta, m))
}

// safeValue keeps metatoken values short and printable.
func safeValue(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return "bad"
		}
	}
	return s
}

// treeAdd appends a compact name of a content type to the #tree
// metatoken: the subtype for multipart/* and text/*, the type otherwise.
func (t *Tokenizer) treeAdd(mt string) {
	name := mt
	if strings.HasPrefix(mt, "multipart/") || strings.HasPrefix(mt, "text/") {
		_, name, _ = strings.Cut(mt, "/")
	} else if mt == "message/rfc822" {
		name = "rfc822"
	}
	t.treeAppend(name)
}

func (t *Tokenizer) treeMark(c byte) { t.treeAppend(string(c)) }

func (t *Tokenizer) treeAppend(s string) {
	switch {
	case t.treeFull:
	case len(t.tree)+len(s) >= maxTree:
		t.tree = append(t.tree, '+')
		t.treeFull = true
	default:
		t.tree = append(t.tree, s...)
	}
}

// headerTokens emits the tokens of the top-level header: Subject and From
// display name words, and header metatokens.
func (t *Tokenizer) headerTokens(h *header) {
	if v := h.Get("Subject"); v != "" {
		s := t.newStream(nsSubject, Header)
		caps := t.caps
		t.tokenizeText(&s, t.headerText(v))
		if l := t.caps[1] - caps[1]; l > 0 {
			t.feat.SubjectCaps = float32(t.caps[0]-caps[0]) / float32(l)
		}
		t.caps = caps
	}
	if name := displayName(h.Get("From")); name != "" {
		s := t.newStream(nsFrom, Header)
		caps := t.caps
		t.tokenizeText(&s, t.headerText(name))
		t.caps = caps
	}

	t.meta("msgid", msgIDState(h.Get("Message-Id")))
	t.meta("date", dateState(h.Get("Date")))
	t.meta("mimever", mimeVersionState(h.Get("Mime-Version")))
	mailer := h.Get("X-Mailer")
	if mailer == "" {
		mailer = h.Get("User-Agent")
	}
	t.meta("mailer", normMailer(mailer))
	t.feat.ReceivedHops = h.count("Received")
	hops := "7+"
	if t.feat.ReceivedHops < 7 {
		hops = countBucket(t.feat.ReceivedHops)
	}
	t.meta("hops", hops)
	t.headerFacts(h)
	t.headerWords(h)
	t.relayTokens(h)
}

// displayName returns the display name of the first address of a From
// value: the phrase before '<', or the comment of "addr (Name)".
func displayName(v string) string {
	if i := strings.IndexByte(v, '<'); i > 0 {
		return strings.Trim(v[:i], " \t\"")
	}
	if i := strings.IndexByte(v, '('); i >= 0 {
		if j := strings.LastIndexByte(v, ')'); j > i {
			return strings.Trim(v[i+1:j], " \t\"")
		}
	}
	return ""
}

func msgIDState(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return "missing"
	}
	if len(v) < 5 || v[0] != '<' || v[len(v)-1] != '>' || strings.ContainsAny(v, " \t") {
		return "bad"
	}
	_, dom, ok := strings.Cut(v[1:len(v)-1], "@")
	if !ok || dom == "" || strings.Contains(dom, "@") || !strings.Contains(dom, ".") && !strings.HasPrefix(dom, "[") {
		return "bad"
	}
	return "ok"
}

func dateState(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return "missing"
	}
	if !dateOK(v) {
		return "bad"
	}
	return "ok"
}

// dateOK checks the shape of an RFC 5322 date: [day-of-week ","] day month
// year hh:mm[:ss] [zone]. It is a sanity check, not a parser (net/mail's
// allocates for every layout it tries).
func dateOK(v string) bool {
	if i := strings.IndexByte(v, ','); i >= 0 {
		if i > 12 {
			return false
		}
		v = v[i+1:]
	}
	var f [5]string
	n := 0
	for w := range strings.FieldsSeq(v) {
		if n < len(f) {
			f[n] = w
		}
		n++
	}
	if n < 4 || n > 6 {
		return false
	}
	day, ok := digits(f[0], 1, 2)
	if !ok || day < 1 || day > 31 {
		return false
	}
	if !strings.Contains("jan feb mar apr may jun jul aug sep oct nov dec", strings.ToLower(f[1])) || len(f[1]) != 3 {
		return false
	}
	if _, ok := digits(f[2], 2, 4); !ok || len(f[2]) == 3 {
		return false
	}
	hh, mm, _ := strings.Cut(f[3], ":")
	mm, ss, _ := strings.Cut(mm, ":")
	h, ok1 := digits(hh, 1, 2)
	m, ok2 := digits(mm, 2, 2)
	s, ok3 := digits(ss, 2, 2)
	if ss == "" {
		ok3 = true
	}
	return ok1 && ok2 && ok3 && h < 24 && m < 60 && s < 61
}

// digits parses a decimal of min..max digits.
func digits(s string, min, max int) (int, bool) {
	if len(s) < min || len(s) > max {
		return 0, false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		if s[i]-'0' >= 10 {
			return 0, false
		}
		v = v*10 + int(s[i]-'0')
	}
	return v, true
}

func mimeVersionState(v string) string {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return "missing"
	case strings.HasPrefix(v, "1.0"):
		return "ok"
	}
	return "bad"
}

// normMailer normalises an X-Mailer or User-Agent value: lower case, the
// part before the first '(', words with digits (versions) dropped, at most
// four words.
func normMailer(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	if v == "" {
		return "none"
	}
	if i := strings.IndexByte(v, '('); i > 0 {
		v = v[:i]
	}
	var b strings.Builder
	n := 0
	for w := range strings.FieldsFuncSeq(v, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_')
	}) {
		if strings.ContainsAny(w, "0123456789") || strings.Trim(w, ".-_") == "" {
			continue
		}
		if n > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w)
		if n++; n == 4 {
			break
		}
	}
	if b.Len() == 0 {
		return "other"
	}
	return b.String()
}
