package console

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/learner"
)

// TestStatusShowsCluster: on a cluster host (a hub with its embedded
// broker) the status page's cluster row says where the node is, and a
// learn shows there once it came back through the stream; the statfile's
// replication records are not listed as namespaces.
func TestStatusShowsCluster(t *testing.T) {
	e := newEnv(t, func(c *config.Config) {
		c.Cluster.Enabled, c.Cluster.Site, c.Cluster.Origin, c.Cluster.Listen = true, "example", "hub", "inet:127.0.0.1:0"
	})
	out, err := e.svc.Daemon().Learn(context.Background(), &learner.Request{Label: learner.Spam, Source: "test", Message: []byte(message(1, spamWords))})
	if err != nil || out != learn.Queued {
		t.Fatalf("learn: %v %v, want queued", out, err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		body := e.get("/").Body.String()
		if strings.Contains(body, "site example, origin hub: connected, cursor 1, lag 0, outbox 0, 1 origins") {
			if strings.Contains(body, "sys:origin:") || strings.Contains(body, "sys:stream:cursor") {
				t.Fatal("the status page lists replication records as namespaces")
			}
			return
		}
		if time.Now().After(deadline) {
			i := strings.Index(body, `id="cluster"`)
			t.Fatalf("cluster row: %.200s", body[max(i, 0):])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
