package tokenizer

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzTokenize feeds arbitrary bytes: no panic, no hang, limits hold, and
// the output is deterministic.
// Run: go test -run XXX -fuzz FuzzTokenize -fuzztime 60s ./tokenizer
func FuzzTokenize(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.eml")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"", "Subject: x\n\nbody", "Content-Type: multipart/mixed; boundary=a\n\n--a\n\nx\n--a--",
		"Content-Type: text/html\n\n<a href='http://x.y/'>z</a><script>", "Content-Transfer-Encoding: base64\n\n====",
		"Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogeAoKeQ==",
	} {
		f.Add([]byte(s))
	}
	small := Options{MaxBytes: 1 << 16, MaxParts: 20, MaxDepth: 4, MaxWords: 300, MaxWordsPerPart: 100, MaxTextBytes: 1 << 14, MaxLineBytes: 1 << 10}
	f.Fuzz(func(t *testing.T, msg []byte) {
		for _, opts := range []Options{{}, small} {
			tk := New(opts)
			res, err := tk.Tokenize(bytes.NewReader(msg))
			if err != nil {
				if !errors.Is(err, ErrNotMessage) {
					t.Fatalf("unexpected error %v", err)
				}
				continue
			}
			checkInvariants(t, tk, res)
			if res.Features.Bytes > int64(len(msg)) {
				t.Fatalf("read %d of %d bytes", res.Features.Bytes, len(msg))
			}
			again, err := tk.Tokenize(bytes.NewReader(msg))
			if err != nil || len(again.Tokens) != len(res.Tokens) || again.Digest != res.Digest {
				if res.TruncatedReason != "max time" && again.TruncatedReason != "max time" {
					t.Fatalf("not deterministic: %v", err)
				}
			}
		}
	})
}
