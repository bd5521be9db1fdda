package feed

import "sync/atomic"

// NamesEvery says how often a Sender repeats the input names of an input
// set it has sent already: a receiver that started (or lost a datagram)
// since learns them within NamesEvery records of that set.
const NamesEvery = 32

// namesPolicy decides which records carry their input names: the first of
// an input set, the first after a record with names was not delivered,
// and every NamesEvery-th. The other records carry only the set's digest
// and the values (about 5 bytes per input instead of the names' 10 to
// 20). Safe for concurrent use; a race between two sends at most sends
// the names once more.
type namesPolicy struct {
	last atomic.Pointer[Digest] // the set whose names went out last; nil: none
	n    atomic.Uint64          // records of that set since
}

// send reports whether a record of input set set carries its names.
func (p *namesPolicy) send(set Digest) bool {
	if last := p.last.Load(); last == nil || *last != set {
		p.last.Store(&set)
		p.n.Store(1)
		return true
	}
	return p.n.Add(1)%NamesEvery == 1
}

// lost forgets the set: a record that carried its names was not delivered.
func (p *namesPolicy) lost() { p.last.Store(nil) }
