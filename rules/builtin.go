package rules

import (
	"fmt"
	"mime"
	"net/mail"
	"strings"
	"time"
	"unicode"

	"github.com/emersion/go-message/charset"

	"github.com/sluicemail/sluice/tokenizer"
	"golang.org/x/net/publicsuffix"
)

// builtin is the rule table. Default weights are modest: together with
// BAYES_SPAM (8) a few of them reach reject (15), alone they rarely reach
// add_header (6). Negative weights are evidence of ham.
var builtin = []Rule{
	{"MISSING_MID", 1, "no Message-ID header field", missingMID},
	{"INVALID_MID", 1, "Message-ID is not <left@right>", invalidMID},
	{"MISSING_DATE", 1, "no Date header field", missingDate},
	{"INVALID_DATE", 0.5, "Date is not an RFC 5322 date", invalidDate},
	{"DATE_IN_FUTURE", 2, "Date more than 6 hours after the message was received", dateInFuture},
	{"DATE_IN_PAST", 0.25, "Date more than 4 days before the message was received", dateInPast},
	{"FROM_NAME_HAS_ADDR", 2, "the From display name carries an address of another domain than the From address", fromNameHasAddr},
	{"REPLYTO_DOM_NEQ_FROM_DOM", 1, "Reply-To's registered domain differs from From's, outside mailing lists", replyToDomain},
	{"SUBJ_ALL_CAPS", 1, "the Subject shouts: 10 or more letters, 90% or more upper case", subjAllCaps},
	{"SUBJ_EXCESS_PUNCT", 0.5, "the Subject has repeated ! or ? or three or more !, ? or $", subjPunct},
	{"MIME_HTML_ONLY", 0.5, "HTML text but no plain text part", htmlOnly},
	{"HTML_SHORT_MANY_LINKS", 1, "HTML with fewer than 100 words and 5 or more links", htmlShortManyLinks},
	{"URL_IP", 1.5, "a link whose host is an IP address", urlIP},
	{"URL_SHORTENER", 0.5, "a link to a known URL shortener", urlShortener},
	{"MANY_URLS", 0.1, "50 or more links", manyURLs},
	{"ATTACH_EXEC", 3, "an attachment with an executable or script extension", attachExec},
	{"ATTACH_DOUBLE_EXT", 4, "an executable attachment posing as a document (x.pdf.exe)", attachDoubleExt},
	{"CHARSET_ODDITY", 0.5, "unknown or lying charsets, 8-bit text without charset, invalid UTF-8", charsetOddity},
	{"ENCODING_ODDITY", 0.5, "bad base64, unknown transfer encodings, broken multiparts", encodingOddity},
	{"AUTH_SPF_FAIL", 2, "trusted Authentication-Results: spf=fail", authIs("spf", "fail")},
	{"AUTH_SPF_SOFTFAIL", 0.5, "trusted Authentication-Results: spf=softfail", authIs("spf", "softfail")},
	{"AUTH_SPF_PASS", -0.5, "trusted Authentication-Results: spf=pass", authIs("spf", "pass")},
	{"AUTH_DKIM_FAIL", 1, "trusted Authentication-Results: dkim=fail and no dkim=pass", authIs("dkim", "fail")},
	{"AUTH_DKIM_PASS", -0.5, "trusted Authentication-Results: dkim=pass", authIs("dkim", "pass")},
	{"AUTH_DMARC_FAIL", 2.5, "trusted Authentication-Results: dmarc=fail", authIs("dmarc", "fail")},
	{"AUTH_DMARC_PASS", -1, "trusted Authentication-Results: dmarc=pass", authIs("dmarc", "pass")},
}

var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// decoded returns a header value with RFC 2047 encoded words decoded.
func decoded(v string) string {
	if strings.Contains(v, "=?") {
		if d, err := wordDecoder.DecodeHeader(v); err == nil {
			return d
		}
	}
	return v
}

func hit(ok bool, detail string) (float64, string) {
	if ok {
		return 1, detail
	}
	return 0, ""
}

func missingMID(m *Message) (float64, string) {
	_, ok := m.Header.Lookup("Message-ID")
	return hit(!ok, "")
}

func invalidMID(m *Message) (float64, string) {
	v, ok := m.Header.Lookup("Message-ID")
	if !ok {
		return 0, ""
	}
	return hit(!validMsgID(v), short(v))
}

// validMsgID checks the msg-id shape of RFC 5322 §3.6.4: <left@right>,
// both sides non-empty and without blanks or brackets.
func validMsgID(v string) bool {
	v = strings.TrimSpace(v)
	if len(v) < 5 || v[0] != '<' || v[len(v)-1] != '>' {
		return false
	}
	left, right, ok := strings.Cut(v[1:len(v)-1], "@")
	return ok && left != "" && right != "" && !strings.ContainsAny(left+right, " \t<>@")
}

func missingDate(m *Message) (float64, string) {
	_, ok := m.Header.Lookup("Date")
	return hit(!ok, "")
}

func invalidDate(m *Message) (float64, string) {
	v, ok := m.Header.Lookup("Date")
	if !ok {
		return 0, ""
	}
	_, err := mail.ParseDate(v)
	return hit(err != nil, short(v))
}

// received is when the message reached us: the date of the topmost
// Received field (added by our MTA), else the scan time. Comparing with it
// keeps the date rules right when old mail is rescanned.
func received(m *Message) time.Time {
	if v, ok := m.Header.Lookup("Received"); ok {
		if i := strings.LastIndexByte(v, ';'); i >= 0 {
			if t, err := mail.ParseDate(strings.TrimSpace(v[i+1:])); err == nil {
				return t
			}
		}
	}
	return m.Now
}

func dateSkew(m *Message) (time.Duration, bool) {
	v, ok := m.Header.Lookup("Date")
	if !ok {
		return 0, false
	}
	t, err := mail.ParseDate(v)
	if err != nil {
		return 0, false
	}
	return t.Sub(received(m)), true
}

func dateInFuture(m *Message) (float64, string) {
	d, ok := dateSkew(m)
	return hit(ok && d > 6*time.Hour, d.Round(time.Hour).String())
}

func dateInPast(m *Message) (float64, string) {
	d, ok := dateSkew(m)
	return hit(ok && d < -4*24*time.Hour, (-d).Round(time.Hour).String())
}

// fromAddr splits a From field into its decoded display name and its
// lower-cased address.
func fromAddr(v string) (name, addr string) {
	if a, err := (&mail.AddressParser{WordDecoder: wordDecoder}).Parse(v); err == nil {
		return a.Name, strings.ToLower(a.Address)
	}
	// QUIRK: spam often has unparseable From fields; take the last <...>.
	v = decoded(v)
	if i := strings.LastIndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			return strings.Trim(v[:i], " \t\""), strings.ToLower(strings.TrimSpace(v[i+1 : i+j]))
		}
	}
	return "", strings.ToLower(strings.TrimSpace(v))
}

func fromNameHasAddr(m *Message) (float64, string) {
	name, addr := fromAddr(m.Header.Get("From"))
	for _, w := range strings.FieldsFunc(name, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune("<>\"'()[],;", r)
	}) {
		at := strings.IndexByte(w, '@')
		if at <= 0 || !strings.Contains(w[at:], ".") {
			continue
		}
		if w = strings.ToLower(strings.Trim(w, ".")); domainOf(w) != domainOf(addr) {
			return 1, w
		}
	}
	return 0, ""
}

// domainOf returns the registered domain (eTLD+1) of an address.
func domainOf(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	host := strings.TrimSuffix(addr[at+1:], ".")
	if d, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
		return d
	}
	return host
}

func replyToDomain(m *Message) (float64, string) {
	rt, ok := m.Header.Lookup("Reply-To")
	if !ok || isListMail(&m.Header) {
		return 0, ""
	}
	_, ra := fromAddr(rt)
	_, fa := fromAddr(m.Header.Get("From"))
	rd, fd := domainOf(ra), domainOf(fa)
	return hit(rd != "" && fd != "" && rd != fd, rd+" vs "+fd)
}

func subjAllCaps(m *Message) (float64, string) {
	var upper, letters int
	for _, r := range decoded(m.Header.Get("Subject")) {
		if unicode.IsLetter(r) {
			letters++
			if unicode.IsUpper(r) {
				upper++
			}
		}
	}
	return hit(letters >= 10 && upper*10 >= letters*9, "")
}

func subjPunct(m *Message) (float64, string) {
	s := decoded(m.Header.Get("Subject"))
	n := strings.Count(s, "!") + strings.Count(s, "?") + strings.Count(s, "$")
	return hit(n >= 3 || strings.Contains(s, "!!") || strings.Contains(s, "??"), fmt.Sprint(n))
}

func htmlOnly(m *Message) (float64, string) { return hit(m.Features.HTMLOnly, "") }

func htmlShortManyLinks(m *Message) (float64, string) {
	f := m.Features
	return hit(f.HTMLParts > 0 && f.Words < 100 && f.URLs >= 5, fmt.Sprintf("%d words, %d links", f.Words, f.URLs))
}

func urlIP(m *Message) (float64, string) {
	return hit(m.Features.IPURLs > 0, fmt.Sprint(m.Features.IPURLs))
}

func urlShortener(m *Message) (float64, string) {
	return hit(m.Features.ShortURLs > 0, fmt.Sprint(m.Features.ShortURLs))
}

func manyURLs(m *Message) (float64, string) {
	return hit(m.Features.URLs >= 50, fmt.Sprint(m.Features.URLs))
}

func attachExec(m *Message) (float64, string) {
	return hit(m.Features.ExecFiles > 0, fmt.Sprint(m.Features.ExecFiles))
}

func attachDoubleExt(m *Message) (float64, string) {
	return hit(m.Features.DoubleExts > 0, fmt.Sprint(m.Features.DoubleExts))
}

func problemWith(m *Message, subs ...string) (float64, string) {
	for _, p := range m.Problems {
		for _, s := range subs {
			if strings.Contains(p, s) {
				return 1, p
			}
		}
	}
	return 0, ""
}

func charsetOddity(m *Message) (float64, string) {
	return problemWith(m, "charset", "invalid UTF-8", "without charset")
}

func encodingOddity(m *Message) (float64, string) {
	return problemWith(m, "base64", "transfer encoding", "multipart")
}

func short(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// isListMail reports mail from a mailing list (RFC 2369 / 2919 fields),
// which sets Reply-To to the list as a matter of course.
func isListMail(h *tokenizer.HeaderFields) bool {
	for _, f := range [...]string{"List-Id", "List-Post", "List-Unsubscribe", "Mailing-List"} {
		if _, ok := h.Lookup(f); ok {
			return true
		}
	}
	return false
}
