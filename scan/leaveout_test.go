package scan

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/tokenizer"
)

// mixedMessage is message i of a corpus whose classes share words: most
// words come from the class's pool, some from the other's, so tokens have
// counts in both classes and the verdicts are not all certain.
func mixedMessage(i int, spam bool) string {
	rng := rand.New(rand.NewPCG(uint64(i), 7))
	own, other := hamWords, spamWords
	subject := "notes"
	if spam {
		own, other, subject = spamWords, hamWords, "offer"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From: sender%d@example.org\r\nTo: rcpt@example.org\r\nSubject: %s %s\r\nMessage-ID: <%d@example.org>\r\n\r\n",
		i%7, subject, own[rng.IntN(len(own))], i)
	for range 30 + rng.IntN(30) {
		pool := own
		if rng.IntN(4) == 0 {
			pool = other
		}
		b.WriteString(pool[rng.IntN(len(pool))])
		b.WriteByte(' ')
	}
	fmt.Fprintf(&b, "\r\nref%c%c\r\n", 'a'+rune(i%26), 'a'+rune(i/26%26)) // a word few messages share
	return b.String()
}

func openStatfile(t *testing.T, name string) *mmapstore.Writer {
	t.Helper()
	p := tokenizer.New(tokenizer.Options{}).Params()
	w, err := mmapstore.OpenWriter(filepath.Join(t.TempDir(), name), &mmapstore.Options{
		Params: mmapstore.Params{Hash: p.Hash, Seed: p.Seed, Window: p.Window, Version: p.Version}, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// A message scanned with Request.LeaveOut against statistics that learned
// it gets exactly the verdict of statistics that learned every message
// but it: the same score, probability, log-odds and evidence, to the bit.
func TestScanLeaveOutEqualsStatisticsWithoutTheMessage(t *testing.T) {
	type msg struct {
		text string
		spam bool
	}
	corpus := func(nSpam, nHam int) []msg {
		var out []msg
		for i := range max(nSpam, nHam) {
			if i < nSpam {
				out = append(out, msg{mixedMessage(2*i, true), true})
			}
			if i < nHam {
				out = append(out, msg{mixedMessage(2*i+1, false), false})
			}
		}
		return out
	}
	tests := []struct {
		name         string
		nSpam, nHam  int
		leave        []int // indexes into the corpus
		wantSilentAt int   // index whose verdict must be silent (-1: none)
	}{
		{"spam and ham of a larger corpus", 40, 60, []int{0, 1, 2, 3, 50, 99}, -1},
		// 10 spams: leaving one out leaves 9 < min_learns, and Bayes falls
		// silent exactly as a statfile of 9 spams does.
		{"a class at min_learns", 10, 30, []int{0, 1}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs := corpus(tt.nSpam, tt.nHam)
			learnAll := func(w *mmapstore.Writer, skip int) {
				l := learn.New(w, learn.Options{})
				for i, m := range msgs {
					if i == skip {
						continue
					}
					label := learn.Ham
					if m.spam {
						label = learn.Spam
					}
					if out, err := l.Learn(strings.NewReader(m.text), label, ""); err != nil || out != learn.Learned {
						t.Fatalf("learn %d: %v %v", i, out, err)
					}
				}
			}
			all := openStatfile(t, "all.statfile")
			learnAll(all, -1)
			sAll := New(all, opts())
			for _, k := range tt.leave {
				without := openStatfile(t, fmt.Sprintf("without%d.statfile", k))
				learnAll(without, k)
				class := mmapstore.Ham
				if msgs[k].spam {
					class = mmapstore.Spam
				}
				got, err := sAll.Scan(context.Background(), strings.NewReader(msgs[k].text), Request{LeaveOut: class, Explain: true})
				if err != nil {
					t.Fatal(err)
				}
				want, err := New(without, opts()).Scan(context.Background(), strings.NewReader(msgs[k].text), Request{Explain: true})
				if err != nil {
					t.Fatal(err)
				}
				if got.Score != want.Score || got.Prob != want.Prob || got.LogOdds != want.LogOdds ||
					got.Evidence != want.Evidence || got.Silent != want.Silent || !slices.Equal(got.Symbols, want.Symbols) ||
					!slices.Equal(got.Top, want.Top) {
					t.Fatalf("message %d left out: %+v\nwant (statfile without it) %+v", k, got, want)
				}
				if (k == tt.wantSilentAt) != (got.Silent != "") {
					t.Fatalf("message %d: silent %q", k, got.Silent)
				}
				full, err := sAll.Scan(context.Background(), strings.NewReader(msgs[k].text), Request{})
				if err != nil {
					t.Fatal(err)
				}
				if full.Silent == "" && got.Silent == "" && !(full.LogOdds*classSign(msgs[k].spam) > got.LogOdds*classSign(msgs[k].spam)) {
					t.Fatalf("message %d: learned it scores %v, left out %v: learning it should have moved it toward its class", k, full.LogOdds, got.LogOdds)
				}
			}
		})
	}
}

func classSign(spam bool) float64 {
	if spam {
		return 1
	}
	return -1
}
