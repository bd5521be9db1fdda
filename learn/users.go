package learn

import (
	"cmp"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sluicemail/sluice/mmapstore"
)

// userRecency knows when each user namespace with learns last learned,
// for the cap (Options.MaxUserNamespaces). The times are kept in the
// statfile too, a record per user namespace named "sys:seen:" and the
// namespace's id in 16 hex digits (a name never cut short, however long
// the user's), its spam total the unix nanoseconds of the last learn, set
// in the same Apply as the learn. So the choice of the namespace to
// expire depends only on the statfile and the learns applied to it:
// after a restart, and on every host applying the same events (which take
// the time from Event.Time, never from a local clock), the same one goes.
type userRecency struct {
	seen map[mmapstore.Namespace]int64 // user namespace → last learn, unix ns; 0: before times were kept
}

const seenPrefix = "sys:seen:"

// seenNamespace names the record of when user last learned.
func seenNamespace(user string) string {
	return seenName(mmapstore.NamespaceOf(mmapstore.UserNamespace(user)))
}

func seenName(ns mmapstore.Namespace) string { return fmt.Sprintf("%s%016x", seenPrefix, uint64(ns)) }

// parseSeen returns the user namespace a learn time record is for.
func parseSeen(name string) (mmapstore.Namespace, bool) {
	h, ok := strings.CutPrefix(name, seenPrefix)
	if !ok || len(h) != 16 {
		return 0, false
	}
	v, err := strconv.ParseUint(h, 16, 64)
	return mmapstore.Namespace(v), err == nil && seenName(mmapstore.Namespace(v)) == name
}

// recency returns the user namespaces' learn times, read from the
// statfile on first use: every namespace with a learn time, and every
// user namespace with learns but no time (time 0: a statfile from before
// times were kept).
func (l *Learner) recency() (*userRecency, error) {
	if l.users != nil {
		return l.users, nil
	}
	r := &userRecency{seen: make(map[mmapstore.Namespace]int64)}
	for _, ns := range l.w.Namespaces() {
		if ns.Totals == (mmapstore.Totals{}) {
			continue // expired
		}
		if user, ok := parseSeen(ns.Name); ok && mmapstore.NamespaceOf(ns.Name) == ns.NS {
			r.seen[user] = int64(ns.Totals.Spam)
		} else if strings.HasPrefix(ns.Name, "user:") {
			if _, known := r.seen[ns.NS]; !known {
				r.seen[ns.NS] = 0
			}
		}
	}
	l.users = r
	return r, nil
}

// oldest returns the user namespace to expire: the least recently
// learned, then (among those without a time) the one with the fewest
// learns, then the lowest id. Every part is read from the statfile, so
// every host picks the same.
func (l *Learner) oldest(r *userRecency) (mmapstore.Namespace, error) {
	type cand struct {
		ns     mmapstore.Namespace
		seen   int64
		learns uint64
	}
	var best cand
	first := true
	for ns, seen := range r.seen {
		t, err := l.w.Lookup(ns, nil, nil)
		if err != nil {
			return 0, fmt.Errorf("learn: read user totals: %w", err)
		}
		c := cand{ns, seen, t.Spam + t.Ham}
		if first || cmp.Or(cmp.Compare(c.seen, best.seen), cmp.Compare(c.learns, best.learns), cmp.Compare(c.ns, best.ns)) < 0 {
			best, first = c, false
		}
	}
	return best.ns, nil
}

// forgetEmpty drops from r the namespaces without a learn time that hold
// no learns any more (all forgotten): a restart would not read them from
// the statfile, so they must not count here either.
func (l *Learner) forgetEmpty(r *userRecency) error {
	for ns, seen := range r.seen {
		if seen != 0 {
			continue
		}
		t, err := l.w.Lookup(ns, nil, nil)
		if err != nil {
			return fmt.Errorf("learn: read user totals: %w", err)
		}
		if t == (mmapstore.Totals{}) {
			delete(r.seen, ns)
		}
	}
	return nil
}

// expireFor records that user learns at now and, when that takes a new
// namespace past the cap, appends the ops that expire the least recently
// learned ones (oldest): their totals and learn times go to zero.
func (l *Learner) expireFor(ops []mmapstore.Op, user string, now time.Time) ([]mmapstore.Op, error) {
	if l.opts.MaxUserNamespaces <= 0 {
		return ops, nil
	}
	r, err := l.recency()
	if err != nil {
		return ops, err
	}
	ns := mmapstore.NamespaceOf(mmapstore.UserNamespace(user))
	if _, ok := r.seen[ns]; !ok {
		if err := l.forgetEmpty(r); err != nil {
			return ops, err
		}
		for len(r.seen) >= l.opts.MaxUserNamespaces {
			victim, err := l.oldest(r)
			if err != nil {
				return ops, err
			}
			delete(r.seen, victim)
			ops = l.appendExpire(ops, victim)
			ops = append(ops, mmapstore.Op{NS: mmapstore.NamespaceOf(seenName(victim)), Name: seenName(victim), Set: true})
			l.expired++
		}
	}
	t := LearnTime(now)
	r.seen[ns] = t
	name := seenName(ns)
	return append(ops, mmapstore.Op{NS: mmapstore.NamespaceOf(name), Name: name, Set: true, Totals: mmapstore.Totals{Spam: uint64(t)}}), nil
}

// LearnTime is the value a user's learn time record keeps for t: unix
// nanoseconds, at least 1 (0 is "no record"), and 1 for a time before
// 1970 (a zero Event.Time) or MaxInt64 after 2262, where UnixNano is not
// defined.
func LearnTime(t time.Time) int64 {
	switch {
	case t.Year() < 1970:
		return 1
	case t.Year() > 2261:
		return math.MaxInt64
	}
	return max(t.UnixNano(), 1)
}

// appendExpire appends the op that brings user namespace ns's totals to
// zero: one Set op, whatever the namespace learned before, in this batch
// too (ops take effect in order).
func (l *Learner) appendExpire(ops []mmapstore.Op, ns mmapstore.Namespace) []mmapstore.Op {
	return append(ops, mmapstore.Op{NS: ns, Set: true})
}

// ExpiredUsers is how many user namespaces this Learner expired to stay
// within MaxUserNamespaces.
func (l *Learner) ExpiredUsers() uint64 { return l.expired }
