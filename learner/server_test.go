package learner

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/socket"
)

// serve runs a Server for d on a unix socket and returns its path.
func serve(t *testing.T, d *Daemon) string {
	t.Helper()
	path, _ := serveWith(t, d, ServerOptions{IdleTimeout: 5 * time.Second})
	return path
}

// serveWith runs a Server for d with opts on a unix socket.
func serveWith(t *testing.T, d *Daemon, opts ServerOptions) (string, *Server) {
	t.Helper()
	dir, err := os.MkdirTemp("", "sl-") // short: sun_path is 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "l.sock")
	ln, err := socket.ListenUnix(path, socket.Options{Mode: 0o660})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket mode: %v %v", fi.Mode(), err)
	}
	srv := NewServer(d, opts)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return path, srv
}

func TestServerClient(t *testing.T) {
	d := startDaemon(t, Options{}, false)
	path := serve(t, d.Daemon)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, path, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	steps := []struct {
		label Label
		m     []byte
		want  learn.Outcome
		err   error
	}{
		{Spam, spam(1), learn.Learned, nil},
		{Spam, spam(1), learn.AlreadyLearned, nil},
		{Ham, spam(1), learn.Relearned, nil},
		{Ham, []byte("not a message"), 0, learn.ErrNotMessage},
		{Ham, ham(2), learn.Learned, nil}, // the connection survives a bad message
	}
	for i, s := range steps {
		out, err := c.Learn(ctx, &Request{Label: s.label, Source: "test", Message: s.m})
		if out != s.want || !errors.Is(err, s.err) {
			t.Fatalf("step %d: %v %v, want %v %v", i, out, err, s.want, s.err)
		}
	}
	if tot := d.totals(t, mmapstore.Shared); tot.Spam != 0 || tot.Ham != 2 {
		t.Fatalf("totals %+v", tot)
	}
	// Many clients at once.
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			c, err := Dial(ctx, path, 1<<20)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			for i := range 20 {
				if out, err := c.Learn(ctx, &Request{Label: Spam, Source: "test", Message: spam(1000 + g*100 + i)}); err != nil || out != learn.Learned {
					t.Errorf("client %d learn %d: %v %v", g, i, out, err)
				}
			}
		})
	}
	wg.Wait()
	if tot := d.totals(t, mmapstore.Shared); tot.Spam != 160 {
		t.Fatalf("spam total %d, want 160", tot.Spam)
	}
}

func TestServerBadRequest(t *testing.T) {
	d := startDaemon(t, Options{MaxMessage: 100}, false)
	path := serve(t, d.Daemon)
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("SLRQ\x01\x01\x00\x00\x00\x00\x10\x00\x00"))
	resp, err := ReadResponse(c)
	if err != nil || resp.Status != StatusBadRequest {
		t.Fatalf("oversized request: %+v %v", resp, err)
	}
}

func TestDialUnreachable(t *testing.T) {
	_, err := Dial(context.Background(), filepath.Join(t.TempDir(), "none.sock"), 100)
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("dial a missing socket: %v", err)
	}
}
