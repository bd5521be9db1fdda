package tokenizer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/cespare/xxhash/v2"
	"github.com/clipperhouse/uax29/v2/words"
	"github.com/sluicemail/sluice/internal/corpus"
)

// tokenize runs a fresh explaining tokenizer over msg.
func tokenize(tb testing.TB, opts Options, msg string) *Result {
	tb.Helper()
	opts.Explain = true
	res, err := New(opts).Tokenize(strings.NewReader(msg))
	if err != nil {
		tb.Fatalf("Tokenize: %v", err)
	}
	checkInvariants(tb, New(opts), res)
	return res
}

// checkInvariants asserts what must hold for every result.
func checkInvariants(tb testing.TB, t *Tokenizer, res *Result) {
	tb.Helper()
	o := t.Options()
	seen := make(map[uint64]bool, len(res.Tokens))
	meta := 0
	for i, tok := range res.Tokens {
		if seen[tok.Hash] {
			tb.Fatalf("token %d (%x) duplicated", i, tok.Hash)
		}
		seen[tok.Hash] = true
		if int(tok.Dist) >= o.Window {
			tb.Fatalf("token %d: dist %d >= window %d", i, tok.Dist, o.Window)
		}
		if tok.Kind > Meta {
			tb.Fatalf("token %d: kind %d", i, tok.Kind)
		}
		if tok.Kind == Meta {
			meta++
		}
	}
	if meta != res.MetaTokens || len(res.Tokens)-meta != res.BodyTokens {
		tb.Fatalf("counts: %d meta %d body, have %d/%d", res.MetaTokens, res.BodyTokens, meta, len(res.Tokens)-meta)
	}
	if res.Features.Words > o.MaxWords {
		tb.Fatalf("words %d > MaxWords %d", res.Features.Words, o.MaxWords)
	}
	// words, pairs, URL tokens and a bounded set of metatokens per part
	if max := o.MaxWords*o.Window + 2*maxURLTokens + 16*o.MaxParts + 64; len(res.Tokens) > max {
		tb.Fatalf("%d tokens > bound %d", len(res.Tokens), max)
	}
	if res.Features.Bytes > o.MaxBytes {
		tb.Fatalf("read %d bytes > MaxBytes %d", res.Features.Bytes, o.MaxBytes)
	}
	if res.Features.Parts > o.MaxParts || res.Features.Depth > o.MaxDepth {
		tb.Fatalf("parts %d depth %d over limits", res.Features.Parts, res.Features.Depth)
	}
	if res.Truncated != (res.TruncatedReason != "") {
		tb.Fatalf("Truncated %v with reason %q", res.Truncated, res.TruncatedReason)
	}
	if len(res.Problems) > maxProblems {
		tb.Fatalf("%d problems", len(res.Problems))
	}
	if o.Explain && len(res.Text) != len(res.Tokens) {
		tb.Fatalf("%d texts for %d tokens", len(res.Text), len(res.Tokens))
	}
}

// texts returns the Explain texts of res as a set.
func texts(res *Result) map[string]Token {
	m := make(map[string]Token, len(res.Text))
	for i, s := range res.Text {
		m[s] = res.Tokens[i]
	}
	return m
}

func TestXXH64MatchesReference(t *testing.T) {
	buf := make([]byte, 200)
	for i := range buf {
		buf[i] = byte(i*7 + 3)
	}
	for _, seed := range []uint64{0, 1, Seed, ^uint64(0)} {
		for n := 0; n <= len(buf); n++ {
			d := xxhash.NewWithSeed(seed)
			d.Write(buf[:n])
			if got, want := xxh64(buf[:n], seed), d.Sum64(); got != want {
				t.Fatalf("seed %x len %d: %x, want %x", seed, n, got, want)
			}
		}
	}
	if xxh64(nil, 0) != xxhash.Sum64(nil) {
		t.Fatal("empty input differs")
	}
}

func TestTokenize_words(t *testing.T) {
	tests := []struct {
		name    string
		msg     string
		want    []string // Explain texts that must appear
		notWant []string // and must not
	}{
		{"plain", "Subject: Free Money\n\nHello World, hello again.",
			[]string{"subject:free", "subject:money", "subject:free money", "hello", "world", "hello world", "world hello", "hello again", "again"},
			[]string{"free", ",", "."}},
		{"short text keeps its only pair", "Subject: x\n\nalpha beta", []string{"alpha beta", "alpha", "beta"}, nil},
		{"single word", "Subject: x\n\nlonely", []string{"lonely"}, nil},
		{"html visible text", "Content-Type: text/html\n\n<html><head><style>p{color:red}</style><script>var evil=1;</script></head>" +
			"<body><p>Get fr<b>ee</b> pills</p><!-- hidden words --><a href=\"http://www.Pills.example.co.uk/x?y\">click&nbsp;here</a>" +
			"<img src=\"https://img.tracker.example.com/p.gif\" alt=\"Buy now\"><br>caf&eacute; &#x41;lpha</body></html>",
			[]string{"get", "free", "pills", "get free", "get _ pills", "click", "click here", "url:www.pills.example.co.uk", "url:example.co.uk",
				"url:img.tracker.example.com", "url:example.com", "buy", "buy now", "café", "alpha"},
			[]string{"color", "evil", "var", "hidden", "words", "fr", "ee", "style", "href", "html"}},
		{"nfkc and case", "Subject: x\n\nＦＲＥＥ ﬁnance ÉCOLE Straße",
			[]string{"free", "finance", "école", "straße"}, []string{"ＦＲＥＥ", "ﬁnance"}},
		{"zero-width and soft hyphen", "Content-Type: text/plain; charset=utf-8\n\nfr\u200bee vi\u00adagra",
			[]string{"free", "viagra"}, []string{"fr", "ee", "vi"}},
		{"numbers ips ids", "Subject: x\n\ncall 555-1234 now 1,000,000 from 192.168.10.1 ref a1b2c3d4e5f6a7b8c9 ok",
			[]string{"<num:3>", "<num:4>", "<num:7>", "192.168.10.1", "<id:32>", "call <num:3>", "call _ <num:4>"}, []string{"555", "1,000,000"}},
		{"urls and emails", "Subject: x\n\nwrite to John.Doe@Example.COM or see http://user@evil.example.net:8080/a, www.shop.example.org.",
			[]string{"john.doe@example.com", "url:evil.example.net", "url:example.net", "url:www.shop.example.org", "url:example.org",
				"see url:example.net", "url:example.net url:example.org"},
			[]string{"http", "user", "8080", "www.shop.example.org"}},
		{"long words", "Subject: x\n\n" + strings.Repeat("a", 100) + " end", []string{"<long:128>", "end", "<long:128> end"}, nil},
		{"from display name", "From: \"Cheap Meds\" <x@y.example>\nSubject: hi\n\nbody",
			[]string{"from:cheap", "from:meds", "from:cheap meds", "subject:hi", "body"}, []string{"cheap", "meds"}},
		{"from comment form", "From: x@y.example (Jane Roe)\n\nbody", []string{"from:jane", "from:jane roe"}, nil},
		{"rfc2047 subject", "Subject: =?iso-8859-1?Q?caf=E9_cr=E8me?=\n\nbody", []string{"subject:café", "subject:café crème"}, nil},
		{"8-bit subject", "Subject: caf\xe9 cr\xe8me\n\nbody", []string{"subject:café", "subject:crème"}, nil},
		{"8-bit subject in declared charset", "Subject: \xc4\xe5\xed\xfc\xe3\xe8\nContent-Type: text/plain; charset=windows-1251\n\nbody",
			[]string{"subject:деньги"}, nil},
		{"currency", "Subject: x\n\nonly $ 99", []string{"$", "$ <num:2>", "only $"}, nil},
		{"base64 body", "Content-Transfer-Encoding: base64\n\n" + "SGVsbG8gYmFzZTY0IHdvcmxk\n", []string{"hello", "base64", "world", "#cte:base64"}, nil},
		{"qp latin1", "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nd=E9j=E0 vu, soft=\nbreak",
			[]string{"déjà", "vu", "softbreak"}, nil},
		{"lying latin1 label", "Content-Type: text/plain; charset=iso-8859-1\n\nna\xc3\xafve caf\xc3\xa9", []string{"naïve", "café"}, []string{"cafã"}},
		{"mbox from line", "From someone@example.com Thu Aug 22 13:17:22 2002\nSubject: hi\n\nbody", []string{"subject:hi", "body"}, nil},
		{"missing blank line", "Subject: hi\nthis line starts the body\n", []string{"subject:hi", "this line", "body"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tokenize(t, Options{}, tt.msg)
			got := texts(res)
			for _, w := range tt.want {
				if _, ok := got[w]; !ok {
					t.Errorf("missing %q", w)
				}
			}
			for _, w := range tt.notWant {
				if _, ok := got[w]; ok {
					t.Errorf("unexpected %q", w)
				}
			}
			if t.Failed() {
				t.Logf("texts: %q\nproblems: %q", res.Text, res.Problems)
			}
		})
	}
}

func TestTokenize_osb(t *testing.T) {
	msg := "Subject: x\n\nw1 w2 w3 w4 w5 w6 w7 w8"
	for window := 1; window <= MaxWindow; window++ {
		t.Run(fmt.Sprint(window), func(t *testing.T) {
			res := tokenize(t, Options{Window: window}, msg)
			got := texts(res)
			for i := 1; i <= 8; i++ {
				if tok := got[fmt.Sprintf("w%d", i)]; tok.Dist != 0 || tok.Kind != Body {
					t.Errorf("unigram w%d: %+v", i, tok)
				}
				for d := 1; d < MaxWindow && i+d <= 8; d++ {
					pair := fmt.Sprintf("w%d%sw%d", i, gaps[d], i+d)
					tok, ok := got[pair]
					if ok != (d < window) {
						t.Errorf("pair %q present=%v", pair, ok)
					}
					if ok && int(tok.Dist) != d {
						t.Errorf("pair %q dist %d", pair, tok.Dist)
					}
				}
			}
		})
	}
}

func TestTokenize_prefixChangesHash(t *testing.T) {
	res := tokenize(t, Options{}, "From: Free <a@b.example>\nSubject: free\n\nfree http://free/ #ct:text/plain")
	got := texts(res)
	hashes := map[uint64]string{}
	for _, k := range []string{"free", "subject:free", "from:free", "url:free"} {
		tok, ok := got[k]
		if !ok {
			t.Fatalf("missing %q in %q", k, res.Text)
		}
		if prev, dup := hashes[tok.Hash]; dup {
			t.Fatalf("%q and %q share a hash", k, prev)
		}
		hashes[tok.Hash] = k
	}
	if got["subject:free"].Kind != Header || got["url:free"].Kind != URL || got["#ct:text/plain"].Kind != Meta {
		t.Fatalf("kinds: %+v", got)
	}
}

func TestTokenize_dedup(t *testing.T) {
	res := tokenize(t, Options{Window: 5}, "Subject: x\n\n"+strings.Repeat("spam spam eggs ", 50))
	got := texts(res)
	for _, k := range []string{"spam", "eggs", "spam spam", "spam eggs", "eggs spam"} {
		if _, ok := got[k]; !ok {
			t.Errorf("missing %q", k)
		}
	}
	if got["spam eggs"].Dist != 1 || got["spam _ eggs"].Dist != 2 || got["spam _ _ spam"].Dist != 3 {
		t.Errorf("dists: %+v", got)
	}
	if res.BodyTokens > 20 {
		t.Errorf("%d body tokens for a 2-word vocabulary: %q", res.BodyTokens, res.Text)
	}
}

func TestTokenize_metatokens(t *testing.T) {
	msg := "From: a@b.example\nTo: c@d.example\nSubject: hi\nDate: Thu, 22 Aug 2002 13:17:22 +0200\n" +
		"Message-ID: <123@b.example>\nMIME-Version: 1.0\nX-Mailer: Microsoft Outlook Express 6.00.2600.0000\n" +
		"Received: from a by b\nReceived: from c by d\n" +
		"Content-Type: multipart/mixed; boundary=\"XX\"\n\npreamble\n--XX\nContent-Type: text/html; charset=\"UTF-8\"\n\n" +
		"<p>see <a href=http://x.example.com/>this</a></p>\n--XX\nContent-Type: application/octet-stream; name=\"setup.EXE\"\n" +
		"Content-Transfer-Encoding: base64\n\nTVqQAAMAAAAEAAAA\n--XX--\n"
	res := tokenize(t, Options{}, msg)
	got := texts(res)
	for _, k := range []string{"#msgid:ok", "#date:ok", "#mimever:ok", "#mailer:microsoft outlook express", "#hops:2",
		"#ct:multipart/mixed", "#ct:text/html", "#ct:application/octet-stream", "#nest:multipart/mixed>text/html",
		"#cs:utf-8", "#ext:exe", "#psize:application:5", "#parts:3", "#body:html-only", "#urls:1", "#attachments:1",
		"#tree:mixed(html,application/octet-stream)", "url:x.example.com", "url:example.com"} {
		tok, ok := got[k]
		if !ok {
			t.Errorf("missing %q", k)
			continue
		}
		if strings.HasPrefix(k, "#") && tok.Kind != Meta {
			t.Errorf("%q kind %v", k, tok.Kind)
		}
	}
	f := res.Features
	if f.Parts != 3 || f.HTMLParts != 1 || f.Attachments != 1 || !f.HTMLOnly || f.URLs != 1 || f.ReceivedHops != 2 || f.Depth != 1 {
		t.Errorf("features %+v", f)
	}
	if t.Failed() {
		t.Logf("%q", res.Text)
	}

	res = tokenize(t, Options{}, "Subject: x\nDate: yesterday\nMessage-ID: nope\n\nbody")
	got = texts(res)
	for _, k := range []string{"#msgid:bad", "#date:bad", "#mimever:missing", "#mailer:none", "#hops:0", "#body:plain-only"} {
		if _, ok := got[k]; !ok {
			t.Errorf("missing %q in %q", k, res.Text)
		}
	}
}

func TestNormMailer(t *testing.T) {
	tests := map[string]string{
		"Microsoft Outlook Express 6.00.2600.0000":                         "microsoft outlook express",
		"Mozilla/5.0 (X11; U; Linux i686; en-US; rv:1.0.1) Gecko/20020823": "mozilla",
		"Mutt/1.4i":                           "mutt",
		"QUALCOMM Windows Eudora Version 5.1": "qualcomm windows eudora version",
		"":                                    "none",
		"12345":                               "other",
		"Internet Mail Service (5.5.2653.19)": "internet mail service",
	}
	for in, want := range tests {
		if got := normMailer(in); got != want {
			t.Errorf("normMailer(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTokenize_digestIgnoresDelivery(t *testing.T) {
	body := "Subject: Cheap stuff\nFrom: Seller <s@x.example>\nContent-Type: text/plain; charset=iso-8859-1\n"
	a := "Received: from a by b; Thu, 22 Aug 2002 13:17:22 +0200\nDate: Thu, 22 Aug 2002 13:17:22 +0200\nMessage-ID: <1@x>\n" +
		body + "Content-Transfer-Encoding: 8bit\n\nCaf\xe9 au lait, http://x.example/buy\n"
	b := "Received: from c by d; Fri, 23 Aug 2002 10:00:00 +0000\nReceived: from e by f\nX-Spam-Status: No\nMessage-ID: <2@y>\n" +
		body + "Content-Transfer-Encoding: quoted-printable\n\nCaf=E9 au lait, http://x.example/buy\n"
	c := strings.Replace(a, "lait", "sucre", 1)
	ra, rb, rc := tokenize(t, Options{}, a), tokenize(t, Options{}, b), tokenize(t, Options{}, c)
	if ra.Digest != rb.Digest {
		t.Error("re-delivered message has another digest")
	}
	if ra.Digest == rc.Digest {
		t.Error("changed body keeps the digest")
	}
	if rw := tokenize(t, Options{Window: 2}, a); rw.Digest == ra.Digest {
		t.Error("digest does not depend on Params")
	}
}

func TestTokenize_notMessage(t *testing.T) {
	for _, in := range []string{"", "\n\n", "hello world\nno header here\n", "\x00\x01\x02binary", "From x Thu Aug 22 2002\n"} {
		_, err := New(Options{}).Tokenize(strings.NewReader(in))
		if !errors.Is(err, ErrNotMessage) || !IsNotMessage(err) {
			t.Errorf("%q: err = %v, want ErrNotMessage", in, err)
		}
	}
	if _, err := New(Options{}).Tokenize(strings.NewReader("Subject: only a header")); err != nil {
		t.Errorf("header without body: %v", err)
	}
}

func TestLooksLikeMessage(t *testing.T) {
	for in, want := range map[string]bool{
		"Subject: x\n\nbody": true, "From a@b Thu Aug 22 2002\nReceived: x\n": true, "X-A:b": true,
		"": false, "hello world\n": false, " Subject: x\n": false, "From a@b\n\nbody": false, "\x00\x01: x": false,
	} {
		if got := LooksLikeMessage([]byte(in)); got != want {
			t.Errorf("LooksLikeMessage(%q) = %v", in, got)
		}
		_, err := New(Options{}).Tokenize(strings.NewReader(in))
		if want == errors.Is(err, ErrNotMessage) {
			t.Errorf("%q: Tokenize err %v disagrees with LooksLikeMessage %v", in, err, want)
		}
	}
}

func TestTokenize_readError(t *testing.T) {
	boom := errors.New("boom")
	for _, r := range []io.Reader{
		iotest.ErrReader(boom),
		io.MultiReader(strings.NewReader("Subject: x\n\nsome body text "), iotest.ErrReader(boom)),
	} {
		_, err := New(Options{}).Tokenize(r)
		if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "tokenizer: ") {
			t.Errorf("err = %v, want wrapped boom", err)
		}
	}
	if _, err := New(Options{}).Tokenize(nil); err == nil {
		t.Error("nil reader accepted")
	}
	// A reader that returns data with io.EOF, or one byte at a time, is fine.
	msg := "Subject: x\n\nsome body text"
	for _, r := range []io.Reader{iotest.DataErrReader(strings.NewReader(msg)), iotest.OneByteReader(strings.NewReader(msg))} {
		res, err := New(Options{Explain: true}).Tokenize(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := texts(res)["body text"]; !ok {
			t.Errorf("%q", res.Text)
		}
	}
}

func TestTokenize_sampling(t *testing.T) {
	var b strings.Builder
	b.WriteString("Subject: x\n\n")
	for i := range 20000 {
		fmt.Fprintf(&b, "w%d ", i%3000)
	}
	opts := Options{MaxWordsPerPart: 1000}
	r1 := tokenize(t, opts, b.String())
	r2 := tokenize(t, opts, b.String())
	if !slices.Equal(r1.Tokens, r2.Tokens) {
		t.Fatal("sampling is not deterministic")
	}
	f := r1.Features
	if f.Words > 1000+1 || f.SampledOut == 0 || r1.Truncated {
		t.Fatalf("features %+v truncated %v", f, r1.Truncated)
	}
	// Kept words spread over the whole text, not only its start.
	if _, ok := texts(r1)["w2999"]; !ok && f.Words < 1000 {
		t.Log("last words not sampled (allowed, but unexpected)")
	}
	// The message budget truncates.
	r3 := tokenize(t, Options{MaxWords: 500}, b.String())
	if !r3.Truncated || r3.TruncatedReason != "max words" || r3.Features.Words != 500 {
		t.Fatalf("MaxWords: truncated %v %q words %d", r3.Truncated, r3.TruncatedReason, r3.Features.Words)
	}
}

func TestOptions(t *testing.T) {
	o := Options{}.withDefaults()
	if o.Window != DefaultWindow || o.MaxBytes != DefaultMaxBytes || o.MaxParts != DefaultMaxParts || o.MaxDepth != DefaultMaxDepth ||
		o.MaxWords != DefaultMaxWords || o.MaxWordsPerPart != DefaultMaxWordsPerPart || o.MaxTime != DefaultMaxTime {
		t.Fatalf("defaults %+v", o)
	}
	if o := (Options{Window: 99, MaxWords: 10}).withDefaults(); o.Window != MaxWindow || o.MaxWordsPerPart != 10 {
		t.Fatalf("clamping %+v", o)
	}
	if (Options{Window: 9}).Validate() == nil || (Options{Window: -1}).Validate() == nil || (Options{Window: 3}).Validate() != nil {
		t.Fatal("Validate")
	}
	p := New(Options{Window: 3}).Params()
	if p != (Params{Hash: "xxh64", Seed: Seed, Window: 3, Version: Version}) || p.String() == "" {
		t.Fatalf("params %+v", p)
	}
}

func TestTokenize_reuse(t *testing.T) {
	msgs := []string{
		"Subject: one\n\nfirst message text",
		"Content-Type: text/html\n\n<p>second <a href='http://b.example/'>msg</a></p>",
		"Subject: three\n\n" + strings.Repeat("many words here ", 3000),
	}
	tk := New(Options{Explain: true})
	for round := range 2 {
		for i, m := range msgs {
			got, err := tk.Tokenize(strings.NewReader(m))
			if err != nil {
				t.Fatal(err)
			}
			want := tokenize(t, Options{}, m)
			if !slices.Equal(got.Tokens, want.Tokens) || !slices.Equal(got.Text, want.Text) || got.Digest != want.Digest {
				t.Fatalf("round %d msg %d: reused tokenizer differs from a fresh one", round, i)
			}
		}
	}
	// Results do not alias the tokenizer's buffers.
	r1, _ := tk.Tokenize(strings.NewReader(msgs[0]))
	keep := slices.Clone(r1.Tokens)
	tk.Tokenize(strings.NewReader(msgs[2]))
	if !slices.Equal(keep, r1.Tokens) {
		t.Fatal("result changed by a later call")
	}
}

func TestCountBucket(t *testing.T) {
	for n, want := range map[int]string{0: "0", 4: "4", 5: "8", 8: "8", 9: "16", 1024: "1024", 5000: "many"} {
		if got := countBucket(n); got != want {
			t.Errorf("countBucket(%d) = %q, want %q", n, got, want)
		}
	}
	_ = bytes.MinRead
}

// TestNextWordMatchesUAX29 checks the ASCII fast path of nextWord against
// plain UAX #29 segmentation.
func TestNextWordMatchesUAX29(t *testing.T) {
	inputs := []string{
		"Hello, world. It's 3.14 o'clock: a_b c__ __ $5 e.g. x;y 1,000 end",
		"don't stop\nnew line\ttab (paren) [br] {c} \"q\" a.b.c 192.168.0.1 mail@example.com http://x.y/z?q=1",
		"café naïve 東京 ＦＲＥＥ e\u0301 a\u200bb x\u00ady Ünïcödé, 'quoted' ...dots... --dash-- a-b _x_ x_ _",
		"mixed9digits 9x 24x7 a1b2 'a 'a' a' .5 5. ,5 5, :a a: ;x x; ''a a'' a..b a::b .\u0301x -\u200dy",
	}
	// Add the fixtures, raw.
	for _, f := range []string{"qp-latin1.eml", "rfc822-attached.eml", "b64-utf8-html.eml", "hostile-mixed.eml"} {
		b, err := readTestdata(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, string(b))
	}
	tk := New(Options{})
	for _, in := range inputs {
		compareSegmentation(t, tk, []byte(in))
	}
}

// TestNextWordMatchesUAX29_corpus runs the same check over every raw
// message of the public corpus.
func TestNextWordMatchesUAX29_corpus(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	p := corpus.Require(t)
	tk := New(Options{})
	err := corpus.Walk(p, func(m corpus.Message) error {
		compareSegmentation(t, tk, m.Bytes)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func compareSegmentation(t *testing.T, tk *Tokenizer, text []byte) {
	t.Helper()
	{
		var fast, slow []string
		for pos := 0; ; {
			s, e := tk.nextWord(text, pos)
			if s < 0 {
				break
			}
			fast = append(fast, string(text[s:e]))
			pos = e
		}
		it := words.FromBytes(text)
		for it.Next() {
			if isWordSegment(it.Value()) {
				slow = append(slow, string(it.Value()))
			}
		}
		if !slices.Equal(fast, slow) {
			for i := range min(len(fast), len(slow)) {
				if fast[i] != slow[i] {
					t.Fatalf("word %d: fast %q, uax29 %q", i, fast[i], slow[i])
				}
			}
			t.Fatalf("%d words, uax29 %d", len(fast), len(slow))
		}
	}
}

func TestParseContentType(t *testing.T) {
	tests := []struct {
		in, deflt, mt string
		params        map[string]string
	}{
		{"", "text/plain", "text/plain", nil},
		{"Text/HTML; Charset=\"UTF-8\"", "text/plain", "text/html", map[string]string{"charset": "UTF-8"}},
		{"multipart/mixed; boundary=\"a b\"; junk", "text/plain", "multipart/mixed", map[string]string{"boundary": "a b"}},
		{"multipart/alternative; boundary=----=_X; charset=us-ascii; x=\"", "text/plain", "multipart/alternative",
			map[string]string{"boundary": "----=_X", "charset": "us-ascii"}},
		{"text; charset=iso-8859-1", "text/plain", "text/plain", map[string]string{"charset": "iso-8859-1"}},
		{"gar bage", "text/plain", "text/plain", nil},
		{"application/octet-stream; name=\"x.exe\"", "text/plain", "application/octet-stream", map[string]string{"name": "x.exe"}},
		{"attachment; filename=report.PDF; size=12", "", "attachment", map[string]string{"filename": "report.PDF"}},
	}
	for _, tt := range tests {
		mt, params := parseContentType(tt.in, tt.deflt)
		if mt != tt.mt {
			t.Errorf("%q: type %q, want %q", tt.in, mt, tt.mt)
		}
		for k, v := range tt.params {
			if params[k] != v {
				t.Errorf("%q: %s=%q, want %q (%v)", tt.in, k, params[k], v, params)
			}
		}
	}
}

func TestTokenize_attachments(t *testing.T) {
	msg := "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nsee attached\n" +
		"--b\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=\"=?utf-8?Q?R=C3=A9sum=C3=A9.PDF?=\"\n\nJVBERi0=\n" +
		"--b\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=noext\n\nxx\n" +
		"--b\nContent-Type: application/octet-stream; name=\"a.0123456789\"\n\nxx\n" +
		"--b\nContent-Type: text/plain; name=notes.txt\n\nnotes text\n--b--\n"
	res := tokenize(t, Options{}, msg)
	got := texts(res)
	for _, k := range []string{"#ext:pdf", "#ext:none", "#ext:bad", "#ext:txt", "notes text", "see attached", "#attachments:4"} {
		if _, ok := got[k]; !ok {
			t.Errorf("missing %q", k)
		}
	}
	if res.Features.Attachments != 4 || res.Features.TextParts != 2 {
		t.Errorf("features %+v", res.Features)
	}
	if t.Failed() {
		t.Logf("%q", res.Text)
	}
}

func TestTokenize_charsets(t *testing.T) {
	tests := []struct {
		name, msg string
		want      []string
		problem   string
	}{
		{"mostly utf-8 with a stray byte", "Content-Type: text/plain; charset=utf-8\n\ncafé naïve \xff word",
			[]string{"café", "naïve", "word"}, "invalid UTF-8 replaced"},
		{"latin-1 labelled utf-8", "Content-Type: text/plain; charset=utf-8\n\ncaf\xe9 cr\xe8me",
			[]string{"café", "crème"}, `charset "utf-8" lies: read as windows-1252`},
		{"koi8-r", "Content-Type: text/plain; charset=koi8-r\n\n\xd0\xd2\xc9\xd7\xc5\xd4", []string{"привет", "#cs:koi8-r"}, ""},
		{"shift_jis", "Content-Type: text/plain; charset=shift_jis\n\n\x93\xfa\x96\x7b", []string{"日", "本", "日 本"}, ""},
		{"misspelt big5 label", "Content-Type: text/plain; charset=chinesebig5\n\n\xa4\xa4\xa4\xe5", []string{"中", "文", "#cs:big5"}, ""},
		{"label that says nothing", "Content-Type: text/plain; charset=unknown-8bit\n\nplain", []string{"plain", "#cs:none"}, ""},
		{"rfc2047 unknown charset", "Subject: =?x-nope?Q?abc?=\n\nbody", []string{"body"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tokenize(t, Options{}, tt.msg)
			got := texts(res)
			for _, w := range tt.want {
				if _, ok := got[w]; !ok {
					t.Errorf("missing %q in %q", w, res.Text)
				}
			}
			if tt.problem != "" && !slices.Contains(res.Problems, tt.problem) {
				t.Errorf("problems %q, want %q", res.Problems, tt.problem)
			}
		})
	}
}
