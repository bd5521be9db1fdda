package main

import (
	"context"

	"github.com/sluicemail/sluice/buildinfo"
)

// version is the release, set at link time by `make install` and release
// builds (-ldflags "-X main.version=1.2.3"); empty, the module version of
// the build info stands.
var version = ""

// cmdVersion prints the version and build information (`sluice version`,
// `sluice --version`).
func cmdVersion(_ context.Context, std *stdio, args []string) error {
	fs, c := newFlags("version", "", std, true)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return &exitError{code: exitUsage}
	}
	b := buildinfo.Read(version)
	if c.json {
		return writeJSON(std.out, b)
	}
	b.Write(std.out)
	return nil
}
