// Package corpus reads the public SpamAssassin corpus that the project measures
// itself against: the tarball shared/corpora/spamassassin-public.tar.gz, read in
// place (no unpacking), with its documented train/test split.
//
// A message is in the test set when the first hex digit of the MD5 in its file
// name (the part after the dot) is 0–4, otherwise in the train set. The class
// comes from the folder: names starting with "spam" are spam, the rest ham.
package corpus

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// TarballName is the corpus file's path below a directory that holds shared/.
const TarballName = "shared/corpora/spamassassin-public.tar.gz"

// ErrNotFound is returned by Find when no corpus tarball is reachable.
var ErrNotFound = errors.New("corpus: spamassassin-public.tar.gz not found: put it in shared/corpora/ beside the checkout (../shared/corpora/) or set SLUICE_CORPUS=/path/to/it")

// Message is one corpus message.
type Message struct {
	Name  string // path inside the tarball, e.g. spamassassin/spam-1/00001.7c53…
	Spam  bool   // class, from the folder name
	Test  bool   // in the test half of the documented split
	Bytes []byte // raw RFC 822 bytes, unchanged
}

// Find returns the corpus tarball's path: $SLUICE_CORPUS when set, else the
// first ancestor of the working directory that has shared/corpora/ below it
// (the checkout sits beside shared/ in development and in CI).
func Find() (string, error) {
	if p := os.Getenv("SLUICE_CORPUS"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("corpus: SLUICE_CORPUS: %w", err)
		}
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("corpus: %w", err)
	}
	for {
		p := filepath.Join(dir, TarballName)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNotFound
		}
		dir = parent
	}
}

// Walk calls fn for every message in the tarball at path, in tarball order.
// It stops at the first error fn returns and returns it.
func Walk(path string, fn func(Message) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("corpus: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("corpus: %s: %w", path, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("corpus: %s: %w", path, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		m, ok := classify(h.Name)
		if !ok {
			continue
		}
		if m.Bytes, err = io.ReadAll(tr); err != nil {
			return fmt.Errorf("corpus: %s: read %s: %w", path, h.Name, err)
		}
		if err := fn(m); err != nil {
			return err
		}
	}
}

// Load returns every message of the tarball at path.
func Load(path string) ([]Message, error) {
	var all []Message
	err := Walk(path, func(m Message) error {
		all = append(all, m)
		return nil
	})
	return all, err
}

// classify tells class and split from a tarball member name
// (spamassassin/<folder>/<nnnnn>.<md5>); ok is false for other files.
func classify(name string) (Message, bool) {
	parts := strings.Split(name, "/")
	if len(parts) != 3 {
		return Message{}, false
	}
	folder, file := parts[1], parts[2]
	dot := strings.LastIndexByte(file, '.')
	if dot < 0 || len(file)-dot-1 != 32 {
		return Message{}, false
	}
	first := file[dot+1]
	return Message{
		Name: name,
		Spam: strings.HasPrefix(folder, "spam"),
		Test: first >= '0' && first <= '4',
	}, true
}
