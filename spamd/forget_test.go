package spamd

import (
	"testing"
)

// TELL with Remove: local alone forgets.
func TestSpamdTellForget(t *testing.T) {
	_, addr := startServer(t, Options{Learner: &fakeLearner{}, LearnPassword: "pw"})
	set := spamc("TELL SPAMC/1.3", "Password: pw\r\nMessage-class: spam\r\nSet: local\r\n", spamMsg)
	forget := spamc("TELL SPAMC/1.3", "Password: pw\r\nRemove: local\r\n", spamMsg)
	steps := []struct{ req, want string }{
		{forget, "SPAMD/1.1 0 EX_OK\r\n\r\n\r\n"},
		{set, "SPAMD/1.1 0 EX_OK\r\nDidSet: local\r\n\r\n\r\n"},
		{forget, "SPAMD/1.1 0 EX_OK\r\nDidRemove: local\r\n\r\n\r\n"},
		{forget, "SPAMD/1.1 0 EX_OK\r\n\r\n\r\n"},
	}
	for i, s := range steps {
		if got := exchange(t, addr, s.req); got != s.want {
			t.Fatalf("step %d: %q, want %q", i, got, s.want)
		}
	}
}
