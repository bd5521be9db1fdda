package scan

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/sluicemail/sluice/bayes"
)

func TestScanOrdered(t *testing.T) {
	f := newFixture(t)
	f.learn(t, 30, spamWords, hamWords, "")
	s := New(f.w, opts())
	const n = 40
	walk := func(yield func(string, []byte) error) error {
		for i := range n {
			pool := spamWords
			if i%2 == 1 {
				pool = hamWords
			}
			if err := yield(fmt.Sprint(i), []byte(message(1000+i, "m", pool))); err != nil {
				return err
			}
		}
		return nil
	}
	stop := errors.New("stop")
	tests := []struct {
		name    string
		workers int
		stopAt  int // emit fails at this message; -1 never
		want    int // messages emitted
	}{
		{"one worker", 1, -1, n},
		{"many workers", 8, -1, n},
		{"zero means one", 0, -1, n},
		{"emit stops", 4, 10, 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := 0
			err := s.ScanOrdered(context.Background(), tt.workers, Request{}, walk, func(name string, v *Verdict, err error) error {
				if err != nil {
					return err
				}
				if name != fmt.Sprint(got) {
					return fmt.Errorf("message %s emitted in place %d", name, got)
				}
				want := bayes.SymbolSpam
				if got%2 == 1 {
					want = bayes.SymbolHam
				}
				if len(v.Symbols) == 0 || v.Symbols[0].Name != want {
					return fmt.Errorf("message %s: %+v, want %s", name, v.Symbols, want)
				}
				got++
				if got-1 == tt.stopAt {
					return stop
				}
				return nil
			})
			if tt.stopAt >= 0 && !errors.Is(err, stop) || tt.stopAt < 0 && err != nil {
				t.Fatalf("error %v", err)
			}
			if got != tt.want {
				t.Fatalf("%d emitted, want %d", got, tt.want)
			}
		})
	}
}
