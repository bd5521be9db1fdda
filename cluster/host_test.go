package cluster

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sluicemail/sluice/config"
)

// TestHostFromConfig runs a hub as [cluster] configures it: the
// embedded server, the connection, the node; a learn comes back through
// the stream, and status and metrics say so.
func TestHostFromConfig(t *testing.T) {
	cfg, err := config.Parse("c.toml", []byte("[cluster]\nenabled = true\nsite = \"example\"\norigin = \"hub\"\nlisten = \"inet:127.0.0.1:0\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	app := newModel()
	reg := prometheus.NewRegistry()
	h, err := Open(cfg.Cluster, dir, app, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	defer func() {
		cancel()
		<-done
		if err := h.Close(); err != nil {
			t.Error(err)
		}
	}()
	ev := sampleEvent(0, 1, 2, 3)
	if _, err := h.Node.Publish(ev); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for c, _ := app.Cursor(); c != 1; c, _ = app.Cursor() {
		if time.Now().After(deadline) {
			t.Fatalf("the learn did not come back: %+v", h.Node.Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for h.Node.Status().Outbox != 0 { // the ack is recorded after the stream has the event
		if time.Now().After(deadline) {
			t.Fatalf("outbox not drained: %+v", h.Node.Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
	st := h.Node.Status()
	if st.Cursor != 1 || st.Marks["hub"] != 1 || st.Outbox != 0 || !st.Connected || st.NextSeq != 2 || st.Lag != 0 {
		t.Fatalf("status %+v", st)
	}
	js, _ := json.Marshal(st)
	for _, k := range []string{`"cursor":1`, `"marks":{"hub":1}`, `"outbox":0`, `"connected":true`, `"rebootstrap_needed":false`} {
		if !strings.Contains(string(js), k) {
			t.Errorf("status JSON %s lacks %s", js, k)
		}
	}
	if got := testutil.ToFloat64(h.Node.m.published); got != 1 {
		t.Errorf("published metric %v", got)
	}
	if n, err := testutil.GatherAndCount(reg, "sluice_cluster_applied_total", "sluice_cluster_cursor"); err != nil || n != 2 {
		t.Errorf("registered series: %d, %v", n, err)
	}
}
