package rules

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicemail/sluice/tokenizer"
)

const okHeader = "Received: from a by mx.example.org; Tue, 3 Mar 2026 10:00:00 +0000\r\n" +
	"Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=example.com\r\n" +
	"Message-ID: <abc@example.com>\r\nDate: Tue, 3 Mar 2026 09:59:00 +0000\r\n" +
	"From: Alice <alice@example.com>\r\nSubject: Lunch tomorrow?\r\n\r\nbody"

func hits(t *testing.T, raw string, f tokenizer.Features, problems ...string) []string {
	t.Helper()
	s, err := New(Options{TrustedAuthservIDs: []string{"MX.example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	m := &Message{Header: tokenizer.ParseHeader([]byte(raw)), Features: f, Problems: problems,
		Now: time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)}
	var names []string
	for _, h := range s.Check(m, nil) {
		names = append(names, h.Name)
	}
	return names
}

// edit replaces the first line starting with prefix (or removes it when
// repl is empty).
func edit(prefix, repl string) string {
	lines := strings.SplitAfter(okHeader, "\r\n")
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			if repl == "" {
				lines[i] = ""
			} else {
				lines[i] = repl + "\r\n"
			}
			break
		}
	}
	return strings.Join(lines, "")
}

func TestRules(t *testing.T) {
	ar := "Authentication-Results: mx.example.org; "
	for _, tc := range []struct {
		name     string
		raw      string
		f        tokenizer.Features
		problems []string
		want     []string
	}{
		{"clean", okHeader, tokenizer.Features{}, nil, []string{"AUTH_SPF_PASS"}},
		{"no message-id", edit("Message-ID", ""), tokenizer.Features{}, nil, []string{"MISSING_MID", "AUTH_SPF_PASS"}},
		{"bad message-id", edit("Message-ID", "Message-ID: abc@example.com"), tokenizer.Features{}, nil, []string{"INVALID_MID", "AUTH_SPF_PASS"}},
		{"message-id two ats", edit("Message-ID", "Message-ID: <a@b@c>"), tokenizer.Features{}, nil, []string{"INVALID_MID", "AUTH_SPF_PASS"}},
		{"no date", edit("Date", ""), tokenizer.Features{}, nil, []string{"MISSING_DATE", "AUTH_SPF_PASS"}},
		{"bad date", edit("Date", "Date: yesterday"), tokenizer.Features{}, nil, []string{"INVALID_DATE", "AUTH_SPF_PASS"}},
		{"future", edit("Date", "Date: Wed, 4 Mar 2026 09:00:00 +0000"), tokenizer.Features{}, nil, []string{"DATE_IN_FUTURE", "AUTH_SPF_PASS"}},
		{"past", edit("Date", "Date: Tue, 3 Mar 2020 09:00:00 +0000"), tokenizer.Features{}, nil, []string{"DATE_IN_PAST", "AUTH_SPF_PASS"}},
		{"past vs scan time without Received", edit("Received", ""), tokenizer.Features{}, nil, []string{"AUTH_SPF_PASS"}},
		{"from name address", edit("From", `From: "paypal@paypal.com" <x@evil.example>`), tokenizer.Features{}, nil, []string{"FROM_NAME_HAS_ADDR", "AUTH_SPF_PASS"}},
		{"from name same address", edit("From", `From: "alice@example.com" <Alice@example.com>`), tokenizer.Features{}, nil, []string{"AUTH_SPF_PASS"}},
		{"from name same domain", edit("From", `From: "David&Tom@fool.example" <subscriber@fool.example>`), tokenizer.Features{}, nil, []string{"AUTH_SPF_PASS"}},
		{"reply-to other domain", edit("From", "From: a@mail.example.com\r\nReply-To: b@other.example"), tokenizer.Features{}, nil, []string{"REPLYTO_DOM_NEQ_FROM_DOM", "AUTH_SPF_PASS"}},
		{"reply-to subdomain", edit("From", "From: a@mail.example.com\r\nReply-To: b@lists.example.com"), tokenizer.Features{}, nil, []string{"AUTH_SPF_PASS"}},
		{"reply-to from a list", edit("From", "From: a@mail.example.com\r\nReply-To: b@other.example\r\nList-Id: <x.other.example>"), tokenizer.Features{}, nil, []string{"AUTH_SPF_PASS"}},
		{"shouting", edit("Subject", "Subject: FREE MONEY FOR YOU"), tokenizer.Features{}, nil, []string{"SUBJ_ALL_CAPS", "AUTH_SPF_PASS"}},
		{"short caps", edit("Subject", "Subject: RE: FYI"), tokenizer.Features{}, nil, []string{"AUTH_SPF_PASS"}},
		{"encoded shouting", edit("Subject", "Subject: =?utf-8?q?FREE_MONEY_FOR_YOU?="), tokenizer.Features{}, nil, []string{"SUBJ_ALL_CAPS", "AUTH_SPF_PASS"}},
		{"punctuation", edit("Subject", "Subject: Win now!!"), tokenizer.Features{}, nil, []string{"SUBJ_EXCESS_PUNCT", "AUTH_SPF_PASS"}},
		{"html only", okHeader, tokenizer.Features{HTMLOnly: true, HTMLParts: 1, Words: 300}, nil, []string{"MIME_HTML_ONLY", "AUTH_SPF_PASS"}},
		{"html short many links", okHeader, tokenizer.Features{HTMLParts: 1, Words: 20, URLs: 6}, nil, []string{"HTML_SHORT_MANY_LINKS", "AUTH_SPF_PASS"}},
		{"ip url", okHeader, tokenizer.Features{URLs: 1, IPURLs: 1}, nil, []string{"URL_IP", "AUTH_SPF_PASS"}},
		{"shortener", okHeader, tokenizer.Features{URLs: 1, ShortURLs: 1}, nil, []string{"URL_SHORTENER", "AUTH_SPF_PASS"}},
		{"many urls", okHeader, tokenizer.Features{URLs: 60, Words: 1000}, nil, []string{"MANY_URLS", "AUTH_SPF_PASS"}},
		{"exec", okHeader, tokenizer.Features{Attachments: 1, ExecFiles: 1}, nil, []string{"ATTACH_EXEC", "AUTH_SPF_PASS"}},
		{"double ext", okHeader, tokenizer.Features{Attachments: 1, ExecFiles: 1, DoubleExts: 1}, nil, []string{"ATTACH_EXEC", "ATTACH_DOUBLE_EXT", "AUTH_SPF_PASS"}},
		{"charset", okHeader, tokenizer.Features{}, []string{`unknown charset "x-foo"`}, []string{"CHARSET_ODDITY", "AUTH_SPF_PASS"}},
		{"encoding", okHeader, tokenizer.Features{}, []string{"bad base64"}, []string{"ENCODING_ODDITY", "AUTH_SPF_PASS"}},
		{"spf fail", edit("Authentication-Results", ar+"spf=fail (sender not permitted) smtp.mailfrom=x"), tokenizer.Features{}, nil, []string{"AUTH_SPF_FAIL"}},
		{"spf softfail", edit("Authentication-Results", ar+"spf=softfail"), tokenizer.Features{}, nil, []string{"AUTH_SPF_SOFTFAIL"}},
		{"dkim one passes", edit("Authentication-Results", ar+"dkim=fail header.d=a; dkim=pass header.d=b"), tokenizer.Features{}, nil, []string{"AUTH_DKIM_PASS"}},
		{"dkim fail", edit("Authentication-Results", ar+"dkim=fail; dmarc=fail (p=reject)"), tokenizer.Features{}, nil, []string{"AUTH_DKIM_FAIL", "AUTH_DMARC_FAIL"}},
		{"dmarc pass", edit("Authentication-Results", ar+"dkim/1=pass; dmarc=pass"), tokenizer.Features{}, nil, []string{"AUTH_DKIM_PASS", "AUTH_DMARC_PASS"}},
		{"untrusted id", edit("Authentication-Results", "Authentication-Results: evil.example; spf=pass; dmarc=pass"), tokenizer.Features{}, nil, nil},
		{"only topmost trusted", edit("Authentication-Results", ar+"spf=fail\r\n"+ar+"spf=pass"), tokenizer.Features{}, nil, []string{"AUTH_SPF_FAIL"}},
		{"id in comment", edit("Authentication-Results", "Authentication-Results: (mx.example.org) evil.example; spf=pass"), tokenizer.Features{}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := hits(t, tc.raw, tc.f, tc.problems...); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestWeights(t *testing.T) {
	s, err := New(Options{Weights: map[string]float64{"MISSING_MID": 0, "MISSING_DATE": 3}})
	if err != nil {
		t.Fatal(err)
	}
	m := &Message{Header: tokenizer.ParseHeader([]byte("From: a@b.example\r\n\r\n"))}
	got := s.Check(m, nil)
	if len(got) != 1 || got[0].Name != "MISSING_DATE" || got[0].Score != 3 {
		t.Fatalf("got %+v", got)
	}
	if s.Weight("MISSING_MID") != 0 || slices.Contains(s.Names(), "MISSING_MID") {
		t.Error("a weight of 0 must disable the rule")
	}
	if _, err := New(Options{Weights: map[string]float64{"NO_SUCH": 1}}); err == nil {
		t.Error("unknown rule accepted")
	}
}

func TestBuiltinUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Builtin() {
		if seen[r.Name] || r.Doc == "" || r.Weight == 0 {
			t.Errorf("rule %s: duplicate, undocumented or off by default", r.Name)
		}
		seen[r.Name] = true
	}
}
