package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sluicemail/sluice/config"
)

// Host is a host's membership of its site's cluster, as configured: the
// embedded NATS server (when [cluster] listen is set), the connection,
// and the Node. It is what the learner runs.
type Host struct {
	Server *server.Server // nil with an external cluster
	Conn   *nats.Conn
	Node   *Node
}

// Open starts what the [cluster] section asks for: the embedded server
// (its store below dataDir), the connection (to it, or to the external
// url), and a Node applying through app. Close undoes it.
func Open(c config.Cluster, dataDir string, app Applier, reg prometheus.Registerer, log *slog.Logger) (*Host, error) {
	if !c.Enabled {
		return nil, errors.New("cluster: [cluster] is not enabled")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	below := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dataDir, p)
	}
	serverTLS, clientTLS, err := tlsConfigs(c)
	if err != nil {
		return nil, err
	}
	h := &Host{}
	url := c.URL
	if c.Listen != "" {
		so := ServerOptions{Name: c.Origin, Site: c.Site, Listen: config.HostPort(c.Listen), Routes: c.RouteList(),
			StoreDir: below(c.StoreDir), TLS: serverTLS, RouteTLS: serverTLS, Logger: log}
		if c.ClusterListen != "" {
			so.ClusterListen = config.HostPort(c.ClusterListen)
		}
		if h.Server, err = StartServer(so); err != nil {
			return nil, err
		}
		url = h.Server.ClientURL()
		if serverTLS != nil {
			url = strings.Replace(url, "nats://", "tls://", 1)
		}
	}
	h.Conn, err = Connect(url, ClientOptions{Name: "sluice " + c.Origin, TLS: clientTLS, CredentialsFile: c.Credentials})
	if err != nil {
		h.Close()
		return nil, err
	}
	h.Node, err = NewNode(h.Conn, app, Options{
		Site: c.Site, Origin: c.Origin, OutboxPath: below(c.Outbox), MaxOutboxBytes: int64(c.OutboxMax),
		Replicas: c.ReplicaCount(), MaxAge: c.Retention.D(), MaxBytes: int64(c.MaxBytes), Duplicates: c.DedupWindow.D(),
		Logger: log, Metrics: NewMetrics(reg),
	})
	if err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// Run runs the node until ctx is cancelled.
func (h *Host) Run(ctx context.Context) error { return h.Node.Run(ctx) }

// Close closes the node's outbox, the connection and the embedded
// server (after Run returned).
func (h *Host) Close() error {
	var err error
	if h.Node != nil {
		err = h.Node.Close()
	}
	if h.Conn != nil {
		h.Conn.Close()
	}
	if h.Server != nil {
		h.Server.Shutdown()
		h.Server.WaitForShutdown()
	}
	return err
}

// tlsConfigs loads the TLS files: the server's configuration (clients
// and routes must present a certificate of the CA) and the client's.
// Both nil without files.
func tlsConfigs(c config.Cluster) (srv, cli *tls.Config, err error) {
	if c.TLSCert == "" && c.TLSCA == "" {
		return nil, nil, nil
	}
	cli = &tls.Config{MinVersion: tls.VersionTLS12}
	if c.TLSCA != "" {
		pem, err := os.ReadFile(c.TLSCA)
		if err != nil {
			return nil, nil, fmt.Errorf("cluster: read tls_ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("cluster: tls_ca %s holds no PEM certificate", c.TLSCA)
		}
		cli.RootCAs = pool
	}
	if c.TLSCert == "" {
		return nil, cli, nil
	}
	cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster: load tls_cert and tls_key: %w", err)
	}
	cli.Certificates = []tls.Certificate{cert}
	srv = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, RootCAs: cli.RootCAs}
	if cli.RootCAs != nil {
		srv.ClientCAs, srv.ClientAuth = cli.RootCAs, tls.RequireAndVerifyClientCert
	}
	return srv, cli, nil
}
