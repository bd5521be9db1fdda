package tokenizer

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/internal/corpus"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// formatResult is the golden file format: a header with Params and digest,
// then one token per line: hash, distance, kind, Explain text.
func formatResult(p Params, res *Result) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# params: %s\n# digest: %x\n# truncated: %q\n# problems: %q\n", p, res.Digest, res.TruncatedReason, res.Problems)
	for i, tok := range res.Tokens {
		fmt.Fprintf(&b, "%016x %d %-6s %s\n", tok.Hash, tok.Dist, tok.Kind, res.Text[i])
	}
	return b.Bytes()
}

// TestGolden guards Version: if this fails after an intended change, run
// with -update and review the diff: bump Version when existing lines
// changed or went away; lines only added (new tokens) keep it.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.eml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			tk := New(Options{Explain: true})
			res, err := tk.Tokenize(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			checkInvariants(t, tk, res)
			got := formatResult(tk.Params(), res)
			golden := strings.TrimSuffix(f, ".eml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(got, want) {
				gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
				for i := 0; i < len(gl) || i < len(wl); i++ {
					var g, w string
					if i < len(gl) {
						g = gl[i]
					}
					if i < len(wl) {
						w = wl[i]
					}
					if g != w {
						t.Fatalf("%s differs at line %d:\n got: %s\nwant: %s\n(run with -update; bump Version unless tokens were only added)", golden, i+1, g, w)
					}
				}
			}
		})
	}
}

// TestCorpusFixtures checks concrete words of real corpus messages.
func TestCorpusFixtures(t *testing.T) {
	tests := []struct {
		file     string
		want     []string
		problems bool
	}{
		{"b64-utf8-html.eml", []string{"subject:광", "subject:이멜리스트", "이멜리스트", "팝니다", "4만원에 팝니다", "techtoy@naver.com", "#cte:base64", "#cs:utf-8", "#ct:text/html", "#body:html-only"}, false},
		{"b64-big5-html.eml", []string{"subject:不", "subject:後 悔", "烏", "烏 鴉", "#cs:big5", "#cte:base64", "url:kimo.com.tw", "#tree:related(alternative(html))"}, false},
		{"qp-latin1.eml", []string{"préférence", "métisse", "séduite", "musclé", "rêver", "être", "qu'abonné", "de préférence", "subject:rencontre", "#cte:quoted-printable", "#cs:iso-8859-1", "#body:plain+html"}, false},
		{"rfc822-attached.eml", []string{"eyecandy", "#ct:message/rfc822", "#nest:multipart/mixed>message/rfc822", "#nest:message/rfc822>text/plain", "thinice", "url:dudex.net", "#tree:mixed(plain,rfc822(plain))"}, false},
		{"malformed-boundary.eml", []string{"inkjet", "cartridges", "inkjet cartridges", "unsubscribe", "url:inkjetrus.com", "#bad:mime"}, true},
		{"missing-final-boundary.eml", []string{"perscription", "subject:drugstore", "url:quickrxmeds.com", "#bad:mime"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			res := tokenize(t, Options{}, string(raw))
			got := texts(res)
			for _, w := range tt.want {
				if _, ok := got[w]; !ok {
					t.Errorf("missing %q", w)
				}
			}
			if (len(res.Problems) > 0) != tt.problems {
				t.Errorf("problems %q", res.Problems)
			}
			if res.Truncated {
				t.Errorf("truncated: %s", res.TruncatedReason)
			}
			if t.Failed() {
				t.Logf("%q", res.Text)
			}
		})
	}
}

func readTestdata(name string) ([]byte, error) { return os.ReadFile(filepath.Join("testdata", name)) }

// TestCorpus_all tokenizes every message of the public corpus: no error,
// no truncation, invariants hold, and almost every message has words.
func TestCorpus_all(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	p := corpus.Require(t)
	tk := New(Options{})
	n, empty := 0, 0
	err := corpus.Walk(p, func(m corpus.Message) error {
		n++
		res, err := tk.Tokenize(bytes.NewReader(m.Bytes))
		if err != nil {
			t.Errorf("%s: %v", m.Name, err)
			return nil
		}
		checkInvariants(t, tk, res)
		if res.Truncated {
			t.Errorf("%s: truncated (%s)", m.Name, res.TruncatedReason)
		}
		if res.Features.Words == 0 {
			empty++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 6000 || empty > n/100 {
		t.Errorf("%d messages, %d without words", n, empty)
	}
	t.Logf("%d messages, %d without words", n, empty)
}
