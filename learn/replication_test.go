package learn

import (
	"maps"
	"testing"

	"github.com/sluicemail/sluice/mmapstore"
)

func TestSplitNamespaces(t *testing.T) {
	rec := func(name string, spam uint64) mmapstore.NamespaceInfo {
		return mmapstore.NamespaceInfo{NS: mmapstore.NamespaceOf(name), Name: name, Totals: mmapstore.Totals{Spam: spam}}
	}
	alice := rec(mmapstore.UserNamespace("alice"), 3)
	forged := mmapstore.NamespaceInfo{NS: 42, Name: originPrefix + "x", Totals: mmapstore.Totals{Spam: 9}} // a name that is not its id's
	cases := []struct {
		name     string
		in       []mmapstore.NamespaceInfo
		wantRest int
		want     Replicated
	}{
		{"none", nil, 0, Replicated{}},
		{"ordinary only", []mmapstore.NamespaceInfo{alice, rec(cacheNamespace, 0)}, 2, Replicated{}},
		{"cluster", []mmapstore.NamespaceInfo{alice, rec(cursorNamespace, 17), rec(originPrefix+"mx1", 5), rec(originPrefix+"mx2", 12),
			rec(seenPrefix+"1234", 99)}, 1, Replicated{Cursor: 17, Marks: map[string]uint64{"mx1": 5, "mx2": 12}, UserTimes: 1}},
		{"a record named like a mark whose id is not its name's", []mmapstore.NamespaceInfo{forged}, 1, Replicated{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rest, got := SplitNamespaces(c.in)
			if len(rest) != c.wantRest || got.Cursor != c.want.Cursor || got.UserTimes != c.want.UserTimes || !maps.Equal(got.Marks, c.want.Marks) {
				t.Fatalf("got %d namespaces and %+v, want %d and %+v", len(rest), got, c.wantRest, c.want)
			}
		})
	}
}
