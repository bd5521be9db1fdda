package mbox

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// WalkFolders reads a Maildir's cur/ and new/ but not its subfolders
// (unless recursive), follows symlinks to files, and counts what it left
// out.
func TestWalkFolders(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"Maildir/cur/1", "Maildir/new/2", "Maildir/.Junk/cur/3", "plain/a", "plain/sub/b"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("Subject: "+filepath.Base(p)+"\n\nx\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(dir, "Maildir/cur/1"), filepath.Join(dir, "plain/link")); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path      string
		recursive bool
		want      []string
		skipped   int
	}{
		{"Maildir", false, []string{"Maildir/cur/1", "Maildir/new/2"}, 1},
		{"Maildir", true, []string{"Maildir/.Junk/cur/3", "Maildir/cur/1", "Maildir/new/2"}, 0},
		{"plain", false, []string{"plain/a", "plain/link"}, 1},
		{"plain", true, []string{"plain/a", "plain/link", "plain/sub/b"}, 0},
		{"plain/link", false, []string{"plain/link"}, 0},
	} {
		var got []string
		skipped, err := WalkFolders([]string{filepath.Join(dir, tt.path)}, tt.recursive, func(name string, _ []byte) error {
			rel, _ := filepath.Rel(dir, name)
			got = append(got, rel)
			return nil
		})
		if err != nil || skipped != tt.skipped || !slices.Equal(got, tt.want) {
			t.Errorf("WalkFolders(%s, recursive %v) = %v, skipped %d, %v; want %v, skipped %d", tt.path, tt.recursive, got, skipped, err, tt.want, tt.skipped)
		}
	}
	if _, err := WalkFolders([]string{filepath.Join(dir, "missing")}, false, func(string, []byte) error { return nil }); !os.IsNotExist(err) {
		t.Errorf("missing path: %v, want not exist", err)
	}
}
