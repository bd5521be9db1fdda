package config

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// maxSecretFile bounds what a password file may hold.
const maxSecretFile = 4 << 10

// ReadSecrets reads each password_file into its section's password, so
// that the daemons (which call it) have the secret while sluice.toml
// itself can stay readable by every user that runs `sluice learn` (the
// mail user of Dovecot's sieve pipes), which never needs a password. A
// missing, unreadable, empty or oversized file is an error naming the key.
func (c *Config) ReadSecrets() error {
	for _, s := range []struct {
		key      string
		file     string
		password *string
	}{
		{"learner.password_file", c.Learner.PasswordFile, &c.Learner.Password},
		{"spamd.password_file", c.Spamd.PasswordFile, &c.Spamd.Password},
	} {
		if s.file == "" {
			continue
		}
		pw, err := readSecret(s.file)
		if err != nil {
			return fmt.Errorf("%s: %w", s.key, err)
		}
		*s.password = pw
	}
	return nil
}

// readSecret returns the first line of the file at path.
func readSecret(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read the password: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", fmt.Errorf("read the password from %s: %w", path, err)
	}
	if len(data) > maxSecretFile {
		return "", fmt.Errorf("%s holds more than %d bytes: not a password file", path, maxSecretFile)
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	line = bytes.TrimRight(line, "\r")
	if len(line) == 0 {
		return "", fmt.Errorf("%s: the first line is empty", path)
	}
	return string(line), nil
}

// checkPasswordFile validates a password / password_file pair: not both,
// and the file's path absolute (it must not depend on the directory a
// daemon starts in).
func checkPasswordFile(password, file string) error {
	switch {
	case file == "":
		return nil
	case password != "":
		return fmt.Errorf("set password or password_file, not both")
	case !filepath.IsAbs(file):
		return fmt.Errorf("%q is not an absolute path", file)
	}
	return nil
}
