package mbox

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestWalk(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"b.eml":         "Subject: b\n\nb\n",
		"a.mbox":        "From x@y Mon Jan  1 00:00:00 2024\nSubject: one\n\n>From here\nFrom x@y Mon Jan  1 00:00:00 2024\nSubject: two\n\n2\n",
		"cur/c.eml":     "Subject: c\n\nc\n",
		"single.mbox":   "From x@y Mon Jan  1 00:00:00 2024\nSubject: s\n\ns\n",
		"cur/empty.eml": "",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	type msg struct{ name, body string }
	var got []msg
	err := Walk([]string{dir, filepath.Join(dir, "b.eml")}, func(name string, m []byte) error {
		rel, _ := filepath.Rel(dir, name)
		got = append(got, msg{rel, string(m)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []msg{
		{"a.mbox#1", "Subject: one\n\nFrom here\n"},
		{"a.mbox#2", "Subject: two\n\n2\n"},
		{"b.eml", "Subject: b\n\nb\n"},
		{"cur/c.eml", "Subject: c\n\nc\n"},
		{"cur/empty.eml", ""},
		{"single.mbox", "Subject: s\n\ns\n"},
		{"b.eml", "Subject: b\n\nb\n"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("walked\n%q\nwant\n%q", got, want)
	}

	stop := errors.New("stop")
	n := 0
	if err := Walk([]string{dir}, func(string, []byte) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Fatalf("stop: %v after %d", err, n)
	}
	if err := Walk([]string{filepath.Join(dir, "missing")}, func(string, []byte) error { return nil }); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing path: %v", err)
	}
}
