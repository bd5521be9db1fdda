package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

var errInjected = errors.New("injected")

// TestWrite: each step failing in turn. Before the rename, the old file
// stays and no temporary file is left; a failed directory fsync comes
// after the rename, so the new file is in place and Commit says so.
func TestWrite(t *testing.T) {
	for _, tc := range []struct {
		name      string
		opts      Options
		wantErr   bool
		wantNew   bool
		fixedTemp bool
	}{
		{name: "ok", wantNew: true},
		{name: "ok, fixed temp path", wantNew: true, fixedTemp: true},
		{name: "ok, no sync", opts: Options{NoSync: true}, wantNew: true},
		{name: "fsync fails", opts: Options{BeforeSync: func(*os.File) error { return errInjected }}, wantErr: true},
		{name: "rename fails", opts: Options{BeforeRename: func(string, string) error { return errInjected }}, wantErr: true},
		{name: "directory fsync fails", opts: Options{BeforeSyncDir: func(string) error { return errInjected }}, wantErr: true, wantNew: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f")
			if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
				t.Fatal(err)
			}
			o := tc.opts
			o.Perm = 0o640
			if tc.fixedTemp {
				o.TempPath = path + ".tmp"
				if err := os.WriteFile(o.TempPath, []byte("leftover"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := Write(path, []byte("new"), &o)
			if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, errInjected)) {
				t.Fatalf("Write: %v, want error %v", err, tc.wantErr)
			}
			b, _ := os.ReadFile(path)
			if want := map[bool]string{true: "new", false: "old"}[tc.wantNew]; string(b) != want {
				t.Fatalf("file holds %q, want %q", b, want)
			}
			if fi, _ := os.Stat(path); tc.wantNew && fi.Mode().Perm() != 0o640 {
				t.Errorf("mode %v, want 0640", fi.Mode().Perm())
			}
			ents, _ := os.ReadDir(dir)
			if len(ents) != 1 {
				t.Errorf("directory holds %d entries, want only the file", len(ents))
			}
		})
	}
}

// TestWrite_oldReadersKeepTheirFile: a file opened before the
// replacement still reads the old content.
func TestWrite_oldReadersKeepTheirFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := Write(path, []byte("old"), nil); err != nil {
		t.Fatal(err)
	}
	r, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := Write(path, []byte("new!"), nil); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 8)
	n, _ := r.Read(b)
	if string(b[:n]) != "old" {
		t.Errorf("old reader reads %q", b[:n])
	}
}

// TestAbort removes the temporary file and leaves the path alone.
func TestAbort(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	f, err := Create(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("partial")
	if err := f.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Commit(); err == nil {
		t.Error("Commit after Abort succeeded")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("%d entries left", len(ents))
	}
}
