package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/sluicemail/sluice/config"
)

// Exit codes, from sysexits.h where one fits: Dovecot's pipe and admins'
// scripts tell "bad input" from "try again later" by them.
const (
	exitUsage    = 64 // EX_USAGE: bad command line
	exitDataErr  = 65 // EX_DATAERR: the input is not a message
	exitTempFail = 75 // EX_TEMPFAIL: busy or unreachable, try again later
	exitCorrupt  = 2  // fsck found problems
)

// exitError carries a specific exit code out of a command; err, when not
// nil, is printed on stderr first.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// stdio is a command's standard streams.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// common holds the flags every command shares.
type common struct {
	configPath string
	dataDir    string
	json       bool
}

// newFlags returns a flag set with the shared flags registered. withJSON adds
// --json for commands whose output scripts read.
func newFlags(name, argsUsage string, std *stdio, withJSON bool) (*flag.FlagSet, *common) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(std.err)
	c := &common{}
	fs.StringVar(&c.configPath, "config", "", "TOML configuration `file` (default: embedded defaults)")
	fs.StringVar(&c.dataDir, "data-dir", "", "data `directory` (default from config, ./sluice-data)")
	if withJSON {
		fs.BoolVar(&c.json, "json", false, "print JSON for scripts")
	}
	fs.Usage = func() {
		fmt.Fprintf(std.err, "usage: sluice %s [flags] %s\n", name, argsUsage)
		fs.PrintDefaults()
	}
	return fs, c
}

// parse parses args, turning a flag error into exit code 64 (and --help into 0).
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return &exitError{code: 0}
		}
		return &exitError{code: exitUsage}
	}
	return nil
}

// load reads the configuration and applies the --data-dir override.
func (c *common) load() (config.Config, error) {
	cfg, err := config.Load(c.configPath)
	if err != nil {
		return cfg, &exitError{code: 78, err: err} // EX_CONFIG
	}
	if c.dataDir != "" {
		cfg.DataDir = c.dataDir
	}
	return cfg, nil
}

// dataPath resolves p below the data directory unless it is absolute, and
// creates the data directory on first use.
func dataPath(cfg config.Config, p string) (string, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return "", fmt.Errorf("create data directory: %w", err)
	}
	if filepath.IsAbs(p) {
		return p, nil
	}
	return filepath.Join(cfg.DataDir, p), nil
}

// newLogger builds the command's slog logger on stderr from the config.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
