package tokenizer

import (
	"slices"
	"strings"
	"testing"
)

func TestSenderFacts(t *testing.T) {
	msg := "From: \"Smith, Ann\" <Ann.Smith72@Mail.Example.co.uk>\n" +
		"To: a@x.example, \"b, c\" <b@y.example>, undisclosed-recipients:;\n" +
		"Cc: team: c@mail.x.example, d@z.example;\n" +
		"X-Mailer: Microsoft Outlook Express 6.00.2600.0000\n" +
		"Message-ID: <000701c248f5$1cd98500$508827d9@b5w3e9>\n" +
		"Date: Thu, 22 Aug 2002 16:11:27 -0700 (PDT)\n" +
		"Subject: hello\n\nbody text\n"
	got := texts(tokenize(t, Options{Explain: true}, msg))
	for _, want := range []string{"#from:ann.smith72@mail.example.co.uk", "#from-user:ann.smith72", "#from-local:a.a9",
		"#rcpt-doms:3", "#mailer-w:microsoft", "#mailer-w:outlook", "#mailer-w:express", "#mailer-w:6.00.2600.0000",
		"#msgid-shape:9a9a9$9a9$9a9", "#date-tz:-0700"} {
		if _, ok := got[want]; !ok {
			t.Errorf("missing %s", want)
		}
	}
	// No address, no mailer, no Message-ID, no Date: no value tokens.
	got = texts(tokenize(t, Options{Explain: true}, "From: nobody\nSubject: x\n\nbody\n"))
	for k := range got {
		for _, p := range []string{"#from:", "#from-user:", "#from-local:", "#rcpt-doms:", "#mailer-w:", "#msgid-shape:", "#date-tz:"} {
			if strings.HasPrefix(k, p) {
				t.Errorf("unexpected %s", k)
			}
		}
	}
}

func TestAppendAddrs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Ann <Ann@Example.COM>", []string{"ann@example.com"}},
		{"bob@example.org (Bob, the builder)", []string{"bob@example.org"}},
		{`"Doe, John" <j@x.example>, k@y.example`, []string{"j@x.example", "k@y.example"}},
		{`"a<b" <c@d.example>`, []string{"c@d.example"}},
		{"<@relay.example,@r2.example:u@e.example>", []string{"u@e.example"}},
		{"undisclosed-recipients:;", nil},
		{"friends: a@b.example, c@d.example;", []string{"a@b.example", "c@d.example"}},
		{"no address, a@b@c, x y@z.example, @, ", nil},
		{`"unterminated <a@b.example>, c@d.example`, []string{"a@b.example"}},
	}
	for _, tt := range tests {
		if got := appendAddrs(nil, tt.in, 8); !slices.Equal(got, tt.want) {
			t.Errorf("appendAddrs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	many := strings.Repeat("a@b.example, ", 1000)
	if got := appendAddrs(nil, many, maxAddrs); len(got) != maxAddrs {
		t.Errorf("%d addresses, want %d", len(got), maxAddrs)
	}
}

func TestShape(t *testing.T) {
	tests := []struct {
		in    string
		cased bool
		want  string
	}{
		{"john.smith", false, "a.a"},
		{"jsmith72", false, "a9"},
		{"JSmith72", true, "Aa9"},
		{"3D5F.1a2B", true, "9A9A.9a9A"},
		{"a b\x00é", false, "a?a?"},
		{"", false, ""},
		{strings.Repeat("a1", 40), false, "a9a9a9a9a9a9a9a9a9a9a9a9+"},
	}
	for _, tt := range tests {
		if got := shape(tt.in, tt.cased); got != tt.want {
			t.Errorf("shape(%q, %v) = %q, want %q", tt.in, tt.cased, got, tt.want)
		}
	}
}

func TestDateZone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Thu, 22 Aug 2002 16:11:27 -0000", "-0000"},
		{"22 Aug 2002 16:11 +0530 (IST)", "+0530"},
		{"Thu, 22 Aug 2002 16:11:27 pdt", "PDT"},
		{"Thu, 22 Aug 2002 16:11:27", "none"},
		{"Thu, 22 Aug 2002 16:11:27 +05:30", "bad"},
		{"Thu, 22 Aug 2002 16:11:27 Europe/Paris", "bad"},
		{"yesterday", ""},
		{"a b c d e f 16:11 +0000", ""},
	}
	for _, tt := range tests {
		if got := dateZone(tt.in); got != tt.want {
			t.Errorf("dateZone(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMailerWords(t *testing.T) {
	msg := "X-Mailer: " + strings.Repeat("x", 40) + " Mutt/1.4i (Linux) -- a b c d e f g h\nUser-Agent: ignored\n\nbody\n"
	var got []string
	for _, s := range tokenize(t, Options{Explain: true}, msg).Text {
		if w, ok := strings.CutPrefix(s, "#mailer-w:"); ok {
			got = append(got, w)
		}
	}
	want := []string{"mutt", "1.4i", "linux", "a", "b", "c", "d", "e"}
	if !slices.Equal(got, want) {
		t.Errorf("mailer words %q, want %q", got, want)
	}
}

func TestSenderFactsHostile(t *testing.T) {
	long := strings.Repeat("\"(<", 20000)
	msg := "From: " + long + "x@y.example\nTo: " + strings.Repeat("a@b.example,", 5000) +
		"\nX-Mailer: " + strings.Repeat("-", 60000) + "\nMessage-ID: <" + strings.Repeat("\xff", 1000) + "@x>\n" +
		"Date: " + strings.Repeat(" ", 1000) + "\n\nbody\n"
	res := tokenize(t, Options{Explain: true}, msg)
	for _, s := range res.Text {
		if strings.HasPrefix(s, "#") && len(s) > 100 {
			t.Errorf("long metatoken %q", s[:100])
		}
	}
	got := texts(res)
	if _, ok := got["#rcpt-doms:1"]; !ok {
		t.Errorf("want #rcpt-doms:1, got %q", res.Text)
	}
	if _, ok := got["#msgid-shape:?"]; !ok {
		t.Errorf("want #msgid-shape:?, got %q", res.Text)
	}
}
