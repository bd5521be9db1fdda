package mbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Walk calls fn for each message under paths: a file is one message, or
// every message of an mbox; a directory (a maildir, say) is every
// regular file below it, in lexical order. A message's name is its file's
// path, with "#N" for the Nth message of an mbox. Walk stops at fn's
// first error.
func Walk(paths []string, fn func(name string, msg []byte) error) error {
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !d.Type().IsRegular() {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return Split(path, data, fn)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Split calls fn for the messages of one file named name: the file
// itself, or each message of an mbox.
func Split(name string, data []byte, fn func(name string, msg []byte) error) error {
	if !IsMbox(data) {
		return fn(name, data)
	}
	if m, ok := Single(data); ok {
		return fn(name, m) // one message after its From_ line: no copy
	}
	r := NewReader(bytes.NewReader(data), 0)
	for i := 1; ; i++ {
		m, err := r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := fn(fmt.Sprintf("%s#%d", name, i), m); err != nil {
			return err
		}
	}
}
