package tokenizer

import (
	"slices"
	"strings"
	"testing"
)

func TestParseHeader(t *testing.T) {
	h := ParseHeader([]byte("From nobody Mon\nSubject: a\n  b\r\nX-A: 1\nx-a: 2\nnocolon\nLater: no\n\nBody: no\n"))
	if h.Get("subject") != "a b" || !slices.Equal(h.Values("X-A"), []string{"1", "2"}) || h.Len() != 3 {
		t.Fatalf("%+v", h)
	}
	for _, name := range []string{"Body", "Later", "nocolon"} {
		if _, ok := h.Lookup(name); ok {
			t.Errorf("%s: a field after the end of the header was kept", name)
		}
	}
}

// TestResultHeader checks that a Result carries the top-level header it
// was tokenized from, and owns it: tokenizing another message with the same
// Tokenizer and another Result leaves it unchanged.
func TestResultHeader(t *testing.T) {
	tok := New(Options{})
	msg := "From: a@example.org\r\nSubject: first\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\nX-Part: inner\r\n\r\nhello\r\n--b--\r\n"
	res, err := tok.Tokenize(strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tok.Tokenize(strings.NewReader("Subject: second\r\n\r\nbody\r\n")); err != nil {
		t.Fatal(err)
	}
	if got := res.Header.Get("Subject"); got != "first" {
		t.Errorf("Subject %q after a second message, want first", got)
	}
	if _, ok := res.Header.Lookup("X-Part"); ok || res.Header.Len() != 3 {
		t.Errorf("the header has %d fields (a part's field included?), want the 3 top-level ones", res.Header.Len())
	}
	var reused Result
	for _, subj := range []string{"one", "two"} {
		if err := tok.TokenizeInto(strings.NewReader("Subject: "+subj+"\r\n\r\nbody\r\n"), &reused); err != nil {
			t.Fatal(err)
		}
		if got := reused.Header.Get("subject"); got != subj {
			t.Errorf("reused Result: Subject %q, want %q", got, subj)
		}
	}
}
