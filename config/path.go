package config

import (
	"errors"
	"io/fs"
	"os"
)

// DefaultPath is the configuration every caller reads when none is named:
// the daemons, `sluice learn` run by Dovecot as a mail user, and the
// admin's shell then agree on data_dir and the sockets without flags.
const DefaultPath = "/etc/sluice/sluice.toml"

// PathEnv names an environment variable that overrides DefaultPath (tests,
// unusual layouts); set and empty, it means the embedded defaults.
const PathEnv = "SLUICE_CONFIG"

// Path returns the configuration file to read: flagValue when given, else
// $SLUICE_CONFIG when set, else DefaultPath when it exists, else "" (the
// embedded defaults). A DefaultPath that exists but cannot be read is
// still returned, so that Load says why instead of silently running on
// the defaults.
func Path(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if p, ok := os.LookupEnv(PathEnv); ok {
		return p
	}
	if _, err := os.Stat(DefaultPath); errors.Is(err, fs.ErrNotExist) {
		return ""
	}
	return DefaultPath
}
