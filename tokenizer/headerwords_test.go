package tokenizer

import (
	"strings"
	"testing"
)

func TestHeaderWords(t *testing.T) {
	msg := "From: \"Ann\" <Ann@Mail.Example.co.uk>\n" +
		"To: bob@x.example, =?utf-8?q?J=C3=BCrgen?= <j@y.example>\n" +
		"List-Id: Example Talk <talk.lists.example.org>\n" +
		"Content-Type: text/plain; charset=\"ISO-8859-1\"\n" +
		"Date: Thu, 22 Aug 2002 16:11:27 -0700\n" +
		"X-Unknown: secret\n" +
		"Subject: hello\n\nbody text\n"
	got := texts(tokenize(t, Options{Explain: true}, msg))
	for _, want := range []string{"H*from:ann@mail.example.co.uk", "H*from@:ann@mail.example.co.uk", "H*from@dom:example.co.uk",
		"H*to:jürgen", "H*to@:bob@x.example", "H*to@dom:y.example", "H*list-id:talk.lists.example.org", "H*list-id:talk",
		"H*content-type:iso-8859-1"} {
		if _, ok := got[want]; !ok {
			t.Errorf("missing %s", want)
		}
	}
	for k := range got {
		if strings.HasPrefix(k, "H*date") || strings.HasPrefix(k, "H*x-unknown") || strings.HasPrefix(k, "H*subject") {
			t.Errorf("unexpected %s", k)
		}
	}
}

// Hostile headers: tens of thousands of fields and Received hops give a
// bounded number of tokens.
func TestHeaderWordsBounded(t *testing.T) {
	var b strings.Builder
	for i := range 10000 {
		b.WriteString("Received: from h (h.example.net [192.0.2.")
		b.WriteString(strings.Repeat("1", 1+i%3))
		b.WriteString("]) by own.example\n")
		b.WriteString("To: a")
		b.WriteString(strings.Repeat("x", i%50))
		b.WriteString("@b.example, c@d.example\n")
	}
	b.WriteString("Subject: x\n\nbody\n")
	res := tokenize(t, Options{Explain: true}, b.String())
	n := 0
	for _, s := range res.Text {
		if strings.HasPrefix(s, "H*") {
			n++
		}
	}
	if n == 0 || n > maxHdrTokens+3*8+8 {
		t.Errorf("%d header tokens from a hostile header", n)
	}
}
