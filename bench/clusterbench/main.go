// Command clusterbench measures a running cluster of `sluice learner`
// processes (bench/cluster.sh starts them): the learn → visible on every
// host latency, the events/s every host applies during a burst of
// learns, and the stream's bytes per event. It learns through the
// learners' unix sockets and reads their cursors with the admin request
// of `sluice cluster status`.
//
// With -standalone it drives one learner without [cluster] the same way
// (the same learns in the same order), the baseline a site without the
// cluster has: there a learn is applied when the learner answers it, so
// "applied" is the answer and no cursor is read.
//
// Besides the figures it prints BURST_START and BURST_APPLIED lines
// (Unix milliseconds) that bench/cluster.sh uses to select the scans that
// ran while a host applied the burst.
//
// usage: clusterbench -sockets S1,S2,S3 -nats URL -files LIST [-latency K] [-burst N] [-standalone]
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sluicemail/sluice/cluster"
	"github.com/sluicemail/sluice/learner"
)

type message struct {
	label learner.Label
	data  []byte
}

func main() {
	sockets := flag.String("sockets", "", "the learners' unix sockets, comma-separated")
	natsURL := flag.String("nats", "", "a NATS URL of the cluster (for the stream's size)")
	files := flag.String("files", "", "messages: lines spam|ham<TAB>path")
	latencyN := flag.Int("latency", 200, "learns one at a time, round robin over the hosts, each timed until every host applied it")
	burstN := flag.Int("burst", 10000, "learns sent to the first host as fast as it takes them (4 connections); then the time until every host applied them")
	standalone := flag.Bool("standalone", false, "one learner without [cluster]: a learn is applied when it is answered")
	burstRate := flag.Float64("burst-rate", 0, "learns per second of the burst, paced (0: as fast as the host takes them)")
	flag.Parse()
	if err := run(strings.Split(*sockets, ","), *natsURL, *files, *latencyN, *burstN, *burstRate, *standalone); err != nil {
		fmt.Fprintln(os.Stderr, "clusterbench:", err)
		os.Exit(1)
	}
}

func run(sockets []string, natsURL, files string, latencyN, burstN int, burstRate float64, standalone bool) error {
	msgs, err := readMessages(files)
	if err != nil {
		return err
	}
	ctx := context.Background()
	// The i-th learn of a message: its class, then the other, then back:
	// every event changes the counts (a learn, then relearns).
	pick := func(i int) *learner.Request {
		m := msgs[i%len(msgs)]
		label := m.label
		if (i/len(msgs))%2 == 1 {
			label = map[learner.Label]learner.Label{learner.Spam: learner.Ham, learner.Ham: learner.Spam}[label]
		}
		return &learner.Request{Label: label, Source: "bench", Message: m.data}
	}
	if standalone && len(sockets) != 1 {
		return fmt.Errorf("-standalone takes one socket, not %d", len(sockets))
	}
	cursor := func(s string) (uint64, error) {
		st, err := learner.ReadClusterStatus(ctx, s, false)
		if err != nil {
			return 0, fmt.Errorf("cluster status of %s: %w", s, err)
		}
		return st.StatfileCursor, nil
	}
	waitAll := func(target uint64, deadline time.Duration) error {
		if standalone {
			return nil // answered = applied
		}
		end := time.Now().Add(deadline)
		for _, s := range sockets {
			for {
				c, err := cursor(s)
				if err == nil && c >= target {
					break
				}
				if time.Now().After(end) {
					return fmt.Errorf("%s: cursor %d, want %d (last error: %v)", s, c, target, err)
				}
				time.Sleep(time.Millisecond)
			}
		}
		return nil
	}
	var next uint64
	if !standalone {
		if next, err = cursor(sockets[0]); err != nil {
			return err
		}
	}
	n := 0

	// Latency: one learn at a time, after one untimed (the stream and
	// the consumers are made on first use).
	var lat []time.Duration
	for i := -1; i < latencyN; i++ {
		c, err := learner.Dial(ctx, sockets[max(i, 0)%len(sockets)], 64<<20)
		if err != nil {
			return err
		}
		start := time.Now()
		if _, err := c.Learn(ctx, pick(n)); err != nil {
			c.Close()
			return err
		}
		c.Close()
		n++
		next++
		if err := waitAll(next, time.Minute); err != nil {
			return err
		}
		if i >= 0 {
			lat = append(lat, time.Since(start))
		}
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	if len(lat) > 0 {
		fmt.Printf("latency learn -> applied on all %d hosts: %d learns, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", len(sockets), len(lat), q(0.5), q(0.99), q(1))
	}

	if burstN == 0 {
		return streamSize(ctx, natsURL)
	}
	// Burst: as fast as the first host takes them.
	fmt.Printf("BURST_START %d\n", time.Now().UnixMilli())
	start := time.Now()
	var sent atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	base := n
	for w := range 4 {
		wg.Go(func() {
			c, err := learner.Dial(ctx, sockets[0], 64<<20)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for i := w; i < burstN; i += 4 {
				if burstRate > 0 { // learn i is sent no earlier than its slot
					time.Sleep(time.Until(start.Add(time.Duration(float64(i) / burstRate * float64(time.Second)))))
				}
				if _, err := c.Learn(ctx, pick(base+i)); err != nil {
					errs <- err
					return
				}
				sent.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	queued := time.Since(start)
	next += uint64(burstN)
	// Every host polled in turn: each one's time is when it was first
	// seen at the burst's last event.
	times := make([]time.Duration, len(sockets))
	left := len(sockets)
	failures := make([]int, len(sockets))
	if standalone {
		times[0], left = queued, 0
		fmt.Printf("BURST_APPLIED 1 %d\n", time.Now().UnixMilli())
	}
	for ; left > 0; time.Sleep(5 * time.Millisecond) {
		for i, s := range sockets {
			if times[i] != 0 {
				continue
			}
			c, err := cursor(s)
			if err != nil {
				// A busy host may miss the admin request's deadline:
				// its time is only read later, an upper bound.
				if failures[i]++; failures[i] == 10 {
					return err
				}
				fmt.Fprintf(os.Stderr, "clusterbench: %v (retrying)\n", err)
				continue
			}
			failures[i] = 0
			if c >= next {
				times[i] = time.Since(start)
				left--
				fmt.Printf("BURST_APPLIED %d %d\n", i+1, time.Now().UnixMilli())
			}
		}
		if time.Since(start) > 20*time.Minute {
			return errors.New("burst not applied in 20 minutes")
		}
	}
	fmt.Printf("BURST_END %d\n", time.Now().UnixMilli())
	verb := "queued"
	if standalone {
		verb = "answered (applied)"
	}
	fmt.Printf("burst: %d learns %s on host 1 in %.1f s (%.0f/s)\n", burstN, verb, queued.Seconds(), float64(burstN)/queued.Seconds())
	for i, d := range times {
		fmt.Printf("burst: host %d applied all in %.1f s: %.0f events/s\n", i+1, d.Seconds(), float64(burstN)/d.Seconds())
	}

	return streamSize(ctx, natsURL)
}

// streamSize prints the stream's bytes per event (one replica's).
func streamSize(ctx context.Context, natsURL string) error {
	if natsURL == "" {
		return nil
	}
	nc, err := cluster.Connect(natsURL, cluster.ClientOptions{Name: "clusterbench"})
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	s, err := js.Stream(ctx, cluster.StreamName)
	if err != nil {
		return err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return err
	}
	st := info.State
	out, _ := json.Marshal(map[string]any{"msgs": st.Msgs, "bytes": st.Bytes})
	fmt.Printf("stream: %s, %.0f bytes per event (one replica)\n", out, float64(st.Bytes)/float64(max(st.Msgs, 1)))
	return nil
}

func readMessages(list string) ([]message, error) {
	f, err := os.Open(list)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var msgs []message
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		class, path, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		label, err := learner.ParseLabel(class)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, message{label, data})
	}
	if len(msgs) == 0 {
		return nil, fmt.Errorf("no messages in %s", list)
	}
	return msgs, sc.Err()
}
