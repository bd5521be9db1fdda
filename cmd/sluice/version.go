package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
)

// version is the release, set at link time by `make install` and release
// builds (-ldflags "-X main.version=1.2.3"); empty, the module version of
// the build info stands.
var version = ""

// buildInfo is what `sluice version` prints, from runtime/debug.BuildInfo.
type buildInfo struct {
	Version   string `json:"version"`
	Revision  string `json:"vcs_revision,omitempty"`
	Time      string `json:"vcs_time,omitempty"`
	Modified  bool   `json:"vcs_modified,omitempty"`
	GoVersion string `json:"go_version"`
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: version}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		if b.Version == "" {
			b.Version = "unknown"
		}
		return b
	}
	if b.Version == "" {
		b.Version = info.Main.Version
	}
	b.GoVersion = info.GoVersion
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

func writeVersion(w io.Writer, b buildInfo) {
	fmt.Fprintf(w, "sluice %s", b.Version)
	if b.Revision != "" {
		fmt.Fprintf(w, " (%s", b.Revision)
		if b.Time != "" {
			fmt.Fprintf(w, ", %s", b.Time)
		}
		if b.Modified {
			fmt.Fprint(w, ", modified")
		}
		fmt.Fprint(w, ")")
	}
	fmt.Fprintf(w, " built with %s\n", b.GoVersion)
}

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
	b := readBuildInfo()
	if c.json {
		return writeJSON(std.out, b)
	}
	writeVersion(std.out, b)
	return nil
}
