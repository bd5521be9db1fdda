package cluster

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ServerOptions configure an embedded nats-server: one broker of the
// site's JetStream cluster, run inside the learner.
type ServerOptions struct {
	Name          string   // server name, unique in the cluster (the origin)
	Site          string   // the cluster's name
	Listen        string   // client address host:port (port 0: a free one)
	ClusterListen string   // route address host:port ("": no cluster, a hub alone)
	Routes        []string // the peers' route addresses host:port
	StoreDir      string   // JetStream's store (below the data directory)
	// TLS for clients and for routes; nil on loopback.
	TLS      *tls.Config
	RouteTLS *tls.Config
	// NoAdvertise keeps the server from telling others the route
	// addresses it learned: only the configured routes are used (tests
	// put proxies in them; behind NAT the gossiped addresses are wrong).
	NoAdvertise bool
	// ClusterAdvertise is the route address the server tells its peers,
	// who pass it on: a server that hears of a peer it has no route to
	// connects there (an implicit route). Behind NAT, the address peers
	// reach; tests give an unreachable one so that every route goes
	// through their proxies. "": the listener's own.
	ClusterAdvertise string
	MaxStore         int64         // JetStream file store bytes (0: the server's default)
	Ready            time.Duration // how long to wait for the listeners (0: 10s)
	Logger           *slog.Logger
}

// StartServer starts an embedded nats-server with JetStream, its store
// synced on every write (sync_interval: always: Jepsen found acknowledged
// writes lost with the default of two minutes), and waits until it
// accepts connections.
func StartServer(o ServerOptions) (*server.Server, error) {
	host, port, err := hostPort(o.Listen)
	if err != nil {
		return nil, fmt.Errorf("nats listen %q: %w", o.Listen, err)
	}
	opts := &server.Options{
		ServerName:         o.Name,
		Host:               host,
		Port:               port,
		JetStream:          true,
		StoreDir:           o.StoreDir,
		SyncAlways:         true,
		JetStreamMaxStore:  o.MaxStore,
		JetStreamMaxMemory: 64 << 20,
		NoSigs:             true,
		TLSConfig:          o.TLS,
		TLS:                o.TLS != nil,
		TLSVerify:          o.TLS != nil && o.TLS.ClientAuth == tls.RequireAndVerifyClientCert,
	}
	if o.ClusterListen != "" {
		chost, cport, err := hostPort(o.ClusterListen)
		if err != nil {
			return nil, fmt.Errorf("nats cluster listen %q: %w", o.ClusterListen, err)
		}
		opts.Cluster = server.ClusterOpts{Name: o.Site, Host: chost, Port: cport, NoAdvertise: o.NoAdvertise, TLSConfig: o.RouteTLS,
			Advertise: o.ClusterAdvertise}
		for _, r := range o.Routes {
			scheme := "nats-route"
			u, err := url.Parse(scheme + "://" + r)
			if err != nil || u.Port() == "" {
				return nil, fmt.Errorf("nats route %q is not host:port", r)
			}
			opts.Routes = append(opts.Routes, u)
		}
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats server %s: %w", o.Name, err)
	}
	if o.Logger != nil {
		srv.SetLoggerV2(natsLogger{o.Logger.With("nats", o.Name)}, false, false, false)
	}
	srv.Start()
	ready := o.Ready
	if ready <= 0 {
		ready = 10 * time.Second
	}
	if !srv.ReadyForConnections(ready) {
		srv.Shutdown()
		return nil, fmt.Errorf("nats server %s: not ready after %v", o.Name, ready)
	}
	return srv, nil
}

// hostPort splits host:port; port 0 asks the server for a free port.
func hostPort(addr string) (string, int, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return h, port, nil
}

// natsLogger puts the server's log lines into slog.
type natsLogger struct{ log *slog.Logger }

func (l natsLogger) Noticef(format string, v ...any) { l.log.Info(fmt.Sprintf(format, v...)) }
func (l natsLogger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l natsLogger) Fatalf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l natsLogger) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l natsLogger) Debugf(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l natsLogger) Tracef(format string, v ...any)  {}
