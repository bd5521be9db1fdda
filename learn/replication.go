package learn

import (
	"strings"

	"github.com/sluicemail/sluice/mmapstore"
)

// Replicated is the replication state a statfile keeps among its
// namespace records (apply.go, users.go): what `sluice stat` shows in its
// cluster section instead of listing the records as namespaces.
type Replicated struct {
	Cursor uint64            `json:"cursor"`          // the last stream sequence applied (0: none)
	Marks  map[string]uint64 `json:"marks,omitempty"` // per origin, the highest origin sequence applied
	// UserTimes counts the records of users' last learn times
	// ("sys:seen:*", what user namespace expiry reads).
	UserTimes int `json:"user_times,omitempty"`
}

// SplitNamespaces separates a statfile's namespace records
// (mmapstore.Info.Namespaces) into the namespaces that hold learns and
// the replication state: the stream cursor, the origins' marks and the
// users' learn times.
func SplitNamespaces(nss []mmapstore.NamespaceInfo) ([]mmapstore.NamespaceInfo, Replicated) {
	var rest []mmapstore.NamespaceInfo
	var r Replicated
	for _, ns := range nss {
		named := ns.Name != "" && mmapstore.NamespaceOf(ns.Name) == ns.NS
		origin, isOrigin := strings.CutPrefix(ns.Name, originPrefix)
		switch {
		case named && ns.Name == cursorNamespace:
			r.Cursor = ns.Totals.Spam
		case named && isOrigin:
			if r.Marks == nil {
				r.Marks = make(map[string]uint64)
			}
			r.Marks[origin] = ns.Totals.Spam
		case named && strings.HasPrefix(ns.Name, seenPrefix):
			r.UserTimes++
		default:
			rest = append(rest, ns)
		}
	}
	return rest, r
}
