package cluster

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/internal/netproxy"
)

// writeCA writes a CA and one certificate per name (for 127.0.0.1, as
// client and server) below dir: ca.pem, NAME.pem, NAME.key.
func writeCA(t *testing.T, dir string, names ...string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sluice test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	write := func(name, typ string, der []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.pem", "CERTIFICATE", caDER)
	for i, name := range names {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 2)), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, _ := x509.MarshalECPrivateKey(key)
		write(name+".pem", "CERTIFICATE", der)
		write(name+".key", "EC PRIVATE KEY", kder)
	}
}

// TestClusterTLS runs two hosts from [cluster] sections with the TLS
// files: routes and clients use mutual TLS, and a learn on one host is
// applied on the other. A peer with a certificate of another CA is not
// let in.
func TestClusterTLS(t *testing.T) {
	dir := t.TempDir()
	writeCA(t, dir, "mx1", "mx2")
	// The route ports must be known before either server starts: each
	// route goes through a proxy whose target is set once its server runs.
	p12, err := netproxy.New("127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	defer p12.Close()
	p21, err := netproxy.New("127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	defer p21.Close()
	open := func(name, route string) (*Host, *model) {
		toml := fmt.Sprintf("[cluster]\nenabled = true\nsite = \"example\"\norigin = %q\nlisten = \"inet:127.0.0.1:0\"\n"+
			"cluster_listen = \"inet:127.0.0.1:0\"\nroutes = %q\nreplicas = 1\n"+
			"tls_cert = %q\ntls_key = %q\ntls_ca = %q\n", name, route,
			filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key"), filepath.Join(dir, "ca.pem"))
		cfg, err := config.Parse("c.toml", []byte(toml))
		if err != nil {
			t.Fatal(err)
		}
		m := newModel()
		h, err := Open(cfg.Cluster, filepath.Join(dir, name), m, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return h, m
	}
	h1, m1 := open("mx1", p12.Addr())
	p21.SetTarget(h1.Server.ClusterAddr().String())
	h2, m2 := open("mx2", p21.Addr())
	p12.SetTarget(h2.Server.ClusterAddr().String())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	for _, h := range []*Host{h1, h2} {
		go func() { done <- h.Run(ctx) }()
	}
	defer func() {
		cancel()
		<-done
		<-done
		h1.Close()
		h2.Close()
	}()
	if _, err := h1.Node.Publish(sampleEvent(0, 5, 6)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c1, _ := m1.Cursor()
		c2, _ := m2.Cursor()
		if c1 == 1 && c2 == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not applied on both hosts: %+v / %+v", h1.Node.Status(), h2.Node.Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("applied on both hosts after %v", 30*time.Second-time.Until(deadline))
	if m1.digest() != m2.digest() {
		t.Fatal("the hosts differ")
	}
	// A client of another CA is refused by the embedded server.
	other := t.TempDir()
	writeCA(t, other, "intruder")
	tlsCfg, err := tlsFor(t, other, "intruder")
	if err != nil {
		t.Fatal(err)
	}
	if nc, err := Connect(h1.Server.ClientURL(), ClientOptions{TLS: tlsCfg, Timeout: 2 * time.Second}); err == nil {
		nc.FlushTimeout(2 * time.Second)
		if nc.IsConnected() {
			nc.Close()
			t.Fatal("a client with another CA's certificate connected")
		}
		nc.Close()
	}
}

func tlsFor(t *testing.T, dir, name string) (*tls.Config, error) {
	_, cli, err := tlsConfigs(config.Cluster{TLSCert: filepath.Join(dir, name+".pem"), TLSKey: filepath.Join(dir, name+".key"), TLSCA: filepath.Join(dir, "ca.pem")})
	return cli, err
}
