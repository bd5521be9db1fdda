package cluster

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
)

// BenchmarkCluster measures, on three embedded brokers (R3, sync
// always) on loopback: the latency from Publish to applied on every
// host (p50, p99, paced learns from random hosts), the rate at which a
// host that was stopped catches up (events applied per second), and the
// stream's bytes per event for events of 732 hashes (the public
// corpus's train-split average). b.N is not used: each run is one
// measurement of fixed size.
func BenchmarkCluster(b *testing.B) {
	const paced, burst, hashes = 200, 2000, 732
	for b.Loop() {
		h := newHarness(b, 3, nil)
		for i := range h.hosts { // warm up: every node has its stream and consumer
			h.randomLearn(i)
		}
		h.quiesce(time.Minute)
		at := make([]map[string]time.Time, 3)
		for i, ho := range h.hosts {
			ho.model.mu.Lock()
			at[i] = map[string]time.Time{}
			ho.model.appliedAt = at[i]
			ho.model.mu.Unlock()
		}
		r := rand.New(rand.NewPCG(h.seed, 3))
		event := func(id int) learn.Event {
			ev := learn.Event{Label: learn.Spam, Source: "dovecot", Params: mmapstore.Params{Hash: "xxh64", Window: 3, Version: 1}}
			ev.Digest[0], ev.Digest[1] = byte(id), byte(id>>8)
			for range hashes {
				ev.Hashes = append(ev.Hashes, r.Uint64())
			}
			return ev
		}
		published := map[string]time.Time{}
		for k := range paced {
			i := r.IntN(3)
			ev := event(k)
			t0 := time.Now()
			seq, err := h.hosts[i].node.Publish(ev)
			if err != nil {
				b.Fatal(err)
			}
			published[fmt.Sprintf("%s/%d", hostName(i), seq)] = t0
			time.Sleep(5 * time.Millisecond) // pacing: the load is paced learns, not a burst
		}
		stream := h.quiesce(2 * time.Minute)
		stored := map[string]time.Time{}
		for _, se := range stream {
			stored[fmt.Sprintf("%s/%d", se.ev.Origin, se.ev.Seq)] = se.time
		}
		var lat, commit []time.Duration
		for key, t0 := range published {
			commit = append(commit, stored[key].Sub(t0))
			var last time.Time
			for i, ho := range h.hosts {
				ho.model.mu.Lock()
				t1, ok := at[i][key]
				ho.model.mu.Unlock()
				if !ok {
					b.Fatalf("%s never applied %s", ho.name, key)
				}
				if t1.After(last) {
					last = t1
				}
			}
			lat = append(lat, last.Sub(t0))
		}
		slices.Sort(lat)
		slices.Sort(commit)
		p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
		b.Logf("publish to stored in the stream (leader's timestamp): p50 %v p99 %v", commit[len(commit)/2], commit[len(commit)*99/100])

		// Catch-up: host 3 stopped while hosts 1 and 2 publish a burst.
		h.stopHost(2)
		burstStart := time.Now()
		for k := range burst {
			if _, err := h.hosts[k%2].node.Publish(event(paced + k)); err != nil {
				b.Fatal(err)
			}
		}
		h.waitFor(5*time.Minute, "the burst is in the stream", func() bool {
			return h.hosts[0].node.Status().Outbox == 0 && h.hosts[1].node.Status().Outbox == 0
		})
		pubRate := float64(burst) / time.Since(burstStart).Seconds()
		before, _ := h.hosts[2].model.Cursor()
		last, _ := h.hosts[0].model.Cursor()
		start := time.Now()
		h.startHost(2)
		h.waitFor(5*time.Minute, "mx3 catches up", func() bool { c, _ := h.hosts[2].model.Cursor(); return c == last })
		rate := float64(last-before) / time.Since(start).Seconds()
		stream = h.quiesce(5 * time.Minute)
		after := last

		js, nc := h.js()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s, err := js.Stream(ctx, StreamName)
		if err != nil {
			b.Fatal(err)
		}
		info, err := s.Info(ctx)
		cancel()
		nc.Close()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
		b.ReportMetric(rate, "catchup-events/s")
		b.ReportMetric(pubRate, "burst-published-events/s")
		b.ReportMetric(float64(info.State.Bytes)/float64(info.State.Msgs), "stream-bytes/event")
		b.Logf("%d paced learns: publish to applied on all 3 hosts p50 %v p99 %v; catch-up of %d events at %.0f/s; %d events, %d stream bytes",
			paced, p50, p99, after-before, rate, len(stream), info.State.Bytes)
	}
}
