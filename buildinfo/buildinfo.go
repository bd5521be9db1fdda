// Package buildinfo says which build of Sluice runs: the release, the
// source revision and time when the build recorded them, and the Go
// version (`sluice version`).
package buildinfo

import (
	"fmt"
	"io"
	"runtime/debug"
)

// Info is what `sluice version` prints.
type Info struct {
	Version   string `json:"version"`
	Revision  string `json:"vcs_revision,omitempty"`
	Time      string `json:"vcs_time,omitempty"`
	Modified  bool   `json:"vcs_modified,omitempty"`
	GoVersion string `json:"go_version"`
}

// Read returns the running binary's build information; version, when
// not empty (set at link time), stands for the module version.
func Read(version string) Info {
	info, _ := debug.ReadBuildInfo() // nil when the binary has none
	return fromBuild(version, info)
}

// fromBuild fills an Info from version and the build info (nil when the
// binary has none).
func fromBuild(version string, info *debug.BuildInfo) Info {
	b := Info{Version: version}
	if info == nil {
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

// Write prints b on one line: "sluice VERSION (REVISION, TIME, modified)
// built with GOVERSION".
func (b Info) Write(w io.Writer) {
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
