package config

import (
	"strings"
	"testing"
)

func TestLogAndMetricsKeys(t *testing.T) {
	d := Default()
	if d.Log.Output != "stderr" || d.Milter.MetricsListen != Off || d.Spamd.MetricsListen != Off {
		t.Fatalf("defaults: log.output %q, milter.metrics_listen %q, spamd.metrics_listen %q",
			d.Log.Output, d.Milter.MetricsListen, d.Spamd.MetricsListen)
	}
	tests := []struct {
		name, in string
		err      string // "" : accepted
		check    func(Config) bool
	}{
		{"syslog", "[log]\noutput = \"syslog\"\n", "", func(c Config) bool { return c.Log.Output == "syslog" }},
		{"bad output", "[log]\noutput = \"file\"\n", `sluice.toml:2: log.output: "file" is not stderr or syslog`, nil},
		{"milter metrics inet", "[milter]\nmetrics_listen = \"inet:127.0.0.1:7358\"\n", "",
			func(c Config) bool { return c.Milter.MetricsListen == "inet:127.0.0.1:7358" }},
		{"spamd metrics unix", "[spamd]\nmetrics_listen = \"unix:/run/sluice/spamd-metrics.sock\"\n", "",
			func(c Config) bool { return c.Spamd.MetricsListen == "unix:/run/sluice/spamd-metrics.sock" }},
		{"metrics off", "[spamd]\nmetrics_listen = \"off\"\n", "", func(c Config) bool { return c.Spamd.MetricsListen == Off }},
		{"bad metrics address", "[milter]\nmetrics_listen = \"127.0.0.1:7358\"\n", `sluice.toml:2: milter.metrics_listen: "127.0.0.1:7358" is not unix:/path or inet:host:port`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("sluice.toml", []byte(tt.in))
			switch {
			case tt.err == "" && err != nil:
				t.Fatal(err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("error %v, want %q", err, tt.err)
			case tt.check != nil && !tt.check(c):
				t.Fatalf("parsed %+v %+v", c.Log, c.Milter)
			}
		})
	}
}
