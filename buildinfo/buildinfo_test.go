package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuild(t *testing.T) {
	build := &debug.BuildInfo{GoVersion: "go1.26", Main: debug.Module{Version: "v1.0.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-12-01T00:00:00Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	for _, tt := range []struct {
		version string
		info    *debug.BuildInfo
		want    string
	}{
		{"", build, "sluice v1.0.0 (abc123, 2026-12-01T00:00:00Z, modified) built with go1.26\n"},
		{"1.2.3", build, "sluice 1.2.3 (abc123, 2026-12-01T00:00:00Z, modified) built with go1.26\n"},
		{"", &debug.BuildInfo{GoVersion: "go1.26", Main: debug.Module{Version: "(devel)"}}, "sluice (devel) built with go1.26\n"},
		{"", nil, "sluice unknown built with \n"},
		{"1.2.3", nil, "sluice 1.2.3 built with \n"},
	} {
		var sb strings.Builder
		fromBuild(tt.version, tt.info).Write(&sb)
		if sb.String() != tt.want {
			t.Errorf("fromBuild(%q, %v) writes %q, want %q", tt.version, tt.info, sb.String(), tt.want)
		}
	}
}

func TestRead(t *testing.T) {
	if b := Read("9.9"); b.Version != "9.9" || b.GoVersion != runtime.Version() {
		t.Errorf("Read = %+v, want version 9.9 and %s", b, runtime.Version())
	}
}
