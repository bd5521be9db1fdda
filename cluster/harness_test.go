package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/sluicemail/sluice/internal/netproxy"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
)

// The harness runs a site on loopback: n embedded nats-servers as one
// JetStream cluster, every route through a netproxy (proxies[i][j] is
// server i's route to server j, so a host can be cut off), and n hosts,
// each a Node with a model Applier, connected to its own server.

const testSite = "example"

type harness struct {
	t     testing.TB
	seed  uint64
	rng   *rand.Rand
	dir   string
	log   *slog.Logger
	sopts []ServerOptions
	srv   []*server.Server
	proxy [][]*netproxy.Proxy
	hosts []*host
	nopts Options // template of the hosts' options
}

type host struct {
	name   string
	server int // the server it connects to
	model  *model
	nc     *nats.Conn
	node   *Node
	cancel context.CancelFunc
	done   chan struct{}
	hook   func(seq uint64) hookAction
	before func(seq uint64) hookAction
}

// newHarness starts n servers and n hosts; tweak adjusts the hosts'
// options.
func newHarness(t testing.TB, n int, tweak func(*Options)) *harness {
	t.Helper()
	seed := rand.Uint64()
	if s := os.Getenv("SLUICE_CLUSTER_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (SLUICE_CLUSTER_SEED=%d repeats it)", seed, seed)
	h := &harness{t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, 17)), dir: t.TempDir(), log: slog.New(slog.DiscardHandler)}
	if os.Getenv("SLUICE_CLUSTER_LOG") != "" {
		h.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	replicas := 1
	if n >= 3 {
		replicas = 3
	}
	h.nopts = Options{Site: testSite, Replicas: replicas, OpTimeout: 2 * time.Second, RetryMin: 20 * time.Millisecond,
		RetryMax: 300 * time.Millisecond, FetchWait: 200 * time.Millisecond, StallAfter: 2 * time.Second, Logger: h.log}
	if tweak != nil {
		tweak(&h.nopts)
	}
	h.proxy = make([][]*netproxy.Proxy, n)
	for i := range n {
		h.proxy[i] = make([]*netproxy.Proxy, n)
		for j := range n {
			if i == j || n == 1 {
				continue
			}
			p, err := netproxy.New("127.0.0.1:0", "")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Close() })
			h.proxy[i][j] = p
		}
	}
	h.srv = make([]*server.Server, n)
	for i := range n {
		so := ServerOptions{Name: hostName(i), Site: testSite, Listen: "127.0.0.1:0",
			StoreDir: filepath.Join(h.dir, hostName(i), "jetstream"), NoAdvertise: true, Logger: nil}
		if n > 1 {
			// Peers pass on each other's advertised route address and
			// connect there when they have no route (implicit routes),
			// which would bypass the proxies: it leads nowhere.
			so.ClusterAdvertise = "127.0.0.1:1"
			so.ClusterListen = "127.0.0.1:0"
			for j := range n {
				if j != i {
					so.Routes = append(so.Routes, h.proxy[i][j].Addr())
				}
			}
		}
		h.sopts = append(h.sopts, so)
	}
	for i := range n {
		h.startServer(i)
	}
	t.Cleanup(func() {
		for i := range h.srv {
			h.stopServer(i)
		}
	})
	for i := range n {
		h.hosts = append(h.hosts, &host{name: hostName(i), server: i, model: newModel()})
		h.startHost(i)
	}
	t.Cleanup(func() {
		for i := range h.hosts {
			h.stopHost(i)
		}
	})
	return h
}

func hostName(i int) string { return fmt.Sprintf("mx%d", i+1) }

// startServer starts server i; after its first start, on the same ports.
func (h *harness) startServer(i int) {
	h.t.Helper()
	srv, err := StartServer(h.sopts[i])
	if err != nil {
		h.t.Fatal(err)
	}
	h.srv[i] = srv
	h.sopts[i].Listen = srv.Addr().String()
	if ca := srv.ClusterAddr(); ca != nil {
		h.sopts[i].ClusterListen = ca.String()
		for j := range h.proxy {
			if p := h.proxy[j][i]; p != nil {
				p.SetTarget(ca.String())
			}
		}
	}
}

func (h *harness) stopServer(i int) {
	if h.srv[i] != nil {
		h.srv[i].Shutdown()
		h.srv[i].WaitForShutdown()
		h.srv[i] = nil
	}
}

// startHost connects host i to its server and runs its node.
func (h *harness) startHost(i int) { h.startHostWith(i, nil) }

// startHostWith starts host i, calling install (when not nil) with its
// node and model before the node runs.
func (h *harness) startHostWith(i int, install func(*Node, *model)) {
	h.t.Helper()
	ho := h.hosts[i]
	nc, err := Connect("nats://"+h.sopts[ho.server].Listen, ClientOptions{Name: ho.name, Timeout: 2 * time.Second})
	if err != nil {
		h.t.Fatal(err)
	}
	o := h.nopts
	o.Origin = ho.name
	o.OutboxPath = filepath.Join(h.dir, ho.name, "outbox")
	node, err := NewNode(nc, ho.model, o)
	if err != nil {
		h.t.Fatal(err)
	}
	node.afterPublish, node.beforePublish = ho.hook, ho.before
	if install != nil {
		install(node, ho.model)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ho.nc, ho.node, ho.cancel, ho.done = nc, node, cancel, make(chan struct{})
	go func() {
		defer close(ho.done)
		node.Run(ctx)
	}()
}

// stopHost stops host i's node (its model stays: the statfile).
func (h *harness) stopHost(i int) {
	ho := h.hosts[i]
	if ho.node == nil {
		return
	}
	ho.cancel()
	<-ho.done
	ho.node.Close()
	ho.nc.Close()
	ho.node = nil
}

// waitFor polls cond until it holds, failing the test after d.
func (h *harness) waitFor(d time.Duration, what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("after %v: %s (seed %d)\n%s", d, what, h.seed, h.statuses())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *harness) statuses() string {
	s := ""
	for _, ho := range h.hosts {
		if ho.node != nil {
			s += fmt.Sprintf("%s: %+v\n", ho.name, ho.node.Status())
		}
	}
	return s
}

// message is a test message: a digest and its token hashes, drawn from
// a small vocabulary so that messages share tokens.
type message struct {
	digest [32]byte
	hashes []uint64
}

func (h *harness) message(id int) message {
	r := rand.New(rand.NewPCG(h.seed, uint64(id)))
	set := map[uint64]bool{}
	for range 10 + r.IntN(30) {
		set[uint64(r.IntN(400))*0x9e3779b97f4a7c15] = true
	}
	m := message{digest: sha256.Sum256(binary.LittleEndian.AppendUint64(nil, uint64(id)))}
	for k := range set {
		m.hashes = append(m.hashes, k)
	}
	return m
}

// learn publishes a learn of message id on host i.
func (h *harness) learn(i, id int, label learn.Label, source, user string) uint64 {
	h.t.Helper()
	m := h.message(id)
	ev := learn.Event{Label: label, Source: source, User: user, Digest: m.digest,
		Params: mmapstore.Params{Hash: "xxh64", Window: 3, Version: 1}, Hashes: m.hashes}
	seq, err := h.hosts[i].node.Publish(ev)
	if err != nil {
		h.t.Fatalf("%s: publish: %v", h.hosts[i].name, err)
	}
	return seq
}

// randomLearn learns a random message, class, source and user on host i.
func (h *harness) randomLearn(i int) {
	label := learn.Spam
	if h.rng.IntN(2) == 0 {
		label = learn.Ham
	}
	source, user := "dovecot", fmt.Sprintf("u%d@example.org", h.rng.IntN(3))
	switch h.rng.IntN(4) {
	case 0:
		source, user = "autolearn", ""
	case 1:
		label = learn.Forget
	}
	h.learn(i, h.rng.IntN(60), label, source, user)
}

// js returns a JetStream context on the first running server.
func (h *harness) js() (jetstream.JetStream, *nats.Conn) {
	h.t.Helper()
	for i, s := range h.srv {
		if s != nil {
			nc, err := nats.Connect("nats://"+h.sopts[i].Listen, nats.Timeout(2*time.Second))
			if err != nil {
				continue
			}
			js, err := jetstream.New(nc)
			if err != nil {
				nc.Close()
				continue
			}
			return js, nc
		}
	}
	h.t.Fatal("no server running")
	return nil, nil
}

// streamEvent is one message of the stream as read back.
type streamEvent struct {
	seq  uint64
	ev   learn.Event
	time time.Time
}

// readStream reads the whole committed stream.
func (h *harness) readStream() []streamEvent {
	h.t.Helper()
	js, nc := h.js()
	defer nc.Close()
	var out []streamEvent
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out = out[:0]
		err := func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := js.Stream(ctx, StreamName)
			if err != nil {
				return err
			}
			info, err := s.Info(ctx)
			if err != nil {
				return err
			}
			if info.State.Msgs == 0 {
				return nil
			}
			for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
				m, err := s.GetMsg(ctx, seq)
				if errors.Is(err, jetstream.ErrMsgNotFound) {
					continue // deleted
				}
				if err != nil {
					return err
				}
				ev, err := Decode(m.Data)
				if err != nil {
					return fmt.Errorf("stream seq %d: %w", seq, err)
				}
				out = append(out, streamEvent{seq, ev, m.Time})
			}
			return nil
		}()
		if err == nil {
			return out
		}
		h.t.Logf("read stream: %v (retrying)", err)
	}
	h.t.Fatal("could not read the stream")
	return nil
}

// quiesce waits until every running host's outbox is empty and its
// cursor is at the stream's end, then checks every host against the
// oracle: a fresh model applying the committed stream. It returns the
// stream.
func (h *harness) quiesce(d time.Duration) []streamEvent {
	h.t.Helper()
	var last uint64
	h.waitFor(d, "outboxes drained and every host at the stream's end", func() bool {
		for _, ho := range h.hosts {
			if ho.node != nil && ho.node.Status().Outbox > 0 {
				return false
			}
		}
		js, nc := h.js()
		defer nc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s, err := js.Stream(ctx, StreamName)
		if err != nil {
			return false
		}
		info, err := s.Info(ctx)
		if err != nil {
			return false
		}
		last = info.State.LastSeq
		for _, ho := range h.hosts {
			if c, _ := ho.model.Cursor(); ho.node != nil && c != last {
				return false
			}
		}
		return true
	})
	stream := h.readStream()
	oracle := newModel()
	for _, se := range stream {
		ev := se.ev
		ev.Time = se.time
		if _, err := oracle.ApplyEvent(ev, se.seq); err != nil {
			h.t.Fatal(err)
		}
	}
	want := oracle.digest()
	for _, ho := range h.hosts {
		if ho.node == nil {
			continue
		}
		if got := ho.model.digest(); got != want {
			h.t.Fatalf("%s differs from the oracle (seed %d)\n%s\n--- oracle:\n%s", ho.name, h.seed, got, want)
		}
	}
	return stream
}

// checkOrigins checks that the stream holds each origin's events 1..want
// exactly once, in order (events refused as resends are not in it).
func (h *harness) checkOrigins(stream []streamEvent, want map[string]uint64) {
	h.t.Helper()
	got := map[string]uint64{}
	for _, se := range stream {
		o := se.ev.Origin
		if se.ev.Seq != got[o]+1 {
			h.t.Fatalf("stream seq %d: %s's event %d follows its %d (seed %d)", se.seq, o, se.ev.Seq, got[o], h.seed)
		}
		got[o] = se.ev.Seq
	}
	for o, n := range want {
		if got[o] != n {
			h.t.Fatalf("stream has %d events of %s, want %d (seed %d)", got[o], o, n, h.seed)
		}
	}
}

// isolate cuts ("cut"), stalls ("stall") or heals ("heal") every route
// of host i's server, both directions.
func (h *harness) isolate(i int, mode string) {
	for j := range h.proxy {
		for _, p := range []*netproxy.Proxy{h.proxy[i][j], h.proxy[j][i]} {
			switch {
			case p == nil:
			case mode == "cut":
				p.Cut()
			case mode == "stall":
				p.Stall()
			default:
				p.Heal()
			}
		}
	}
}
