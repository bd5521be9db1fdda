package learn

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sluicemail/sluice/mmapstore"
)

// word is a word of letters only, distinct for each n (the tokenizer
// folds digits).
func word(n int) string {
	b := []byte("w")
	for ; n > 0 || len(b) == 1; n /= 26 {
		b = append(b, byte('a'+n%26))
	}
	return string(b)
}

// userNamespaces counts the user namespaces that hold learns.
func userNamespaces(w *mmapstore.Writer) int {
	n := 0
	for _, ns := range w.Namespaces() {
		if strings.HasPrefix(ns.Name, "user:") && ns.Totals != (mmapstore.Totals{}) {
			n++
		}
	}
	return n
}

// TestLearnManyUsersCountsOnce reproduces issue 14's poisoning: one ham
// taught as spam under 2,000 user names. The shared statistics count it
// once (totals and every token's counts as after the first learn, so its
// score is too), and the user namespaces stay within the cap.
func TestLearnManyUsersCountsOnce(t *testing.T) {
	const users, maxNS = 2000, 100
	l, w := newLearner(t, Options{UsersEnabled: true, MaxUserNamespaces: maxNS})
	for i := range 300 {
		m := msg("offer "+word(i), "cheap pills casino prize "+word(i))
		if _, err := l.Learn(strings.NewReader(m), Spam, ""); err != nil {
			t.Fatal(err)
		}
	}
	victim := msg("minutes", "the minutes of thursday's kernel review meeting")
	var first mmapstore.Totals
	var firstSpam, firstHam uint64
	for i := range users {
		out, err := l.Learn(strings.NewReader(victim), Spam, fmt.Sprintf("user%d@example.org", i))
		if err != nil || out != Learned {
			t.Fatalf("learn %d: %v %v, want learned (into the user's namespace)", i, out, err)
		}
		tot := totals(t, w, mmapstore.Shared)
		sp, hm := counts(t, l, w, victim)
		if i == 0 {
			first, firstSpam, firstHam = tot, sp, hm
			if tot.Spam != 301 {
				t.Fatalf("after the first learn: shared totals %+v, want spam 301", tot)
			}
			continue
		}
		if tot != first || sp != firstSpam || hm != firstHam {
			t.Fatalf("learn %d changed the shared statistics: totals %+v (first %+v), token counts %d/%d (first %d/%d)",
				i, tot, first, sp, hm, firstSpam, firstHam)
		}
		if n := userNamespaces(w); n > maxNS {
			t.Fatalf("after learn %d: %d user namespaces, cap %d", i, n, maxNS)
		}
	}
	if n := userNamespaces(w); n != maxNS {
		t.Fatalf("%d user namespaces, want the cap %d", n, maxNS)
	}
	t.Logf("%d learns for %d users: %d user namespaces with learns, %d directory records, %d expired",
		users, users, userNamespaces(w), len(w.Namespaces()), l.ExpiredUsers())
	if n := len(w.Namespaces()); n > 4*maxNS {
		t.Fatalf("%d namespace records for %d live user namespaces: expired ones are not dropped", n, maxNS)
	}
	if got, want := l.ExpiredUsers(), uint64(users-maxNS); got != want {
		t.Fatalf("expired %d user namespaces, want %d", got, want)
	}
	// The newest users kept theirs; the oldest lost them.
	if tot := totals(t, w, mmapstore.NamespaceOf(mmapstore.UserNamespace(fmt.Sprintf("user%d@example.org", users-1)))); tot.Spam != 1 {
		t.Fatalf("newest user's totals %+v", tot)
	}
	if tot := totals(t, w, mmapstore.NamespaceOf(mmapstore.UserNamespace("user0@example.org"))); tot != (mmapstore.Totals{}) {
		t.Fatalf("oldest user's totals %+v, want expired", tot)
	}
}

// TestUserNamespacesLeastRecentGoFirst: at the cap, the namespace learned
// least recently is expired, in the same operation as the learn; a
// Learner opened later (a restart) reads the learn times from the
// statfile and expires the same user the first would have; with no
// times (a statfile from before they were kept), the least learned goes.
func TestUserNamespacesLeastRecentGoFirst(t *testing.T) {
	var clock int64
	opts := Options{UsersEnabled: true, MaxUserNamespaces: 2,
		Now: func() time.Time { clock++; return time.Unix(1700000000, clock) }}
	l, w := newLearner(t, opts)
	learnFor := func(l *Learner, user string, id int) {
		t.Helper()
		m := msg("note "+word(id), "project notes "+word(id)+" for "+user)
		if out, err := l.Learn(strings.NewReader(m), Ham, user); err != nil || out != Learned {
			t.Fatalf("learn for %s: %v %v", user, out, err)
		}
	}
	user := func(name string) mmapstore.Totals {
		return totals(t, w, mmapstore.NamespaceOf(mmapstore.UserNamespace(name)))
	}
	learnFor(l, "alice", 1)
	learnFor(l, "bob", 2)
	learnFor(l, "bob", 3)
	learnFor(l, "alice", 4) // alice is the most recent now
	learnFor(l, "carol", 5) // bob goes
	if a, b, c := user("alice"), user("bob"), user("carol"); a.Ham != 2 || b != (mmapstore.Totals{}) || c.Ham != 1 {
		t.Fatalf("alice %+v, bob %+v, carol %+v: want bob expired", a, b, c)
	}
	if tot := totals(t, w, mmapstore.Shared); tot.Ham != 5 {
		t.Fatalf("shared totals %+v: an expiry changed the shared statistics", tot)
	}
	if seen := totals(t, w, mmapstore.NamespaceOf(seenNamespace("bob"))); seen != (mmapstore.Totals{}) {
		t.Fatalf("bob's learn time %+v stays after his expiry", seen)
	}
	// A restart: alice (learned before carol) is the least recent.
	learnFor(New(w, opts), "dave", 6)
	if a, c, d := user("alice"), user("carol"), user("dave"); a != (mmapstore.Totals{}) || c.Ham != 1 || d.Ham != 1 {
		t.Fatalf("after a restart: alice %+v, carol %+v, dave %+v: want alice expired", a, c, d)
	}
	// No times (an older statfile): carol and dave have one learn each;
	// carol's namespace id is the lower, she goes first.
	for _, u := range []string{"carol", "dave"} {
		name := seenNamespace(u)
		if _, err := w.Apply(mmapstore.Op{NS: mmapstore.NamespaceOf(name), Set: true}); err != nil {
			t.Fatal(err)
		}
	}
	learnFor(New(w, opts), "erin", 7)
	learnFor(New(w, opts), "erin", 8)
	if c, d, e := user("carol"), user("dave"), user("erin"); c != (mmapstore.Totals{}) || d.Ham != 1 || e.Ham != 2 {
		t.Fatalf("without times: carol %+v, dave %+v, erin %+v: want carol expired (the lower id)", c, d, e)
	}
}

func TestLearnTime(t *testing.T) {
	tests := []struct {
		t    time.Time
		want int64
	}{
		{time.Time{}, 1},
		{time.Unix(0, 0), 1},
		{time.Unix(1700000000, 5), 1700000000_000000005},
		{time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), math.MaxInt64},
	}
	for _, tc := range tests {
		if got := LearnTime(tc.t); got != tc.want {
			t.Errorf("LearnTime(%v) = %d, want %d", tc.t, got, tc.want)
		}
	}
}
