package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
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

// DataPath resolves p below the data directory unless it is absolute.
func (c Config) DataPath(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.DataDir, p)
}

// StatfilePath is the statfile: [statfile] path, below the data directory
// when relative.
func (c Config) StatfilePath() string { return c.DataPath(c.Statfile.Path) }

// NetworkPath is the network file of a settings profile ("": the default
// one, [neural] file), below the data directory when relative.
func (c Config) NetworkPath(profile string) string {
	return c.DataPath(c.Neural.ProfileFile(profile))
}
