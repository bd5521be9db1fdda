package config

import (
	"strings"
	"testing"
	"time"
)

func TestClusterSection(t *testing.T) {
	c := Default().Cluster
	if c.Enabled || c.Retention.D() != 14*24*time.Hour || c.DedupWindow.D() != 2*time.Minute || c.ReplicaCount() != 1 {
		t.Fatalf("unexpected cluster defaults %+v", c)
	}
	const on = "[cluster]\nenabled = true\nsite = \"example\"\norigin = \"mx1\"\n"
	const tlsFiles = "tls_cert = \"/etc/sluice/mx1.pem\"\ntls_key = \"/etc/sluice/mx1.key\"\ntls_ca = \"/etc/sluice/ca.pem\"\n"
	tests := []struct {
		in       string
		wantErr  string
		replicas int
	}{
		{"[cluster]\nretention = \"72h\"\n", "", 1}, // off: nothing else needed
		{on + "listen = \"inet:127.0.0.1:4222\"\n", "", 1},
		{on + "listen = \"inet:127.0.0.1:4222\"\ncluster_listen = \"inet:192.0.2.1:6222\"\nroutes = \"192.0.2.2:6222, 192.0.2.3:6222\"\n" + tlsFiles, "", 3},
		{on + "listen = \"inet:127.0.0.1:4222\"\ncluster_listen = \"inet:192.0.2.1:6222\"\nroutes = \"192.0.2.2:6222\"\n" + tlsFiles, "", 1},
		{on + "url = \"nats://127.0.0.1:4222\"\nreplicas = 3\n", "", 3},
		{on + "url = \"tls://nats.example.org:4222\"\ntls_ca = \"/etc/ssl/ca.pem\"\ncredentials = \"/etc/sluice/nats.creds\"\n", "", 1},
		{on + "listen = \"inet:127.0.0.1:4222\"\ncluster_listen = \"inet:192.0.2.1:6222\"\nroutes = \"192.0.2.2:6222 192.0.2.3:6222\"\n", "cluster.tls_cert: the embedded server is reachable off loopback", 0},
		{on + "url = \"nats://nats.example.org\"\n", "cluster.url: \"nats://nats.example.org\" is off loopback", 0},
		{on, "cluster.listen: set either listen", 0},
		{on + "listen = \"inet:127.0.0.1:4222\"\nurl = \"nats://127.0.0.1:4222\"\n", "cluster.listen: set either listen", 0},
		{"[cluster]\nenabled = true\nsite = \"ex ample\"\norigin = \"mx1\"\nlisten = \"inet:127.0.0.1:4222\"\n", "cluster.site", 0},
		{"[cluster]\nenabled = true\nsite = \"example\"\nlisten = \"inet:127.0.0.1:4222\"\n", "cluster.origin", 0},
		{on + "listen = \"unix:/run/nats.sock\"\n", "cluster.listen: \"unix:/run/nats.sock\" is not inet:host:port", 0},
		{on + "listen = \"inet:127.0.0.1:4222\"\nroutes = \"127.0.0.1:6223\"\n", "cluster.cluster_listen: must be set with routes", 0},
		{on + "listen = \"inet:127.0.0.1:4222\"\ncluster_listen = \"inet:127.0.0.1:6222\"\nroutes = \"nowhere\"\n", "cluster.routes: \"nowhere\" is not host:port", 0},
		{on + "listen = \"inet:127.0.0.1:4222\"\nreplicas = 3\n", "cluster.replicas: 3 is not between 1 and the 1 brokers", 0},
		{on + "url = \"http://127.0.0.1:4222\"\n", "cluster.url", 0},
		{on + "listen = \"inet:127.0.0.1:4222\"\ntls_cert = \"/x.pem\"\n", "cluster.tls_key: tls_cert and tls_key go together", 0},
		{"[cluster]\ndedup_window = \"30d\"\n", "cluster.dedup_window", 0},
		{"[cluster]\ndedup_window = \"400h\"\n", "cluster.dedup_window: 400h0m0s is not positive and at most retention", 0},
		{"[cluster]\nretention = 3600\n", "cluster.retention: 3600 has no unit", 0},
		{"[cluster]\noutbox_max = \"0B\"\n", "cluster.outbox_max: must be positive", 0},
	}
	for _, tt := range tests {
		c, err := Parse("c.toml", []byte(tt.in))
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("%q: %v", tt.in, err)
			} else if got := c.Cluster.ReplicaCount(); got != tt.replicas {
				t.Errorf("%q: replicas %d, want %d", tt.in, got, tt.replicas)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%q: err = %v, want %q", tt.in, err, tt.wantErr)
		}
	}
}
