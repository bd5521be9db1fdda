package config

import (
	"os"
	"path/filepath"
	"testing"
)

// TestContribClusterConfigs parses the example cluster configurations
// users copy (contrib/cluster) and checks that each says what its
// comments promise: the embedded server or the hub's url, the replicas.
func TestContribClusterConfigs(t *testing.T) {
	cases := []struct {
		file        string
		embedded    bool
		routes, rep int
	}{
		{"three-hosts.toml", true, 2, 3},
		{"hub.toml", true, 0, 1},
		{"hub-client.toml", false, 0, 1},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join("..", "contrib", "cluster", c.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := Parse(path, data)
			if err != nil {
				t.Fatalf("%s does not parse: %v", path, err)
			}
			cl := cfg.Cluster
			if !cl.Enabled || cl.Site != "example" || (cl.Listen != "") != c.embedded || (cl.URL != "") == c.embedded ||
				len(cl.RouteList()) != c.routes || cl.ReplicaCount() != c.rep || cl.SnapshotInterval.D() <= 0 || cl.TLSCA == "" {
				t.Fatalf("%s: %+v", path, cl)
			}
		})
	}
	if files, _ := filepath.Glob(filepath.Join("..", "contrib", "cluster", "*.toml")); len(files) != len(cases) {
		t.Errorf("contrib/cluster holds %d configurations, the test knows %d", len(files), len(cases))
	}
}
