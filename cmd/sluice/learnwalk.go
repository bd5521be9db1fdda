package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sluicemail/sluice/mbox"
)

// What `sluice learn` reads from the paths it is given, and what it
// accepts as a mail message.

// walkLearn calls fn for each message under paths, as `sluice learn`
// reads them: a file (or a symlink to one) is one message or an mbox; a
// directory is the folder it is (a Maildir folder: the files of its cur/
// and new/; any other directory: the files in it), not its subfolders
// (a Maildir's .Junk is another folder, learned only when named or with
// recursive). Symlinks to files are followed everywhere; symlinks to
// directories only when named, so that a walk cannot loop. skipped counts
// the subfolders left out.
func walkLearn(paths []string, recursive bool, fn func(name string, msg []byte) error) (skipped int, err error) {
	readFile := func(path string) error {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return mbox.Split(path, data, fn)
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

// errNotMail is why `sluice learn` refuses an input before it reaches the
// learner.
var errNotMail = errors.New("not a mail message")

// mailFields are the header fields one of which a mail message has: what
// every MTA and MUA writes. A file of "name: value" lines without any of
// them (/etc/passwd, a YAML file, a log) is not mail.
var mailFields = []string{
	"from", "sender", "reply-to", "to", "cc", "date", "message-id", "received",
	"return-path", "delivered-to", "subject", "mime-version",
}

// maxHeaderScan bounds how much of an input checkMail reads.
const maxHeaderScan = 256 << 10

// checkMail is the rule by which `sluice learn` takes an input for a mail
// message: it starts with a header block (RFC 5322 "Name: value" fields,
// continuation lines, up to the first empty line or the first line that
// is neither), and that block holds at least one field every mail has
// (mailFields: From, Date, Message-ID, Received, Subject, To…). The
// tokenizer alone takes any "word: text" line for a header field, and so
// /etc/passwd for a message.
func checkMail(data []byte) error {
	sc := bufio.NewScanner(bytes.NewReader(data[:min(len(data), maxHeaderScan)]))
	sc.Buffer(make([]byte, 0, 4096), maxHeaderScan)
	fields := 0
	for first := true; sc.Scan(); first = false {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			break
		}
		if !first && (line[0] == ' ' || line[0] == '\t') {
			continue
		}
		name, _, ok := strings.Cut(line, ":")
		if !ok || !fieldName(name) {
			if first {
				return fmt.Errorf("%w: it does not start with a header field", errNotMail)
			}
			break
		}
		fields++
		if slices.Contains(mailFields, strings.ToLower(name)) {
			return nil
		}
	}
	if fields == 0 {
		return fmt.Errorf("%w: no header fields", errNotMail)
	}
	return fmt.Errorf("%w: none of its %d header fields is From, To, Subject, Date, Message-ID, Received or another that every mail has", errNotMail, fields)
}

// fieldName reports whether s is an RFC 5322 field name: printable ASCII
// but ':' and space.
func fieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
