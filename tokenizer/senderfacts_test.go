package tokenizer

import (
	"slices"
	"strings"
	"testing"
)

func TestSenderFacts(t *testing.T) {
	msg := "From: \"Smith, Ann\" <Ann.Smith72@Mail.Example.co.uk>\n" +
		"X-Mailer: Microsoft Outlook Express 6.00.2600.0000\n" +
		"Message-ID: <000701c248f5$1cd98500$508827d9@b5w3e9>\n" +
		"Subject: hello\n\nbody text\n"
	got := texts(tokenize(t, Options{Explain: true}, msg))
	for _, want := range []string{"#from:ann.smith72@mail.example.co.uk", "#from-user:ann.smith72", "#from-local:a.a9",
		"#mailer-w:microsoft", "#mailer-w:outlook", "#mailer-w:express", "#mailer-w:6.00.2600.0000",
		"#msgid-shape:9a9a9$9a9$9a9"} {
		if _, ok := got[want]; !ok {
			t.Errorf("missing %s", want)
		}
	}
	// No address, no mailer, no Message-ID: no value tokens.
	got = texts(tokenize(t, Options{Explain: true}, "From: nobody\nSubject: x\n\nbody\n"))
	for k := range got {
		for _, p := range []string{"#from:", "#from-user:", "#from-local:", "#mailer-w:", "#msgid-shape:"} {
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
	if got := appendAddrs(nil, many, 64); len(got) != 64 {
		t.Errorf("%d addresses, want 64", len(got))
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

func TestSenderFactsHostile(t *testing.T) {
	long := strings.Repeat("\"(<", 20000)
	for _, from := range []string{long + "x@y.example", strings.Repeat("a@b.example,", 5000), strings.Repeat("é", 100) + "@x.example"} {
		res := tokenize(t, Options{Explain: true}, "From: "+from+"\nX-Mailer: "+strings.Repeat("-", 60000)+
			"\nMessage-ID: <"+strings.Repeat("\xff", 1000)+"@x>\n\nbody\n")
		for _, s := range res.Text {
			if strings.HasPrefix(s, "#") && len(s) > 100 {
				t.Errorf("long metatoken %q", s[:100])
			}
		}
		if _, ok := texts(res)["#msgid-shape:?"]; !ok {
			t.Errorf("want #msgid-shape:?, got %q", res.Text)
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
