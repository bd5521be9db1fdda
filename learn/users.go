package learn

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/sluicemail/sluice/mmapstore"
)

// userRecency knows when each user with a live namespace last learned,
// for the cap (Options.MaxUserNamespaces). The times are kept in the
// statfile too (a record "sys:seen:user:NAME" per user, its spam total
// the unix nanoseconds of the last learn), set in the same Apply as the
// learn, so that the choice of the user to expire depends only on the
// statfile and the learns applied to it: after a restart, and on every
// host applying the same events (which take the time from Event.Time,
// never from a local clock), the same user goes.
type userRecency struct {
	seen map[string]int64 // user → last learn, unix nanoseconds; 0: before times were kept
}

// seenNamespace names the record of when user last learned.
func seenNamespace(user string) string { return seenPrefix + mmapstore.UserNamespace(user) }

const seenPrefix = "sys:seen:"

// recency returns the users' learn times, read from the statfile on first
// use: every user with a learn time, and every user namespace with learns
// but no time (time 0: a statfile from before times were kept). A user
// whose name was cut short in the directory (longer than MaxNameLen
// allows) cannot be named from it and is not counted after a restart.
func (l *Learner) recency() (*userRecency, error) {
	if l.users != nil {
		return l.users, nil
	}
	r := &userRecency{seen: make(map[string]int64)}
	for _, ns := range l.w.Namespaces() {
		if mmapstore.NamespaceOf(ns.Name) != ns.NS || ns.Totals == (mmapstore.Totals{}) {
			continue // its name was cut short, or expired
		}
		if user, ok := strings.CutPrefix(ns.Name, seenPrefix+"user:"); ok {
			r.seen[user] = int64(ns.Totals.Spam)
		} else if user, ok := strings.CutPrefix(ns.Name, "user:"); ok {
			if _, known := r.seen[user]; !known {
				r.seen[user] = 0
			}
		}
	}
	l.users = r
	return r, nil
}

// oldest returns the user to expire: the least recently learned, then
// (among users without a time) the one with the fewest learns, then the
// first by name. Every part is read from the statfile, so every host
// picks the same.
func (l *Learner) oldest(r *userRecency) (string, error) {
	type cand struct {
		user   string
		seen   int64
		learns uint64
	}
	var best cand
	first := true
	for user, seen := range r.seen {
		t, err := l.w.Lookup(mmapstore.NamespaceOf(mmapstore.UserNamespace(user)), nil, nil)
		if err != nil {
			return "", fmt.Errorf("learn: read user totals: %w", err)
		}
		c := cand{user, seen, t.Spam + t.Ham}
		if first || cmp.Or(cmp.Compare(c.seen, best.seen), cmp.Compare(c.learns, best.learns), cmp.Compare(c.user, best.user)) < 0 {
			best, first = c, false
		}
	}
	return best.user, nil
}

// forgetEmpty drops from r the users without a learn time whose
// namespaces hold no learns any more (all forgotten): a restart would not
// read them from the statfile, so they must not count here either.
func (l *Learner) forgetEmpty(r *userRecency) error {
	for user, seen := range r.seen {
		if seen != 0 {
			continue
		}
		t, err := l.w.Lookup(mmapstore.NamespaceOf(mmapstore.UserNamespace(user)), nil, nil)
		if err != nil {
			return fmt.Errorf("learn: read user totals: %w", err)
		}
		if t == (mmapstore.Totals{}) {
			delete(r.seen, user)
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
	if _, ok := r.seen[user]; !ok {
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
			name := seenNamespace(victim)
			ops = append(ops, mmapstore.Op{NS: mmapstore.NamespaceOf(name), Name: name, Set: true})
			l.expired++
		}
	}
	t := max(now.UnixNano(), 1) // 0 is "no record"
	r.seen[user] = t
	name := seenNamespace(user)
	return append(ops, mmapstore.Op{NS: mmapstore.NamespaceOf(name), Name: name, Set: true, Totals: mmapstore.Totals{Spam: uint64(t)}}), nil
}

// appendExpire appends the ops that bring user's namespace totals to
// zero (the same batch may have learned for it already: ops counts too).
func (l *Learner) appendExpire(ops []mmapstore.Op, user string) []mmapstore.Op {
	name := mmapstore.UserNamespace(user)
	ns := mmapstore.NamespaceOf(name)
	t, err := l.w.Lookup(ns, nil, nil)
	if err != nil {
		return ops
	}
	for _, op := range ops {
		if op.NS != ns || op.Set {
			continue
		}
		p := &t.Spam
		if op.Class == mmapstore.Ham {
			p = &t.Ham
		}
		if op.Delta > 0 {
			*p++
		} else if *p > 0 {
			*p--
		}
	}
	for range t.Spam {
		ops = append(ops, mmapstore.Op{NS: ns, Name: name, Class: mmapstore.Spam, Delta: -1})
	}
	for range t.Ham {
		ops = append(ops, mmapstore.Op{NS: ns, Name: name, Class: mmapstore.Ham, Delta: -1})
	}
	return ops
}

// ExpiredUsers is how many user namespaces this Learner expired to stay
// within MaxUserNamespaces.
func (l *Learner) ExpiredUsers() uint64 { return l.expired }
