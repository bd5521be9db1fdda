package learner

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicemail/sluice/cluster"
	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/tokenizer"
)

// clusterHost is a daemon that is a host of a cluster: its own statfile,
// its own outbox, the broker embedded (listen) or another host's (url).
type clusterHost struct {
	*testDaemon
	host *cluster.Host
}

func startClusterHost(t *testing.T, origin, url string) *clusterHost {
	t.Helper()
	return startClusterHostWith(t, origin, url, Options{}, nil)
}

// startClusterHostWith is startClusterHost with the daemon's options and
// before called on the daemon before it joins and runs.
func startClusterHostWith(t *testing.T, origin, url string, opts Options, before func(*Daemon)) *clusterHost {
	t.Helper()
	toml := fmt.Sprintf("[cluster]\nenabled = true\nsite = \"test\"\norigin = %q\n", origin)
	if url == "" {
		toml += "listen = \"inet:127.0.0.1:0\"\n"
	} else {
		toml += fmt.Sprintf("url = %q\n", url)
	}
	cfg, err := config.Parse("c.toml", []byte(toml))
	if err != nil {
		t.Fatal(err)
	}
	var ch clusterHost
	ch.testDaemon = startDaemonWith(t, opts, true, func(d *Daemon) {
		if before != nil {
			before(d)
		}
		h, err := cluster.Open(cfg.Cluster, t.TempDir(), d.Applier(), prometheus.NewRegistry(), nil)
		if err != nil {
			t.Fatal(err)
		}
		ch.host = h
		d.JoinCluster(h)
	})
	t.Cleanup(func() {
		ch.stop(t) // the node ends with the daemon's Run
		if err := ch.host.Close(); err != nil {
			t.Error(err)
		}
	})
	return &ch
}

// waitCursor polls the host's status until its statfile cursor is at
// least want.
func (ch *clusterHost) waitCursor(t *testing.T, want uint64) ClusterStatus {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := ch.ClusterStatus(context.Background(), true)
		if err != nil {
			t.Fatal(err)
		}
		if st.StatfileCursor >= want {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("cursor %d, want %d: %+v", st.StatfileCursor, want, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestClusterLearnsComeBackThroughTheStream: a learn on a cluster host is
// answered Queued and changes nothing until it comes back through the
// stream; then both hosts apply every event in the stream's order, a
// relearn on the other host included, and end with the same statfile
// (digest), marks that count each host's learns, and the learn cache's
// decision (the relearn moved the message to ham everywhere).
func TestClusterLearnsComeBackThroughTheStream(t *testing.T) {
	a := startClusterHost(t, "a", "")
	b := startClusterHost(t, "b", a.host.Server.ClientURL())

	mustLearn(t, a.Daemon, Spam, spam(1), "", learn.Queued)
	a.waitCursor(t, 1)
	b.waitCursor(t, 1)
	if got := b.totals(t, mmapstore.Shared); got.Spam != 1 || got.Ham != 0 {
		t.Fatalf("b after a's spam learn: %+v", got)
	}
	mustLearn(t, b.Daemon, Ham, spam(1), "", learn.Queued) // relearn on the other host
	a.waitCursor(t, 2)
	b.waitCursor(t, 2)
	mustLearn(t, b.Daemon, Ham, spam(1), "", learn.Queued) // the same class again: an event, already learned
	mustLearn(t, a.Daemon, Spam, spam(2), "", learn.Queued)
	sa, sb := a.waitCursor(t, 4), b.waitCursor(t, 4)
	if sa.Digest != sb.Digest {
		t.Fatalf("digests differ: a %s, b %s", sa.Digest, sb.Digest)
	}
	for _, st := range []ClusterStatus{sa, sb} {
		if st.StatfileMarks["a"] != 2 || st.StatfileMarks["b"] != 2 {
			t.Errorf("%s: marks %v, want a:2 b:2", st.Origin, st.StatfileMarks)
		}
	}
	for _, h := range []*clusterHost{a, b} {
		if got := h.totals(t, mmapstore.Shared); got.Spam != 1 || got.Ham != 1 {
			t.Errorf("totals %+v, want spam 1 (message 2) and ham 1 (message 1, relearned)", got)
		}
	}
	if n := a.counter(t, "sluice_learner_learns_total", map[string]string{"outcome": "queued"}); n != 2 {
		t.Errorf("a: %v learns counted queued, want 2", n)
	}
}

// The admin socket's cluster status carries the statfile's digest only
// when asked: a poller must not make the writer sort the statfile.
func TestClusterStatusDigestOnRequest(t *testing.T) {
	a := startClusterHost(t, "a", "")
	mustLearn(t, a.Daemon, Spam, spam(1), "", learn.Queued)
	want := a.waitCursor(t, 1)
	sock := serve(t, a.Daemon)
	for _, digest := range []bool{false, true} {
		st, err := ReadClusterStatus(context.Background(), sock, digest)
		if err != nil {
			t.Fatal(err)
		}
		if st.StatfileCursor != 1 || st.Origin != "a" {
			t.Errorf("digest %v: cursor %d origin %q, want 1 and a", digest, st.StatfileCursor, st.Origin)
		}
		if got, wantDigest := st.Digest, map[bool]string{false: "", true: want.Digest}[digest]; got != wantDigest {
			t.Errorf("asked for the digest: %v; got %q, want %q", digest, got, wantDigest)
		}
	}
}

// TestClusterDoorNeverLearnsDirectly: with NoDirect (a cluster host), a
// learn that finds no daemon goes to the spool, never into the statfile.
func TestClusterDoorNeverLearnsDirectly(t *testing.T) {
	dir := t.TempDir()
	statfile := dir + "/bayes.statfile"
	sp := NewSpool(dir+"/spool", 100, 1<<20)
	if err := sp.Init(0o700, -1); err != nil {
		t.Fatal(err)
	}
	door := NewDoor(DoorOptions{Socket: dir + "/none.sock", Statfile: statfile, NoDirect: true, Spool: sp, MaxMessage: 1 << 20,
		Writer: &mmapstore.Options{Params: storeParams()}, Timeout: time.Second})
	res, err := door.Learn(context.Background(), &Request{Label: Spam, Source: "test", Message: spam(1)})
	if err != nil || res.Via != ViaSpool {
		t.Fatalf("learn: %+v %v, want spooled", res, err)
	}
	if _, err := door.LearnAll(context.Background(), Spam, "", "test", func(yield func(string, []byte) error) error {
		return yield("m", spam(2))
	}, func(string, Outcome, error) {}); err == nil {
		t.Fatal("a bulk learn without a daemon learned directly")
	}
}

// TestClusterBootstrapFromSnapshot: a host stores a snapshot between two
// applies (its cursor and marks inside); a new host with an empty
// statfile installs it before applying anything, then applies only what
// the stream holds after it, and both end with the same digest.
func TestClusterBootstrapFromSnapshot(t *testing.T) {
	a := startClusterHost(t, "a", "")
	for i := range 3 {
		mustLearn(t, a.Daemon, Spam, spam(i), "", learn.Queued)
	}
	a.waitCursor(t, 3)
	meta, err := a.PutClusterSnapshot(context.Background(), 0)
	if err != nil || meta.Cursor != 3 || meta.Marks["a"] != 3 || meta.Size == 0 {
		t.Fatalf("snapshot: %+v %v", meta, err)
	}
	if again, err := a.PutClusterSnapshot(context.Background(), 3); err != nil || again.Size != 0 {
		t.Fatalf("a snapshot at an unchanged cursor was stored: %+v %v", again, err)
	}

	c := startClusterHost(t, "c", a.host.Server.ClientURL())
	st := c.waitCursor(t, 3)
	if applied := c.host.Node.Status().Applied; applied != 0 {
		t.Fatalf("the new host applied %d events from the stream instead of installing the snapshot", applied)
	}
	if want := a.waitCursor(t, 3); st.Digest != want.Digest {
		t.Fatalf("digest after bootstrap %s, the snapshot's host %s", st.Digest, want.Digest)
	}
	mustLearn(t, c.Daemon, Ham, ham(9), "", learn.Queued)
	sa, sc := a.waitCursor(t, 4), c.waitCursor(t, 4)
	if sa.Digest != sc.Digest || c.host.Node.Status().Applied != 1 {
		t.Fatalf("after one more event: digests %s and %s, applied %d", sa.Digest, sc.Digest, c.host.Node.Status().Applied)
	}
}

// TestClusterApplyFailureResumesFromCursor: events are applied in groups
// after ApplyEvent returned; when a group fails, what was queued after it
// is dropped, the next ApplyEvent says so, and Cursor() is where the
// node starts again: nothing after the failure is applied past a hole.
func TestClusterApplyFailureResumesFromCursor(t *testing.T) {
	td := startDaemon(t, Options{}, false)
	app := td.Applier()
	event := func(id int, seq uint64) learn.Event {
		res, err := tokenizer.New(tokenizer.Options{}).Tokenize(bytes.NewReader(spam(id)))
		if err != nil {
			t.Fatal(err)
		}
		ev := learn.EventOf(res, Spam, "", "test", storeParams())
		ev.Site, ev.Origin, ev.Seq = "test", "a", seq
		return ev
	}
	mustQueue := func(ev learn.Event, streamSeq uint64) {
		t.Helper()
		if out, err := app.ApplyEvent(ev, streamSeq); err != nil || out != learn.Queued {
			t.Fatalf("apply stream seq %d: %v %v, want queued", streamSeq, out, err)
		}
	}
	mustQueue(event(1, 1), 1)
	mustQueue(event(2, 2), 0) // stream sequence 0: the group fails, nothing of it is written
	// Queued after the failure (dropped), or refused with its error if
	// the group failed already: either way not applied.
	_, reported := app.ApplyEvent(event(3, 3), 3)
	if c, err := app.Cursor(); err != nil || c != 1 {
		t.Fatalf("cursor after the failure: %d %v, want 1", c, err)
	}
	if reported == nil {
		if _, reported = app.ApplyEvent(event(2, 2), 2); reported == nil {
			t.Fatal("the failure was not reported to the node")
		}
	}
	// The node starts again from cursor 1.
	mustQueue(event(2, 2), 2)
	mustQueue(event(3, 3), 3)
	if c, err := app.Cursor(); err != nil || c != 3 {
		t.Fatalf("cursor after resuming: %d %v, want 3", c, err)
	}
	if m, err := app.Marks(); err != nil || m["a"] != 3 {
		t.Fatalf("marks %v %v, want a:3", m, err)
	}
	if got := td.totals(t, mmapstore.Shared); got.Spam != 3 {
		t.Fatalf("spam learned %d, want 3 (each event once)", got.Spam)
	}
}

// TestClusterBootstrapOnlyWhenEmptyOrAsked: a host whose statfile holds
// learns of its own does not install a snapshot at start (it would lose
// them) unless asked (sluice learner --bootstrap, for a host that needs a
// re-bootstrap): then it does, and ends with the snapshot host's digest.
func TestClusterBootstrapOnlyWhenEmptyOrAsked(t *testing.T) {
	a := startClusterHost(t, "a", "")
	for i := range 3 {
		mustLearn(t, a.Daemon, Spam, spam(i), "", learn.Queued)
	}
	want := a.waitCursor(t, 3)
	if _, err := a.PutClusterSnapshot(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	for _, asked := range []bool{false, true} {
		t.Run(fmt.Sprintf("bootstrap=%v", asked), func(t *testing.T) {
			c := startClusterHostWith(t, fmt.Sprintf("c%v", asked), a.host.Server.ClientURL(), Options{Cluster: ClusterOptions{Bootstrap: asked}},
				func(d *Daemon) { // a learn of its own, before it joined
					if _, err := d.l.Learn(bytes.NewReader(ham(50)), Ham, ""); err != nil {
						t.Fatal(err)
					}
				})
			st := c.waitCursor(t, 3)
			ham := c.totals(t, mmapstore.Shared).Ham
			if asked && (st.Digest != want.Digest || ham != 0 || c.host.Node.Status().Applied != 0) {
				t.Fatalf("asked to bootstrap: digest %s (want %s), ham %d, applied %d", st.Digest, want.Digest, ham, c.host.Node.Status().Applied)
			}
			if !asked && (st.Digest == want.Digest || ham != 1 || c.host.Node.Status().Applied != 3) {
				t.Fatalf("not asked: digest %s, ham %d, applied %d: want its own learn kept and the stream replayed", st.Digest, ham, c.host.Node.Status().Applied)
			}
		})
	}
}
