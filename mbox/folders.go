package mbox

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// WalkFolders calls fn for each message under paths, as `sluice learn`
// reads them: a file (or a symlink to one) is one message or an mbox; a
// directory is the folder it is (a Maildir folder: the files of its cur/
// and new/; any other directory: the files in it), not its subfolders
// (a Maildir's .Junk is another folder, learned only when named or with
// recursive). Symlinks to files are followed everywhere; symlinks to
// directories only when named, so that a walk cannot loop. skipped counts
// the subfolders left out.
func WalkFolders(paths []string, recursive bool, fn func(name string, msg []byte) error) (skipped int, err error) {
	readFile := func(path string) error {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return Split(path, data, fn)
	}
	for _, p := range paths {
		st, err := os.Stat(p) // follows a symlink
		if err != nil {
			return skipped, err
		}
		switch {
		case !st.IsDir():
			if err := readFile(p); err != nil {
				return skipped, err
			}
		case recursive:
			if err := walkTree(p, readFile); err != nil {
				return skipped, err
			}
		default:
			dirs := []string{p}
			if isMaildir(p) {
				dirs = []string{filepath.Join(p, "cur"), filepath.Join(p, "new")}
			}
			for _, d := range dirs {
				n, err := walkFolder(d, readFile)
				skipped += n
				if err != nil && !(d != p && errors.Is(err, fs.ErrNotExist)) {
					return skipped, err
				}
			}
			if isMaildir(p) {
				skipped += countSubfolders(p)
			}
		}
	}
	return skipped, nil
}

// isMaildir reports whether dir is a Maildir folder: it has cur/ or new/.
func isMaildir(dir string) bool {
	for _, sub := range []string{"cur", "new"} {
		if st, err := os.Stat(filepath.Join(dir, sub)); err == nil && st.IsDir() {
			return true
		}
	}
	return false
}

// countSubfolders counts a Maildir's other folders (.Junk, .Sent…).
func countSubfolders(dir string) int {
	entries, _ := os.ReadDir(dir)
	n := 0
	for _, e := range entries {
		if e.IsDir() && !slices.Contains([]string{"cur", "new", "tmp"}, e.Name()) {
			n++
		}
	}
	return n
}

// walkFolder reads the files directly in dir (symlinks to files too), in
// lexical order, and returns how many directories it left out.
func walkFolder(dir string, read func(string) error) (skipped int, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		st, err := os.Stat(path)
		if err != nil {
			return skipped, err
		}
		if st.IsDir() {
			if filepath.Base(dir) != "cur" && filepath.Base(dir) != "new" {
				skipped++
			}
			continue
		}
		if !st.Mode().IsRegular() {
			continue
		}
		if err := read(path); err != nil {
			return skipped, err
		}
	}
	return skipped, nil
}

// walkTree reads every file below dir, following symlinks to files but
// not to directories.
func walkTree(dir string, read func(string) error) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		st, err := os.Stat(path)
		if err != nil {
			return err
		}
		if !st.Mode().IsRegular() {
			return nil
		}
		return read(path)
	})
}
