package scan

import (
	"net/netip"
	"slices"
	"testing"
)

func TestParseEnvelope(t *testing.T) {
	tests := []struct {
		sender, rcpts, client string
		want                  Envelope
		wantErr               bool
	}{
		{"", "", "", Envelope{}, false},
		{"a@example.org", " b@example.com, ,c@example.net ", "192.0.2.7",
			Envelope{Sender: "a@example.org", Recipients: []string{"b@example.com", "c@example.net"}, Client: netip.MustParseAddr("192.0.2.7")}, false},
		{"", "", "2001:db8::1", Envelope{Client: netip.MustParseAddr("2001:db8::1")}, false},
		{"", "", "host.example", Envelope{}, true},
	}
	for _, tt := range tests {
		got, err := ParseEnvelope(tt.sender, tt.rcpts, tt.client)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseEnvelope(%q, %q, %q) error %v, want error %v", tt.sender, tt.rcpts, tt.client, err, tt.wantErr)
			continue
		}
		if got.Sender != tt.want.Sender || !slices.Equal(got.Recipients, tt.want.Recipients) || got.Client != tt.want.Client {
			t.Errorf("ParseEnvelope(%q, %q, %q) = %+v, want %+v", tt.sender, tt.rcpts, tt.client, got, tt.want)
		}
	}
}
