package spamd

import (
	"slices"
	"testing"
)

// TestRspamdEnvelope: the From, Rcpt and IP headers of an rspamd request
// become the envelope the allow and block lists match.
func TestRspamdEnvelope(t *testing.T) {
	tests := []struct {
		name   string
		h      map[string][]string
		sender string
		rcpts  []string
		client string
	}{
		{"none", map[string][]string{}, "", nil, ""},
		{"all", map[string][]string{"from": {"<a@b.example>"}, "rcpt": {"<c@d.example>", "e@f.example"}, "ip": {"192.0.2.7"}},
			"a@b.example", []string{"c@d.example", "e@f.example"}, "192.0.2.7"},
		{"v4-mapped and bracketed", map[string][]string{"ip": {"[::ffff:192.0.2.8]"}}, "", nil, "192.0.2.8"},
		{"bad ip", map[string][]string{"ip": {"not-an-ip"}}, "", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := New(Options{Scanner: fakeScanner{}}).rspamdRequest(tt.h).Envelope
			var client string
			if env.Client.IsValid() {
				client = env.Client.String()
			}
			if env.Sender != tt.sender || !slices.Equal(env.Recipients, tt.rcpts) || client != tt.client {
				t.Errorf("envelope %+v, want %q %q %q", env, tt.sender, tt.rcpts, tt.client)
			}
		})
	}
}
