package statreport

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/mmapstore"
)

func rec(name string, spam, ham uint64) mmapstore.NamespaceInfo {
	return mmapstore.NamespaceInfo{NS: mmapstore.NamespaceOf(name), Name: name, Totals: mmapstore.Totals{Spam: spam, Ham: ham}}
}

// TestReplicationIsASectionNotNamespaces: a cluster host's cursor and
// marks show in the cluster section, in text and JSON (origin names keep
// their case), never among the namespaces; a statfile of one host has no
// cluster section.
func TestReplicationIsASectionNotNamespaces(t *testing.T) {
	user := mmapstore.UserNamespace("alice")
	cases := []struct {
		name        string
		nss         []mmapstore.NamespaceInfo
		wantText    []string
		notText     []string
		wantCluster bool
	}{
		{"one host", []mmapstore.NamespaceInfo{rec(user, 2, 1)}, []string{user}, []string{"cluster", "sys:"}, false},
		{"cluster host", []mmapstore.NamespaceInfo{rec(user, 2, 1), rec("sys:stream:cursor", 42, 0), rec("sys:origin:MX1", 40, 0),
			rec("sys:origin:mx2", 2, 0), rec("sys:seen:77", 9, 0)},
			[]string{user, "stream cursor 42", "origin MX1", "seq 40 applied", "origin mx2"}, []string{"sys:"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := New(mmapstore.Info{Path: "x", Namespaces: c.nss})
			var b bytes.Buffer
			if err := r.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			for _, w := range c.wantText {
				if !strings.Contains(b.String(), w) {
					t.Errorf("text lacks %q:\n%s", w, b.String())
				}
			}
			for _, w := range c.notText {
				if strings.Contains(b.String(), w) {
					t.Errorf("text has %q:\n%s", w, b.String())
				}
			}
			out, err := r.JSON()
			if err != nil {
				t.Fatal(err)
			}
			js, _ := json.Marshal(out)
			if got := strings.Contains(string(js), `"cluster":{"cursor":42,"marks":{"MX1":40,"mx2":2},"user_times":1}`); got != c.wantCluster {
				t.Errorf("JSON cluster section present %v, want %v: %s", got, c.wantCluster, js)
			}
			if strings.Contains(string(js), "sys:") {
				t.Errorf("JSON lists replication records as namespaces: %s", js)
			}
		})
	}
}
