package milter

import (
	"context"
	"io"
	"net/netip"
	"sync"
	"testing"

	"github.com/emersion/go-milter"

	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/profile"
	"github.com/sluicemail/sluice/scan"
)

// requestTap records the requests a scanner is given.
type requestTap struct {
	Scanner
	mu   sync.Mutex
	reqs []scan.Request
}

func (r *requestTap) Scan(ctx context.Context, msg io.Reader, req scan.Request) (*scan.Verdict, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	return r.Scanner.Scan(ctx, msg, req)
}

func (r *requestTap) last() scan.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reqs[len(r.reqs)-1]
}

// TestProfiles: the settings profile comes from the user header when it
// names a user that has one, else from the first envelope recipient that
// has one; the profile's thresholds then decide (its add-header threshold
// is what X-Spam-Status reports as required).
func TestProfiles(t *testing.T) {
	matcher := profile.New(map[string]config.Profile{
		"finance": {Recipients: []string{"@finance.example.org"}},
		"kids":    {Recipients: []string{"kid@example.org"}},
	})
	sc := testScannerWith(t, scan.Options{Actions: defaultThresholds, Profiles: map[string]scan.Thresholds{"finance": {AddHeader: 6, Reject: 7}}})
	tap := &requestTap{Scanner: sc}
	h := start(t, Options{Scanner: tap, Profiles: matcher, UserHeader: "Deliver-To"})
	tests := []struct {
		name       string
		rcpts      []string
		userHeader string
		want       string
	}{
		{"no profile", []string{"bob@example.org"}, "", ""},
		{"domain", []string{"Ann@Finance.example.org"}, "", "finance"},
		{"first recipient with a profile", []string{"bob@example.org", "kid@example.org", "ann@finance.example.org"}, "", "kids"},
		{"user header wins", []string{"ann@finance.example.org"}, "kid@example.org", "kids"},
		{"user header without a profile", []string{"ann@finance.example.org"}, "bob@example.org", "finance"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := h.session(t)
			defer s.Close()
			if _, err := s.Conn("client.example", 0, 0, netip.MustParseAddr("192.0.2.7").String()); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Mail("<sender@example.org>", nil); err != nil {
				t.Fatal(err)
			}
			for _, r := range tt.rcpts {
				if _, err := s.Rcpt("<"+r+">", nil); err != nil {
					t.Fatal(err)
				}
			}
			m := newMessage(100+i, "minutes", hamWords, 0)
			if tt.userHeader != "" {
				m.header = append(m.header, [2]string{"Deliver-To", tt.userHeader})
			}
			if _, act, err := sendHeaderBody(s, m, ""); err != nil || act == nil {
				t.Fatalf("send: %v %v", act, err)
			}
			if got := tap.last().Profile; got != tt.want {
				t.Fatalf("profile %q, want %q", got, tt.want)
			}
		})
	}
}

// TestProfileThresholds: the same spam is marked for one recipient and
// rejected for a recipient whose profile rejects at a lower score.
func TestProfileThresholds(t *testing.T) {
	sc := testScannerWith(t, scan.Options{Actions: defaultThresholds, Profiles: map[string]scan.Thresholds{"finance": {AddHeader: 6, Reject: 7}}})
	h := start(t, Options{Scanner: sc, Profiles: profile.New(map[string]config.Profile{"finance": {Recipients: []string{"@finance.example.org"}}})})
	m := newMessage(7, "offer", spamWords, 0)
	mods, act := h.sendOne(t, envelope{rcpt: "bob@example.org"}, m)
	if act.Code != milter.ActAccept && act.Code != milter.ActContinue || headersOf(mods)["X-Spam-Flag"] != "YES" {
		t.Fatalf("default profile: %v %v", act, mods)
	}
	_, act = h.sendOne(t, envelope{rcpt: "ann@finance.example.org"}, m)
	if act.Code != milter.ActReplyCode {
		t.Fatalf("finance profile: %+v, want a reject", act)
	}
}
