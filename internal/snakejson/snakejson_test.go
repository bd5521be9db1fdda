package snakejson

import "testing"

func TestCase(t *testing.T) {
	for in, want := range map[string]string{
		"BytesPerToken": "bytes_per_token", "NS": "ns", "HTTPListen": "http_listen",
		"AgeSeconds": "age_seconds", "already_learned": "already_learned", "Spam": "spam", "InputNames": "input_names",
	} {
		if got := Case(in); got != want {
			t.Errorf("Case(%q) = %q, want %q", in, got, want)
		}
	}
}
