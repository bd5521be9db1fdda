package learn

import (
	"strings"
	"testing"

	"github.com/sluicemail/sluice/mmapstore"
)

func TestForget(t *testing.T) {
	l, w := newLearner(t, Options{UsersEnabled: true})
	m := msg("forget me", "an offer you will want to forget about soon")
	if out, err := l.Forget(strings.NewReader(m), ""); err != nil || out != NotLearned {
		t.Fatalf("forget before learning: %v %v", out, err)
	}
	if out, err := l.Learn(strings.NewReader(m), Spam, "carol@example.org"); err != nil || out != Learned {
		t.Fatalf("learn: %v %v", out, err)
	}
	if out, err := l.Forget(strings.NewReader(m), "carol@example.org"); err != nil || out != Forgotten {
		t.Fatalf("forget: %v %v", out, err)
	}
	if tot := totals(t, w, mmapstore.Shared); tot != (mmapstore.Totals{}) {
		t.Fatalf("shared totals after forget %+v", tot)
	}
	if tot := totals(t, w, mmapstore.NamespaceOf("user:carol@example.org")); tot != (mmapstore.Totals{}) {
		t.Fatalf("user totals after forget %+v", tot)
	}
	if sp, hm := counts(t, l, w, m); sp != 0 || hm != 0 {
		t.Fatalf("token counts after forget: %d %d", sp, hm)
	}
	if out, err := l.Forget(strings.NewReader(m), "carol@example.org"); err != nil || out != NotLearned {
		t.Fatalf("second forget: %v %v", out, err)
	}
	// The cache entry is gone: learning again counts again.
	if out, err := l.Learn(strings.NewReader(m), Ham, "carol@example.org"); err != nil || out != Learned {
		t.Fatalf("learn after forget: %v %v", out, err)
	}
}

func TestBatchTokensAndForget(t *testing.T) {
	l, w := newLearner(t, Options{})
	m := msg("batch", "a message learned and forgotten in one batch")
	res, err := l.tok.Tokenize(strings.NewReader(m))
	if err != nil {
		t.Fatal(err)
	}
	b := l.NewBatch(100)
	if out, err := b.AddTokens(res, Spam, ""); err != nil || out != Learned {
		t.Fatalf("add: %v %v", out, err)
	}
	if out, err := b.ForgetTokens(res, ""); err != nil || out != Forgotten {
		t.Fatalf("forget in batch: %v %v", out, err)
	}
	if out, err := b.AddTokens(res, Ham, ""); err != nil || out != Learned {
		t.Fatalf("learn after forget in batch: %v %v", out, err)
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if tot := totals(t, w, mmapstore.Shared); tot.Spam != 0 || tot.Ham != 1 {
		t.Fatalf("totals %+v, want ham 1", tot)
	}
}
