package learner

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/bayes"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/scan"
)

// TestManyUsersTeachOneHam reproduces issue 14's per-user poisoning as
// the spamd listener's TELL reaches the daemon: one ham taught as spam
// 2,000 times under different User: names. Before, the shared spam total
// went from 300 to 2,300 and the ham from -4 to +8. Now the shared
// statistics count it once: after the first TELL the shared totals and
// the ham's score (for anyone without statistics of their own) stay put,
// and the user namespaces stay within the cap.
func TestManyUsersTeachOneHam(t *testing.T) {
	const users, maxNS = 2000, 100
	d := startDaemon(t, Options{Learn: learn.Options{UsersEnabled: true, MaxUserNamespaces: maxNS}}, false)
	ctx := context.Background()
	for i := range 300 {
		mustLearn(t, d.Daemon, Spam, spam(i), "", Learned)
		mustLearn(t, d.Daemon, Ham, ham(1000+i), "", Learned)
	}
	sc := scan.New(d.w, scan.Options{Bayes: bayes.DefaultConfig(), Actions: scan.Thresholds{AddHeader: 6, Reject: 15}, UsersEnabled: true})
	victim := msg(5000, strings.Repeat("meeting agenda kernel patch review minutes ", 3))
	score := func(user string) float64 {
		t.Helper()
		v, err := sc.Scan(ctx, bytes.NewReader(victim), scan.Request{User: user})
		if err != nil {
			t.Fatal(err)
		}
		return v.Score
	}
	before := score("")
	var first float64
	for i := range users {
		user := fmt.Sprintf("user%d@example.org", i)
		out, err := d.Learn(ctx, &Request{Label: Spam, User: user, Source: "spamd", Message: victim})
		if err != nil || out != Learned {
			t.Fatalf("TELL %d: %v %v", i, out, err)
		}
		if i == 0 {
			first = score("")
		}
	}
	after, stranger := score(""), score("stranger@example.org")
	tot := d.totals(t, mmapstore.Shared)
	n := 0
	for _, ns := range d.w.Namespaces() {
		if strings.HasPrefix(ns.Name, "user:") && ns.Totals != (mmapstore.Totals{}) {
			n++
		}
	}
	t.Logf("%d TELLs as spam: shared totals %+v; the ham scores %.2f before, %.2f after the first, %.2f after all (%.2f for a user without statistics); %d user namespaces (cap %d)",
		users, tot, before, first, after, stranger, n, maxNS)
	if tot.Spam != 301 {
		t.Fatalf("shared spam total %d, want 301 (300 + the ham once)", tot.Spam)
	}
	if after != first || stranger != first {
		t.Fatalf("the ham's score moved after the first TELL: %.2f, then %.2f (%.2f for a stranger)", first, after, stranger)
	}
	if n > maxNS {
		t.Fatalf("%d user namespaces, cap %d", n, maxNS)
	}
}
