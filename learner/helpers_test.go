package learner

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/tokenizer"
)

// testDaemon is a running Daemon on a fresh statfile; everything is
// stopped, closed and checked when the test ends.
type testDaemon struct {
	*Daemon
	w    *mmapstore.Writer
	path string
	reg  *prometheus.Registry
	// stopped stops Run and checks the statfile; nil once done.
	stopped func(t *testing.T)
}

func storeParams() mmapstore.Params {
	p := tokenizer.New(tokenizer.Options{}).Params()
	return mmapstore.Params{Hash: p.Hash, Seed: p.Seed, Window: p.Window, Version: p.Version}
}

func startDaemon(t *testing.T, opts Options, sync bool) *testDaemon {
	t.Helper()
	return startDaemonWith(t, opts, sync, nil)
}

// startDaemonWith is startDaemon with before called on the daemon
// before Run.
func startDaemonWith(t *testing.T, opts Options, sync bool, before func(*Daemon)) *testDaemon {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bayes.statfile")
	w, err := mmapstore.OpenWriter(path, &mmapstore.Options{Params: storeParams(), InitialSlots: 1 << 12, NoSync: !sync})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(reg)
	}
	d := New(w, opts)
	if before != nil {
		before(d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	td := &testDaemon{Daemon: d, w: w, path: path, reg: reg}
	td.stopped = func(t *testing.T) {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := w.Close(); err != nil {
			t.Error(err)
		}
		if err := mmapstore.Check(path); err != nil {
			t.Errorf("statfile fails its check: %v", err)
		}
	}
	t.Cleanup(func() { td.stop(t) })
	return td
}

// stop stops the daemon and checks its statfile, once.
func (td *testDaemon) stop(t *testing.T) {
	if f := td.stopped; f != nil {
		td.stopped = nil
		f(t)
	}
}

func (td *testDaemon) totals(t *testing.T, ns mmapstore.Namespace) mmapstore.Totals {
	t.Helper()
	tot, err := td.w.Lookup(ns, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tot
}

// counter sums the samples of a metric family whose labels include want.
func (td *testDaemon) counter(t *testing.T, name string, want map[string]string) float64 {
	t.Helper()
	mfs, err := td.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for k, v := range want {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == k && lp.GetValue() == v {
						found = true
					}
				}
				if !found {
					continue metrics
				}
			}
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

// msg is a small message; distinct ids give distinct learn cache keys.
func msg(id int, words string) []byte {
	return fmt.Appendf(nil, "From: a@example.org\r\nTo: b@example.org\r\nSubject: message %d\r\nMessage-ID: <%d@x>\r\n\r\n%s number%d\r\n", id, id, words, id)
}

func spam(id int) []byte {
	return msg(id, strings.Repeat("cheap pills casino winner prize offer ", 3))
}

func ham(id int) []byte {
	return msg(id, strings.Repeat("meeting agenda kernel patch review thursday ", 3))
}

func mustLearn(t *testing.T, d *Daemon, label Label, m []byte, user string, want learn.Outcome) {
	t.Helper()
	out, err := d.Learn(context.Background(), &Request{Label: label, User: user, Source: "test", Message: m})
	if err != nil || out != want {
		t.Fatalf("learn %v: %v %v, want %v", label, out, err, want)
	}
}
