package config

import (
	"strings"
	"testing"
	"time"
)

func TestSpamdSection(t *testing.T) {
	c := Default().Spamd
	if c.Listen != "inet:127.0.0.1:11333" || c.Timeout.D() != time.Minute || !c.AllowLearn {
		t.Fatalf("unexpected spamd defaults %+v", c)
	}
	tests := []struct{ in, wantErr string }{
		{"[spamd]\nlisten = \"unix:/run/sluice/spamd.sock\"\nsocket_mode = \"0666\"\ntimeout = \"2m\"\n", ""},
		{"[spamd]\nlisten = \"tcp:1\"\n", "spamd.listen"},
		{"[spamd]\nlisten = \"unix:relative.sock\"\n", "absolute path"},
		{"[spamd]\nsocket_mode = \"999\"\n", "spamd.socket_mode"},
		{"[spamd]\nmax_size = \"0B\"\n", "spamd.max_size: must be positive"},
		{"[spamd]\nmax_headers = -1\n", "spamd.max_headers"},
		{"[spamd]\nmax_line_length = 10\n", "spamd.max_line_length"},
		{"[spamd]\ntimeout = \"0s\"\n", "spamd.timeout"},
		{"[spamd]\nmax_connections = 0\n", "spamd.max_connections"},
	}
	for _, tt := range tests {
		c, err := Parse("s.toml", []byte(tt.in))
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("%q: %v", tt.in, err)
			} else if m, _ := c.Spamd.Mode(); m != 0o666 || c.Spamd.Timeout.D() != 2*time.Minute {
				t.Errorf("%q: got %+v", tt.in, c.Spamd)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%q: err = %v, want %q", tt.in, err, tt.wantErr)
		}
	}
}

// TestSpamdLearnAuth: learning over TCP off loopback needs a password;
// the listener refuses to start without one (issue 14).
func TestSpamdLearnAuth(t *testing.T) {
	tests := []struct{ in, wantErr string }{
		{"[spamd]\nlisten = \"inet:0.0.0.0:11333\"\n", "spamd.password: must be set"},
		{"[spamd]\nlisten = \"inet:192.0.2.1:11333\"\nallow_learn = true\n", "spamd.password: must be set"},
		{"[spamd]\nlisten = \"inet:0.0.0.0:11333\"\npassword = \"s3cret\"\n", ""},
		{"[spamd]\nlisten = \"inet:0.0.0.0:11333\"\nallow_learn = false\n", ""},
		{"[spamd]\nlisten = \"inet:127.0.0.1:11333\"\n", ""},
		{"[spamd]\nlisten = \"inet:[::1]:11333\"\n", ""},
		{"[spamd]\nlisten = \"unix:/run/sluice/spamd.sock\"\n", ""},
		{"[spamd]\nlearn_socket = \"unix:/x\"\n", "spamd.learn_socket"},
		{"[learner]\nmax_concurrent_learns = 0\n", "learner.max_concurrent_learns"},
		{"[learner]\nmax_user_namespaces = -1\n", "learner.max_user_namespaces"},
	}
	for _, tt := range tests {
		_, err := Parse("s.toml", []byte(tt.in))
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%q: err = %v, want %q", tt.in, err, tt.wantErr)
		}
	}
}
