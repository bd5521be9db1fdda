package tokenizer

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// repeatReader yields prefix, then n bytes of fill, then suffix, without
// holding them in memory.
type repeatReader struct {
	prefix, suffix string
	fill           byte
	n              int64
	pos            int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	total := int64(len(r.prefix)) + r.n + int64(len(r.suffix))
	if r.pos >= total {
		return 0, io.EOF
	}
	i := 0
	for i < len(p) && r.pos < total {
		switch {
		case r.pos < int64(len(r.prefix)):
			p[i] = r.prefix[r.pos]
		case r.pos < int64(len(r.prefix))+r.n:
			p[i] = r.fill
		default:
			p[i] = r.suffix[r.pos-int64(len(r.prefix))-r.n]
		}
		i++
		r.pos++
	}
	return i, nil
}

func nestingBomb(depth int) string {
	var b strings.Builder
	b.WriteString("Subject: bomb\n")
	for i := range depth {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n", i, i)
	}
	b.WriteString("Content-Type: text/plain\n\ninnermost words\n")
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\n", i)
	}
	return b.String()
}

func manyParts(n int) string {
	var b strings.Builder
	b.WriteString("Subject: parts\nContent-Type: multipart/mixed; boundary=x\n\n")
	for i := range n {
		fmt.Fprintf(&b, "--x\nContent-Type: text/plain\n\npart %d text\n", i)
	}
	b.WriteString("--x--\n")
	return b.String()
}

func messageBomb(depth int) string {
	var b strings.Builder
	for range depth {
		b.WriteString("Subject: fwd\nContent-Type: message/rfc822\n\n")
	}
	b.WriteString("Subject: core\n\ncore text\n")
	return b.String()
}

func TestTokenize_hostile(t *testing.T) {
	tests := []struct {
		name      string
		r         func() io.Reader
		opts      Options
		truncated string // expected reason, "" for none
		want      []string
	}{
		{name: "deep multipart nesting", r: func() io.Reader { return strings.NewReader(nestingBomb(5000)) }, truncated: "max depth"},
		{name: "deep message/rfc822 nesting", r: func() io.Reader { return strings.NewReader(messageBomb(5000)) }, truncated: "max depth"},
		{name: "nesting within limit", r: func() io.Reader { return strings.NewReader(nestingBomb(8)) }, want: []string{"innermost words"}},
		{name: "thousands of parts", r: func() io.Reader { return strings.NewReader(manyParts(5000)) }, truncated: "max parts", want: []string{"part <num:1>"}},
		{name: "100 MB line in body", r: func() io.Reader {
			return &repeatReader{prefix: "Subject: long\n\nstart ", fill: 'a', n: 100 << 20, suffix: " end\n"}
		}, truncated: "max text bytes", want: []string{"start", "<long:big>", "start <long:big>"}},
		{name: "100 MB line in an attachment", r: func() io.Reader {
			return &repeatReader{prefix: "Content-Type: multipart/mixed; boundary=q\n\n--q\n\nstart\n--q\nContent-Type: image/gif\n\n", fill: 'a', n: 100 << 20, suffix: "\n--q--\n"}
		}, truncated: "max bytes", want: []string{"start", "#ct:image/gif"}},
		{name: "100 MB header line", r: func() io.Reader {
			return &repeatReader{prefix: "Subject: ", fill: 'x', n: 100 << 20, suffix: "\n\nbody\n"}
		}, truncated: "max bytes"},
		{name: "100 MB of spaces in html", r: func() io.Reader {
			return &repeatReader{prefix: "Content-Type: text/html\n\n<p>visible <a href='", fill: ' ', n: 100 << 20, suffix: "'>x</a>"}
		}, truncated: "max text bytes", want: []string{"visible"}},
		{name: "100 MB preamble line", r: func() io.Reader {
			return &repeatReader{prefix: "Content-Type: multipart/mixed; boundary=q\n\n", fill: 'z', n: 100 << 20, suffix: "\n--q\n\ntext\n--q--\n"}
		}},
		{name: "unterminated html comment", r: func() io.Reader {
			return strings.NewReader("Content-Type: text/html\n\nshown <!-- " + strings.Repeat("hidden ", 1000))
		}, want: []string{"shown"}},
		{name: "broken base64", r: func() io.Reader {
			return strings.NewReader("Content-Transfer-Encoding: base64\n\n%%%%SGVsbG8@@@gd29y\x00bGQ=====bW9yZQ\n!!!")
		}, want: []string{"hello", "worldmore"}},
		{name: "missing boundaries", r: func() io.Reader {
			return strings.NewReader("Content-Type: multipart/mixed; boundary=nothere\n\nplain words without any delimiter\n")
		}, want: []string{"plain words", "without"}},
		{name: "empty boundary", r: func() io.Reader {
			return strings.NewReader("Content-Type: multipart/mixed; boundary=\"\"\n\nsome words\n")
		}, want: []string{"some words"}},
		{name: "unclosed last part", r: func() io.Reader {
			return strings.NewReader("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nfirst part text\n--b\n\nsecond part cut")
		}, want: []string{"first part", "second part"}},
		{name: "NUL bytes", r: func() io.Reader {
			return strings.NewReader("Subject: a\x00b\n\x00X-Junk\x00: \x00\n\nnul\x00separated\x00words")
		}, want: []string{"nul", "separated", "words"}},
		{name: "8-bit headers", r: func() io.Reader {
			return strings.NewReader("Subject: \xe4\xf6\xfc gr\xfc\xdfe\nFrom: \"J\xf6rg\" <j@x>\n\nbody")
		}, want: []string{"subject:grüße", "from:jörg"}},
		{name: "bogus charset", r: func() io.Reader {
			return strings.NewReader("Content-Type: text/plain; charset=\"x-no-such\"\n\ncaf\xe9 words")
		}, want: []string{"café", "#cs:unknown", "#bad:charset"}},
		{name: "utf-16 body", r: func() io.Reader {
			return strings.NewReader("Content-Type: text/plain; charset=utf-16le\n\nh\x00i\x00 \x00t\x00h\x00e\x00r\x00e\x00")
		}, want: []string{"hi there"}},
		{name: "bad content-type", r: func() io.Reader {
			return strings.NewReader("Content-Type: ;;;==\"\n\nstill text")
		}, want: []string{"still text"}},
		{name: "garbage header lines", r: func() io.Reader {
			return strings.NewReader(" leading continuation\nSubject: ok\n")
		}},
		{name: "only CRs", r: func() io.Reader {
			return strings.NewReader("Subject: cr\r\r\r\r\rbody\r")
		}},
		{name: "time budget", r: func() io.Reader {
			return &repeatReader{prefix: "Subject: t\n\n", fill: 'a', n: 100 << 20}
		}, opts: Options{MaxTime: time.Nanosecond, MaxBytes: 1 << 30}, truncated: "max time"},
		{name: "word budget", r: func() io.Reader {
			return strings.NewReader("Subject: w\n\n" + strings.Repeat("word ", 100))
		}, opts: Options{MaxWords: 10}, truncated: "max words"},
		{name: "word budget over parts", r: func() io.Reader {
			return strings.NewReader(manyParts(20))
		}, opts: Options{MaxWords: 10}, truncated: "max words"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.Explain = true
			if opts.MaxTime == 0 {
				// The bounds under test are the byte, part, depth and
				// word limits, which hold on any machine: the wall-time
				// budget (1s by default) must not end a slow run (-race
				// on a busy 2-core machine) first. "time budget" tests it.
				opts.MaxTime = time.Hour
			}
			tk := New(opts)
			res, err := tk.Tokenize(tt.r())
			if err != nil {
				t.Fatalf("err: %v", err)
			}
			checkInvariants(t, tk, res)
			if res.TruncatedReason != tt.truncated {
				t.Errorf("truncated %q, want %q", res.TruncatedReason, tt.truncated)
			}
			got := texts(res)
			for _, w := range tt.want {
				if _, ok := got[w]; !ok {
					t.Errorf("missing %q", w)
				}
			}
			if t.Failed() {
				t.Logf("texts %q\nproblems %q", res.Text[:min(len(res.Text), 60)], res.Problems)
			}
		})
	}
}

// TestTokenize_memoryBounded checks that a huge message does not make the
// tokenizer hold on to huge buffers.
func TestTokenize_memoryBounded(t *testing.T) {
	tk := New(Options{})
	r := &repeatReader{prefix: "Subject: m\n\n", fill: 'w', n: 50 << 20}
	if _, err := tk.Tokenize(r); err != nil {
		t.Fatal(err)
	}
	if _, err := tk.Tokenize(strings.NewReader("Subject: small\n\nx")); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]int{"raw": cap(tk.raw), "dec": cap(tk.dec), "vis": cap(tk.vis), "fix": cap(tk.fix)} {
		if c > 4<<20 {
			t.Errorf("%s buffer keeps %d bytes", name, c)
		}
	}
}

func TestTokenize_determinism(t *testing.T) {
	msgs := [][]byte{[]byte(manyParts(50)), []byte(nestingBomb(4))}
	for _, f := range []string{"qp-latin1.eml", "b64-big5-html.eml", "rfc822-attached.eml", "hostile-mixed.eml"} {
		b, err := readTestdata(f)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, b)
	}
	a, b := New(Options{}), New(Options{})
	for i, m := range msgs {
		r1, err1 := a.Tokenize(bytes.NewReader(m))
		a.Tokenize(bytes.NewReader(msgs[(i+1)%len(msgs)])) // dirty the buffers
		r2, err2 := a.Tokenize(bytes.NewReader(m))
		r3, err3 := b.Tokenize(bytes.NewReader(m))
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatal(err1, err2, err3)
		}
		for _, r := range []*Result{r2, r3} {
			if fmt.Sprint(r1.Tokens) != fmt.Sprint(r.Tokens) || r1.Digest != r.Digest || fmt.Sprint(r1.Features) != fmt.Sprint(r.Features) {
				t.Fatalf("message %d: output differs between runs", i)
			}
		}
	}
}
