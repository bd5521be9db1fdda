package spamd

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicemail/sluice/feed"
)

// TestScanRecords: every verdict goes to the learner's feed as a record
// that names the front end and what the client said of the envelope, as
// the milter's do; without the SMTP client's address it is taken for
// local mail, and rspamd's User header for an authenticated session.
func TestScanRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "feed.sock")
	rc, err := feed.Listen(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	snd, err := feed.NewSender(path)
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	srv, addr := startServer(t, Options{Feed: snd})
	reg := prometheus.NewRegistry()
	if err := srv.Register(reg); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		req  string
		want string // the record's fields
	}{
		{"spamc", spamc("SYMBOLS SPAMC/1.5", "User: bob@example.org\r\n", spamMsg),
			"spamd q= client= sender= user=bob@example.org action=add header symbols=1 local=true auth=false"},
		{"rspamc", spamc("CHECK RSPAMC/1.3", "Queue-Id: 4QzW1\r\nIP: 203.0.113.9\r\nFrom: <alice@example.net>\r\nRcpt: <carol@example.org>\r\n", hamMsg),
			"rspamd q=4QzW1 client=203.0.113.9 sender=alice@example.net user=carol@example.org action=no action symbols=1 local=false auth=false"},
		{"http, loopback client, authenticated", post("/checkv2", "Queue-Id: 4QzW2\r\nIP: 127.0.0.1\r\nUser: dave\r\nFrom: dave@example.org\r\n", "Subject: x\r\n\r\nreject-me\r\n"),
			"rspamd q=4QzW2 client=127.0.0.1 sender=dave@example.org user= action=reject symbols=2 local=true auth=true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exchange(t, addr, tt.req)
			rc.SetReadDeadline(time.Now().Add(5 * time.Second))
			r, err := rc.Read()
			if err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprintf("%s q=%s client=%s sender=%s user=%s action=%s symbols=%d local=%v auth=%v",
				r.Frontend, r.QueueID, r.Client, r.Sender, r.User, r.Action, len(r.Symbols), r.Local, r.Authenticated)
			if got != tt.want {
				t.Fatalf("record\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
	if n := value(srv.count.records[0]); n != 3 {
		t.Fatalf("%v records counted as sent, want 3", n)
	}
}
