package learner

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestStatNetwork(t *testing.T) {
	tests := []struct {
		name        string
		net, pools  string // file contents; "" : no file
		wantNil     bool
		wantMissing bool
		wantErr     bool // the network is refused
		wantPools   bool
	}{
		{"neither", "", "", true, false, false, false},
		{"unreadable pools, no network", "", "garbage", false, true, false, true},
		{"refused network", "garbage", "", false, false, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			net, pools := filepath.Join(dir, "neural.nn"), filepath.Join(dir, "neural.nn.pools")
			for path, body := range map[string]string{net: tt.net, pools: tt.pools} {
				if body != "" {
					os.WriteFile(path, []byte(body), 0o600)
				}
			}
			st := StatNetwork(net, pools, time.Now())
			if (st == nil) != tt.wantNil {
				t.Fatalf("stat %+v", st)
			}
			if st == nil {
				return
			}
			if st.Path != net || st.Missing != tt.wantMissing || (st.Error != "") != tt.wantErr || (st.Pools != nil) != tt.wantPools {
				t.Fatalf("stat %+v", st)
			}
			if st.Pools != nil && (st.Pools.Path != pools || st.Pools.Error == "") {
				t.Fatalf("pools %+v", st.Pools)
			}
		})
	}
}
