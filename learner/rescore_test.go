package learner

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/sluicemail/sluice/bayes"
	"github.com/sluicemail/sluice/feed"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/scan"
)

// TestNeuralRescoresLeaveOneOut: on a young site every message is
// scanned before anything is learned (Bayes silent), then a user learns
// it. At training time each sample an explicit learn labelled gets the
// Bayes inputs of its leave-one-out verdict against the statfile as it is
// then, exactly those of scanning it with scan.Request.LeaveOut; the
// pools keep the inputs as scanned, and the tokens survive a restart. A
// sample labelled without tokens keeps its inputs.
func TestNeuralRescoresLeaveOneOut(t *testing.T) {
	ctx := context.Background()
	opts := testNeural(t.TempDir())
	opts.PoolSize = 100
	var sc *scan.Scanner
	d := startDaemon(t, Options{Neural: opts, NewRescorer: func(w *mmapstore.Writer) Rescorer {
		sc = scan.New(w, scan.Options{Bayes: bayes.DefaultConfig()})
		return sc
	}}, false)
	tr := d.nets[""]
	type message struct {
		data []byte
		spam bool
	}
	var msgs []message
	for i := range 20 {
		msgs = append(msgs, message{spam(i), true}, message{ham(100 + i), false})
	}
	byDigest := make(map[[32]byte]message)
	for _, m := range msgs {
		v, err := sc.Scan(ctx, bytes.NewReader(m.data), scan.Request{KeepInputs: true})
		if err != nil {
			t.Fatal(err)
		}
		if v.Silent == "" {
			t.Fatalf("Bayes spoke before any learn: %+v", v)
		}
		byDigest[v.Digest] = m
		tr.observe(&feed.Record{Version: feed.Version, Time: time.Now(), Action: "no action", Score: v.Score, Digest: feed.Digest(v.Digest),
			Inputs: &feed.Inputs{Set: sc.InputSet(), Names: sc.InputNames(), Values: v.Inputs}})
	}
	for _, m := range msgs[:len(msgs)-1] {
		label := Ham
		if m.spam {
			label = Spam
		}
		mustLearn(t, d.Daemon, label, m.data, "", learn.Learned)
	}
	var last [32]byte
	for dg, m := range byDigest {
		if bytes.Equal(m.data, msgs[len(msgs)-1].data) {
			last = dg
		}
	}
	tr.label(last, false, nil) // labelled, its tokens unknown

	check := func(tr *trainer) {
		t.Helper()
		p := tr.snapshot()
		pooled := append(slices.Clone(p.Spam), p.Ham...)
		samples := poolSamples(p.Spam, p.Ham)
		if len(samples) != len(msgs) {
			t.Fatalf("%d samples for %d messages", len(samples), len(msgs))
		}
		if n := tr.rescore(ctx, p.Names, pooled, samples); n != len(msgs)-1 {
			t.Fatalf("rescored %d samples, want %d", n, len(msgs)-1)
		}
		after := tr.snapshot()
		for i, s := range append(after.Spam, after.Ham...) {
			if !slices.Equal(s.X, pooled[i].X) {
				t.Fatalf("rescoring changed pool sample %d", i)
			}
		}
		for i, s := range samples {
			m := byDigest[pooled[i].Digest]
			if pooled[i].Digest == last {
				if !slices.Equal(s.X, pooled[i].X) {
					t.Fatalf("a sample without tokens was rescored: %v -> %v", pooled[i].X, s.X)
				}
				continue
			}
			class := mmapstore.Ham
			if m.spam {
				class = mmapstore.Spam
			}
			want, err := sc.Scan(ctx, bytes.NewReader(m.data), scan.Request{KeepInputs: true, LeaveOut: class})
			if err != nil {
				t.Fatal(err)
			}
			if want.Silent != "" || !slices.Equal(s.X, want.Inputs) {
				t.Fatalf("sample %d: inputs %v, want the leave-one-out scan's %v (silent %q)", i, s.X, want.Inputs, want.Silent)
			}
			if slices.Equal(s.X, pooled[i].X) {
				t.Fatalf("sample %d kept the inputs of its scan before any learn", i)
			}
		}
	}
	check(tr)
	done, cancel := context.WithCancel(ctx)
	cancel()
	if p := tr.snapshot(); tr.rescore(done, p.Names, append(p.Spam, p.Ham...), poolSamples(p.Spam, p.Ham)) != 0 {
		t.Fatal("rescored after its context was done")
	}
	if err := tr.save(); err != nil {
		t.Fatal(err)
	}
	ropts := opts
	ropts.Rescorer = sc
	check(newTrainer(ropts, slog.New(slog.DiscardHandler), NewMetrics(nil)))
}
