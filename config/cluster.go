package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Cluster configures the sharing of learns between the MX hosts of a
// site (package cluster): every learn becomes an event in a NATS
// JetStream stream, and every host applies the stream to its own
// statfile. Off by default: one host needs nothing of it.
//
// A host runs the broker embedded (listen, and cluster_listen with routes
// to its peers) or uses an external NATS cluster (url). Routes and URLs
// are one string each, as trusted_networks, so the section stays
// comparable.
type Cluster struct {
	Enabled       bool     `toml:"enabled" comment:"Share learns with the other hosts of the site through NATS JetStream."`
	Site          string   `toml:"site" comment:"The site's name, the same on every host (letters, digits, - and _); events of another site are never applied."`
	Origin        string   `toml:"origin" comment:"This host's name in the site, unique and never reused (letters, digits, - and _)."`
	Listen        string   `toml:"listen" comment:"Embedded NATS server: where it serves clients, inet:host:port (e.g. inet:127.0.0.1:4222). Empty: no embedded server, use url."`
	ClusterListen string   `toml:"cluster_listen" comment:"Embedded server: where it accepts its peers' routes, inet:host:port (e.g. inet:192.0.2.1:6222). Empty: a hub alone."`
	Routes        string   `toml:"routes" comment:"Embedded server: the peers' cluster_listen addresses, host:port separated by spaces or commas."`
	URL           string   `toml:"url" comment:"External NATS cluster instead of the embedded server: nats://host:4222 (several separated by commas)."`
	Replicas      int      `toml:"replicas" comment:"Copies of the stream: 3 with three or more brokers (survives one down), 1 on a hub. 0: 3 when the\nembedded server has two or more routes, else 1."`
	Retention     Duration `toml:"retention" comment:"How long the stream keeps events. A host down longer must be re-bootstrapped."`
	MaxBytes      ByteSize `toml:"max_bytes" comment:"Largest stream per broker; past it the oldest events go. 0: no limit but retention."`
	DedupWindow   Duration `toml:"dedup_window" comment:"The broker refuses a resent event (same Nats-Msg-Id) within this window; after it, the expected\nlast sequence refuses it."`
	OutboxMax     ByteSize `toml:"outbox_max" comment:"Largest outbox: this host's learns waiting for the broker. Past it learns are refused (and spooled)."`
	Outbox        string   `toml:"outbox" comment:"The outbox file; relative paths are below data_dir."`
	StoreDir      string   `toml:"store_dir" comment:"The embedded server's JetStream store; relative paths are below data_dir."`
	TLSCert       string   `toml:"tls_cert" comment:"TLS certificate (PEM) of the embedded server, for clients and routes, and this host's client certificate.\nNeeded when listen or cluster_listen is off loopback."`
	TLSKey        string   `toml:"tls_key" comment:"Its private key (PEM)."`
	TLSCA         string   `toml:"tls_ca" comment:"CA certificates (PEM) that peers' and servers' certificates must chain to; peers must present one."`
	Credentials   string   `toml:"credentials" comment:"NATS credentials file (JWT and seed) for an external cluster."`
	// SnapshotInterval: how often the learner stores a snapshot of its
	// statfile for new hosts (0: never).
	// Bootstrap is `sluice learner --bootstrap`, never read from a file:
	// install the newest snapshot at start though the statfile is not empty.
	Bootstrap        bool     `toml:"-"`
	SnapshotInterval Duration `toml:"snapshot_interval" comment:"How often the learner stores a snapshot of its statfile (with its cursor) in the cluster, for a new host\nor one that must re-bootstrap; only when it applied something since. 0: never. Keep it well below retention."`
}

func defaultCluster() Cluster {
	return Cluster{
		Retention:        Duration(14 * 24 * time.Hour),
		DedupWindow:      Duration(2 * time.Minute),
		OutboxMax:        256 << 20,
		Outbox:           "cluster/outbox",
		StoreDir:         "cluster/jetstream",
		SnapshotInterval: Duration(6 * time.Hour),
	}
}

// RouteList returns Routes split.
func (c Cluster) RouteList() []string {
	return strings.FieldsFunc(c.Routes, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}

// ReplicaCount returns Replicas, or the automatic choice for 0.
func (c Cluster) ReplicaCount() int {
	if c.Replicas > 0 {
		return c.Replicas
	}
	if c.Listen != "" && len(c.RouteList()) >= 2 {
		return 3
	}
	return 1
}

// HostPort returns the host:port of an inet:host:port address.
func HostPort(addr string) string {
	_, rest, _ := strings.Cut(addr, ":")
	return rest
}

// validName: a site or origin is one NATS subject token.
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// validate checks the cluster section; each error names its key. Off,
// it checks nothing but the units.
func (c Cluster) validate() []error {
	var errs []error
	add := func(key string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("cluster.%s: %w", key, err))
		}
	}
	if c.Retention <= 0 {
		add("retention", fmt.Errorf("must be positive"))
	}
	if c.DedupWindow <= 0 || c.DedupWindow > c.Retention {
		add("dedup_window", fmt.Errorf("%v is not positive and at most retention", c.DedupWindow.D()))
	}
	if c.SnapshotInterval < 0 {
		add("snapshot_interval", fmt.Errorf("must not be negative"))
	}
	if c.OutboxMax <= 0 {
		add("outbox_max", fmt.Errorf("must be positive"))
	}
	if c.Outbox == "" {
		add("outbox", fmt.Errorf("must not be empty"))
	}
	if !c.Enabled {
		return errs
	}
	if !validName(c.Site) {
		add("site", fmt.Errorf("%q is not 1 to 64 letters, digits, - or _", c.Site))
	}
	if !validName(c.Origin) {
		add("origin", fmt.Errorf("%q is not 1 to 64 letters, digits, - or _", c.Origin))
	}
	if (c.Listen == "") == (c.URL == "") {
		add("listen", fmt.Errorf("set either listen (an embedded server) or url (an external cluster)"))
	}
	inet := func(key, v string) bool {
		if v == "" {
			return true
		}
		if err := checkListen(v); err != nil || !strings.HasPrefix(v, "inet") {
			add(key, fmt.Errorf("%q is not inet:host:port", v))
			return false
		}
		return true
	}
	offLoopback := false
	if inet("listen", c.Listen) && c.Listen != "" && !loopback(c.Listen) {
		offLoopback = true
	}
	if inet("cluster_listen", c.ClusterListen) && c.ClusterListen != "" && !loopback(c.ClusterListen) {
		offLoopback = true
	}
	routes := c.RouteList()
	for _, r := range routes {
		if _, _, err := splitHostPort(r); err != nil {
			add("routes", fmt.Errorf("%q is not host:port", r))
		} else if !loopback("inet:" + r) {
			offLoopback = true
		}
	}
	if len(routes) > 0 && c.ClusterListen == "" {
		add("cluster_listen", fmt.Errorf("must be set with routes"))
	}
	if c.Listen == "" && (c.ClusterListen != "" || len(routes) > 0) {
		add("routes", fmt.Errorf("cluster_listen and routes are the embedded server's: set listen"))
	}
	if c.URL != "" {
		for _, u := range strings.Split(c.URL, ",") {
			pu, err := url.Parse(strings.TrimSpace(u))
			if err != nil || pu.Host == "" || (pu.Scheme != "nats" && pu.Scheme != "tls") {
				add("url", fmt.Errorf("%q is not nats://host:port", u))
			} else if !loopback("inet:"+hostWithPort(pu)) && c.TLSCA == "" && c.Credentials == "" {
				add("url", fmt.Errorf("%q is off loopback: set tls_ca or credentials", u))
			}
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		add("tls_key", fmt.Errorf("tls_cert and tls_key go together"))
	}
	if offLoopback && (c.TLSCert == "" || c.TLSCA == "") {
		add("tls_cert", fmt.Errorf("the embedded server is reachable off loopback: set tls_cert, tls_key and tls_ca (peers authenticate each other)"))
	}
	brokers := 1 + len(routes)
	if c.Listen == "" {
		brokers = 5 // an external cluster: its size is not known here
	}
	if r := c.ReplicaCount(); r < 1 || r > 5 || r > brokers {
		add("replicas", fmt.Errorf("%d is not between 1 and the %d brokers (at most 5)", c.Replicas, brokers))
	}
	return errs
}

// hostWithPort is u's host:port, with NATS's port when u has none.
func hostWithPort(u *url.URL) string {
	if u.Port() == "" {
		return u.Host + ":4222"
	}
	return u.Host
}
