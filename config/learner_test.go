package config

import (
	"strings"
	"testing"
)

func TestLearnerSection(t *testing.T) {
	c := Default().Learner
	if c.Autolearn || c.HTTPListen != "inet:127.0.0.1:11334" || !c.HTTPLoopback() || c.MinProb != 0.95 || c.MinBalance != 0.9 {
		t.Fatalf("unexpected learner defaults %+v", c)
	}
	tests := []struct{ in, wantErr string }{
		{"[learner]\nautolearn = true\nspam_score = 5\nham_score = -1\nsocket_group = \"vmail\"\n", ""},
		{"[learner]\nhttp_listen = \"\"\n", ""},
		{"[learner]\nhttp_listen = \"inet:[::1]:11334\"\n", ""},
		{"[learner]\nhttp_listen = \"inet:0.0.0.0:11334\"\npassword = \"s3cret\"\n", ""},
		{"[learner]\nhttp_listen = \"inet:0.0.0.0:11334\"\n", "learner.password: must be set"},
		{"[learner]\nhttp_listen = \"unix:/run/x.sock\"\n", "learner.http_listen"},
		{"[learner]\nsocket = \"\"\n", "learner.socket"},
		{"[learner]\nsocket_mode = \"x\"\n", "learner.socket_mode"},
		{"[learner]\nham_score = 9\n", "learner.ham_score"},
		{"[learner]\nmin_prob = 0.4\n", "learner.min_prob"},
		{"[learner]\nmin_balance = 0\n", "learner.min_balance"},
		{"[learner]\nmax_batch = 0\n", "learner.max_batch"},
		{"[learner]\nspool_max = 0\n", "learner.spool_max"},
	}
	for _, tt := range tests {
		_, err := Parse("l.toml", []byte(tt.in))
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("%q: %v", tt.in, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%q: err = %v, want %q", tt.in, err, tt.wantErr)
		}
	}
}
