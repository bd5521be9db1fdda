package mbox

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// ReadAll keeps max bytes and drains the rest, so that a writer to a pipe
// never blocks.
func TestReadAll(t *testing.T) {
	for _, tt := range []struct {
		in   string
		max  int64
		want string
	}{
		{"Subject: a\n\nbody\n", 100, "Subject: a\n\nbody\n"},
		{"0123456789", 10, "0123456789"},
		{"0123456789abcdef", 10, "0123456789"},
		{"", 10, ""},
	} {
		r := strings.NewReader(tt.in)
		got, err := ReadAll(r, tt.max)
		if err != nil || string(got) != tt.want || r.Len() != 0 {
			t.Errorf("ReadAll(%q, %d) = %q, %v, %d bytes left unread", tt.in, tt.max, got, err, r.Len())
		}
	}
}

func TestWalkInput(t *testing.T) {
	mbox := "From x@y Mon Jan  1 00:00:00 2024\nSubject: one\n\n1\nFrom x@y Mon Jan  1 00:00:00 2024\nSubject: two\n\n2\n"
	file := filepath.Join(t.TempDir(), "a.eml")
	if err := os.WriteFile(file, []byte("Subject: a\n\na\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		paths []string
		want  []string
	}{
		{nil, []string{"-#1", "-#2"}},
		{[]string{file}, []string{file}},
	} {
		var got []string
		err := WalkInput(bytes.NewReader([]byte(mbox)), 1<<20, tt.paths, func(name string, _ []byte) error {
			got = append(got, name)
			return nil
		})
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("WalkInput(%v) = %q, %v; want %q", tt.paths, got, err, tt.want)
		}
	}
}
