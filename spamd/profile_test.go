package spamd

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/profile"
	"github.com/sluicemail/sluice/scan"
)

// profileScanner is fakeScanner that passes the request's profile on to
// the verdict, deciding with the profile's thresholds.
type profileScanner struct{ thresholds map[string]scan.Thresholds }

func (p profileScanner) Scan(ctx context.Context, r io.Reader, req scan.Request) (*scan.Verdict, error) {
	v, err := fakeScanner{}.Scan(ctx, r, req)
	if err != nil {
		return nil, err
	}
	v.Profile = req.Profile
	if th, ok := p.thresholds[req.Profile]; ok {
		v.Required, v.Thresholds, v.Action = th.AddHeader, th, th.Decide(v.Score)
	}
	return v, nil
}

var testProfiles = map[string]config.Profile{
	"finance": {Recipients: []string{"@finance.example.org"}},
	"kids":    {Recipients: []string{"kid"}},
}

func TestRspamdRequestProfile(t *testing.T) {
	s := New(Options{Scanner: fakeScanner{}, Profiles: profile.New(testProfiles)})
	tests := []struct {
		name string
		h    map[string][]string
		want string
	}{
		{"none", map[string][]string{"rcpt": {"<bob@example.org>"}}, ""},
		{"one recipient", map[string][]string{"rcpt": {"<ann@Finance.example.org>"}}, "finance"},
		{"first recipient that has one", map[string][]string{"rcpt": {"<bob@example.org>", "<ann@finance.example.org>"}}, "finance"},
		{"deliver-to first", map[string][]string{"rcpt": {"<ann@finance.example.org>"}, "deliver-to": {"kid"}}, "kids"},
		{"settings-id names one", map[string][]string{"rcpt": {"<ann@finance.example.org>"}, "settings-id": {"kids"}}, "kids"},
		{"settings-id default", map[string][]string{"rcpt": {"<ann@finance.example.org>"}, "settings-id": {"default"}}, ""},
		{"unknown settings-id is ignored", map[string][]string{"rcpt": {"<ann@finance.example.org>"}, "settings-id": {"nope"}}, "finance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.rspamdRequest(tt.h).Profile; got != tt.want {
				t.Errorf("profile %q, want %q", got, tt.want)
			}
		})
	}
	if got := New(Options{Scanner: fakeScanner{}}).rspamdRequest(map[string][]string{"settings-id": {"kids"}}).Profile; got != "" {
		t.Errorf("without profiles: %q", got)
	}
}

// TestProfileReplies: every protocol scans with the profile of its
// recipients and reports that profile's thresholds.
func TestProfileReplies(t *testing.T) {
	strict := scan.Thresholds{AddHeader: 5, Reject: 7}
	_, addr := startServer(t, Options{
		Scanner:  profileScanner{map[string]scan.Thresholds{"finance": strict}},
		Profiles: profile.New(testProfiles),
	})
	const msg = "Subject: viagra\r\n\r\nviagra\r\n"
	tests := []struct{ name, req, want string }{
		{"spamd user without a profile", spamc("CHECK SPAMC/1.5", "User: bob\r\n", msg), "Spam: True ; 8.0 / 6.0"},
		{"spamd user with a profile", spamc("CHECK SPAMC/1.5", "User: ann@finance.example.org\r\n", msg), "Spam: True ; 8.0 / 5.0"},
		{"legacy rspamd, Rcpt", strings.Replace(eximRspamd(msg), "bob@example.org", "ann@finance.example.org", 1), "Metric: default; True; 8.00 / 7.00 / 7.00\r\nAction: reject"},
		{"legacy rspamd, Settings-ID", strings.Replace(eximRspamd(msg), "IP: 127.0.0.1\r\n", "IP: 127.0.0.1\r\nSettings-ID: finance\r\n", 1), "Metric: default; True; 8.00 / 7.00 / 7.00"},
		{"legacy rspamd, no profile", eximRspamd(msg), "Metric: default; False; 8.00 / 15.00 / 15.00\r\nAction: add header"},
		{"checkv2, Settings-ID", post("/checkv2", "Settings-ID: finance\r\n", msg), `"required_score":7,"action":"reject","thresholds":{"add header":5,"reject":7}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exchange(t, addr, tt.req); !strings.Contains(got, tt.want) {
				t.Errorf("reply %q\nwant it to contain %q", got, tt.want)
			}
		})
	}
}
