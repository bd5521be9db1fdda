package learn

import (
	"cmp"
	"container/list"
	"slices"
	"strings"

	"github.com/sluicemail/sluice/mmapstore"
)

// userRecency orders the user namespaces by their last learn, least
// recent first, for the cap (Options.MaxUserNamespaces).
type userRecency struct {
	order  *list.List               // of string (user), least recent first
	byUser map[string]*list.Element // user → its element
}

// recency returns the users' order, read from the statfile's namespace
// directory on first use: namespaces with learns, least learned first
// (the file keeps no times).
func (l *Learner) recency() *userRecency {
	if l.users != nil {
		return l.users
	}
	r := &userRecency{order: list.New(), byUser: make(map[string]*list.Element)}
	nss := l.w.Namespaces()
	slices.SortStableFunc(nss, func(a, b mmapstore.NamespaceInfo) int {
		return cmp.Compare(a.Totals.Spam+a.Totals.Ham, b.Totals.Spam+b.Totals.Ham)
	})
	for _, ns := range nss {
		user, ok := strings.CutPrefix(ns.Name, "user:")
		if !ok || ns.Totals == (mmapstore.Totals{}) || mmapstore.NamespaceOf(ns.Name) != ns.NS {
			continue // not a user's, expired, or its name was cut short
		}
		r.byUser[user] = r.order.PushBack(user)
	}
	l.users = r
	return r
}

// expireFor marks user as the most recently learned and, when that takes
// a new namespace past the cap, appends the ops that expire the least
// recently learned ones: their totals go to zero.
func (l *Learner) expireFor(ops []mmapstore.Op, user string) []mmapstore.Op {
	if l.opts.MaxUserNamespaces <= 0 {
		return ops
	}
	r := l.recency()
	if e, ok := r.byUser[user]; ok {
		r.order.MoveToBack(e)
		return ops
	}
	for r.order.Len() >= l.opts.MaxUserNamespaces {
		victim := r.order.Remove(r.order.Front()).(string)
		delete(r.byUser, victim)
		ops = l.appendExpire(ops, victim)
		l.expired++
	}
	r.byUser[user] = r.order.PushBack(user)
	return ops
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
		if op.NS != ns {
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
