package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/logging"
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
	fs.StringVar(&c.configPath, "config", "", "TOML configuration `file`; without it $"+config.PathEnv+", else "+config.DefaultPath+" if it exists, else the embedded defaults")
	fs.StringVar(&c.dataDir, "data-dir", "", "data `directory`; without it the configuration's data_dir (./sluice-data by default)")
	if withJSON {
		fs.BoolVar(&c.json, "json", false, "print JSON for scripts")
	}
	fs.Usage = func() {
		fmt.Fprintf(std.err, "usage: sluice %s [flags] %s\n", name, argsUsage)
		fs.PrintDefaults()
	}
	return fs, c
}

// parse parses args, turning a flag error into exit code 64 (and --help
// into 0). Flags may come anywhere on the line, before or after the
// arguments (`sluice scan FILE --explain`); "--" ends the flags.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(interspersed(fs, args)); err != nil {
		if err == flag.ErrHelp {
			return &exitError{code: 0}
		}
		return &exitError{code: exitUsage}
	}
	return nil
}

// interspersed reorders args so that the standard library's flag package,
// which stops at the first argument, sees every flag: the flags (with the
// values of those that take one) first, then "--" and the arguments in
// their order. A lone "-" (stdin) is an argument; everything after "--"
// is too. An unknown flag is left in place for Parse to report.
func interspersed(fs *flag.FlagSet, args []string) []string {
	var flags, rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			rest = append(rest, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	return append(append(flags, "--"), rest...)
}

// load reads the configuration (config.Path: --config, $SLUICE_CONFIG,
// /etc/sluice/sluice.toml, the embedded defaults) and applies the
// --data-dir override.
func (c *common) load() (config.Config, error) {
	cfg, err := config.Load(config.Path(c.configPath))
	if err != nil {
		return cfg, &exitError{code: 78, err: err} // EX_CONFIG
	}
	if c.dataDir != "" {
		cfg.DataDir = c.dataDir
	}
	return cfg, nil
}

// loadDaemon is load for the daemons: it also reads the password files
// (config.ReadSecrets), which the commands a mail user runs never need.
func (c *common) loadDaemon() (config.Config, error) {
	cfg, err := c.load()
	if err == nil {
		if err = cfg.ReadSecrets(); err != nil {
			err = &exitError{code: 78, err: err}
		}
	}
	return cfg, err
}

// makeDataDir creates the data directory: the daemons do, on first use.
// The other commands never do (`sluice learn` run by a mail user must not
// leave a stray statfile in whatever directory it ran from).
func makeDataDir(cfg config.Config) error {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	return nil
}

// newLogger builds the command's slog logger from [log]: stderr or syslog.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	return logging.New(logging.Options{Level: cfg.Log.Level, Format: cfg.Log.Format, Output: cfg.Log.Output}, w)
}

// optionalFloat is a float flag whose default is "not given" (NaN): its
// help then says what the default is in words instead of "(default NaN)".
type optionalFloat struct{ v float64 }

func (f *optionalFloat) String() string {
	if f == nil || math.IsNaN(f.v) || f.v == 0 {
		return ""
	}
	return strconv.FormatFloat(f.v, 'g', -1, 64)
}

func (f *optionalFloat) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%q is not a number", s)
	}
	f.v = v
	return nil
}
