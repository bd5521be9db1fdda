package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sample names of sluice serve's /metrics that the replay waits on.
const (
	mRecords    = "sluice_learner_records_total"           // result: received, dropped, malformed
	mSkipped    = "sluice_learner_autolearn_skipped_total" // every record autolearn did not learn
	mLearns     = "sluice_learner_learns_total"            // source=autolearn: records it learned
	mPending    = "sluice_learner_neural_trainings_pending"
	mNewSamples = "sluice_learner_neural_new_samples"
	mInService  = "sluice_neural_epoch_in_service"
	mPublished  = "sluice_learner_neural_trainings_total" // result=published
)

// Learner is the state of serve's learner and scanners, from /metrics.
type Learner struct {
	Received   float64 // scan records queued for the learner
	Processed  float64 // records the learner has taken in (pooled, then autolearned or skipped)
	Dropped    float64 // records lost on a full queue
	Pending    float64 // networks whose training is due or running
	NewSamples float64 // samples since the last training
	InService  float64 // epoch of the network the milter uses
	Published  float64 // networks published since serve started
}

// Idle reports whether every scan record was taken in and no training is
// due or running. (With autolearn on, a record autolearned as "already
// learned" counts twice, so Processed may pass Received.)
func (l Learner) Idle() bool { return l.Processed >= l.Received && l.Pending == 0 }

// metric is one sample line of the Prometheus text format.
type metric struct {
	name   string
	labels map[string]string
	value  float64
}

// maxMetrics bounds the /metrics body read.
const maxMetrics = 8 << 20

// parseMetrics reads the Prometheus text exposition format: comments and
// blank lines skipped, `name{k="v",...} value [timestamp]` per sample.
// Label values with escaped quotes are not expected here and are an error.
func parseMetrics(r io.Reader) ([]metric, error) {
	sc := bufio.NewScanner(io.LimitReader(r, maxMetrics))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var out []metric
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		var m metric
		rest := line
		if i := strings.IndexAny(line, "{ "); i >= 0 && line[i] == '{' {
			end := strings.IndexByte(line, '}')
			if end < i {
				return nil, fmt.Errorf("metrics line %q: no closing brace", line)
			}
			m.name = line[:i]
			m.labels = make(map[string]string)
			for _, kv := range strings.Split(line[i+1:end], ",") {
				if kv == "" {
					continue
				}
				k, v, ok := strings.Cut(kv, "=")
				if !ok || len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' || strings.Contains(v, `\`) {
					return nil, fmt.Errorf("metrics line %q: label %q", line, kv)
				}
				m.labels[k] = v[1 : len(v)-1]
			}
			rest = line[end+1:]
		} else {
			m.name, rest, _ = strings.Cut(line, " ")
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return nil, fmt.Errorf("metrics line %q: no value", line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %q: %w", line, err)
		}
		m.value = v
		out = append(out, m)
	}
	return out, sc.Err()
}

// sum adds the samples of name whose labels include want.
func sum(ms []metric, name string, want map[string]string) float64 {
	var s float64
next:
	for _, m := range ms {
		if m.name != name {
			continue
		}
		for k, v := range want {
			if m.labels[k] != v {
				continue next
			}
		}
		s += m.value
	}
	return s
}

// learnerState reads the figures the replay needs from parsed metrics.
// A metric serve does not export (an older build) is an error: waiting on
// it would wait forever.
func learnerState(ms []metric) (Learner, error) {
	for _, name := range []string{mPending, mNewSamples, mInService} {
		found := false
		for _, m := range ms {
			if m.name == name {
				found = true
				break
			}
		}
		if !found {
			return Learner{}, fmt.Errorf("serve exports no %s: a sluice built before the replay's gauges", name)
		}
	}
	return Learner{
		Received:   sum(ms, mRecords, map[string]string{"result": "received"}),
		Processed:  sum(ms, mSkipped, nil) + sum(ms, mLearns, map[string]string{"source": "autolearn"}),
		Dropped:    sum(ms, mRecords, map[string]string{"result": "dropped"}),
		Pending:    sum(ms, mPending, nil),
		NewSamples: sum(ms, mNewSamples, nil),
		InService:  sum(ms, mInService, nil),
		Published:  sum(ms, mPublished, map[string]string{"result": "published"}),
	}, nil
}

// scrape fetches and reads url (serve's /metrics) within 10 seconds.
func scrape(ctx context.Context, client *http.Client, url string) (Learner, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Learner{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return Learner{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Learner{}, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	ms, err := parseMetrics(resp.Body)
	if err != nil {
		return Learner{}, fmt.Errorf("GET %s: %w", url, err)
	}
	return learnerState(ms)
}
