package learn

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/tokenizer"
)

// Applying replicated learn events (ApplyEvent), exactly once and in the
// stream's order, to the statfile.
//
// # Where the cursor and marks live
//
// In the statfile, as namespaces of their own whose spam total holds a
// 64-bit value, set absolutely (mmapstore.Op with Set): the stream cursor
// (the last stream sequence applied) in "sys:stream:cursor", and each
// origin's mark (the highest origin sequence applied) in
// "sys:origin:NAME". They are set in the same mmapstore Apply as the
// event's counts, cache entry and user maintenance: one journal record,
// which mmapstore makes atomic across a crash (see Writer.Apply and
// mmapstore's TestCrash_oneApplyIsAtomic). So after a SIGKILL at any
// point the statfile holds all of an event, cursor included, or none of
// it, and the cursor says which: resume from Cursor()+1. That is why
// there is no "applying" record (event, next token index) as
// reference/scaleout.md §5.2 proposes: that record is for a store that
// writes counters in place one by one; here the journal record holds the
// absolute value of every counter the event changes and is replayed
// whole on open. The same holds after a power loss, when the mapping's
// pages reach the disk in any order: the record was fsynced before the
// mapping was touched, and the journal is emptied only after an msync of
// the whole mapping. The values travel with the statfile in snapshots and
// backups (they are namespace records), and Digest covers them; `sluice
// stat` lists them among the namespaces, their value as the spam total.
//
// The event's Site is the caller's to check (a host never applies another
// site's stream); the statfile does not record it.
//
// Origins are bounded (MaxOrigins, names of at most MaxOriginLen bytes):
// an event from one origin more is refused.
//
// # What ApplyEvent does with an event
//
//   - streamSeq <= Cursor(): AlreadyApplied, nothing written (a redelivery).
//   - refused (RefusedError, errors.Is ErrEventRefused): tokenizer
//     parameters other than the statfile's, a label that is not one, no
//     hashes or too many, stream sequence or origin sequence 0, a bad
//     origin name, one origin past MaxOrigins. Nothing of it is applied,
//     but the cursor moves past it, so that one bad event cannot stall the
//     stream; the caller counts it (RefusedEvents counts too).
//   - the origin's Seq <= its mark: AlreadyApplied (a resend that got a
//     new stream sequence); only the cursor moves.
//   - otherwise it is applied (Learned, Relearned, AlreadyLearned,
//     Forgotten, NotLearned, as a local learn), with the cursor and the
//     mark. When the origin's Seq is not mark+1 (and the mark is not 0: a
//     host starting from an empty statfile meets an origin anywhere), the
//     event is applied all the same and a *GapError (errors.Is ErrGap) says
//     which sequences were skipped: events are in the stream in their
//     origin's order, so a gap means the stream lost some (retention) or
//     the origin skipped some; the cluster decides whether to
//     re-bootstrap. Stopping would leave the host behind for ever.
//
// CursorAdvanced tells an error that moved the cursor (a refusal, a gap)
// from one that did not (I/O: retry the event).
//
// # Same decision on every host
//
// The learn cache rule (the package doc) depends only on the statfile and
// the event, and user namespace expiry takes its time from Event.Time;
// so hosts that apply the same events in the same order from the same
// statfile end with the same statistics (the same Digest), provided
// their learn Options (UsersEnabled, LanguagesEnabled,
// MaxUserNamespaces) and their statfiles' room (mmapstore MaxBytes:
// expiry of a full table is not replicated) are alike.

// Bounds of replicated state.
const (
	// MaxOrigins bounds the origins whose marks a statfile keeps.
	MaxOrigins = 256
	// MaxOriginLen bounds an origin's name, in bytes.
	MaxOriginLen = 64
	// MaxEventHashes bounds the token hashes of one event: more than any
	// tokenizer limit, far below what one journal record holds.
	MaxEventHashes = 1 << 20
)

const (
	cursorNamespace = "sys:stream:cursor"
	originPrefix    = "sys:origin:"
)

// ErrEventRefused is wrapped by the error of an event ApplyEvent refused.
var ErrEventRefused = errors.New("learn: event refused")

// ErrGap is wrapped by the error of an event applied after a gap in its
// origin's sequence.
var ErrGap = errors.New("learn: gap in an origin's sequence")

// RefusedError says why an event was refused: never applied, but the
// cursor moved past it.
type RefusedError struct {
	StreamSeq uint64
	Origin    string
	Seq       uint64
	Reason    string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("learn: event refused (stream seq %d, origin %q seq %d): %s; skipped", e.StreamSeq, e.Origin, e.Seq, e.Reason)
}

// Is makes errors.Is(err, ErrEventRefused) true.
func (e *RefusedError) Is(target error) bool { return target == ErrEventRefused }

// GapError says that an event was applied although its origin's
// sequences between Mark and Seq were never seen.
type GapError struct {
	Origin    string
	Mark, Seq uint64
}

func (e *GapError) Error() string {
	return fmt.Sprintf("learn: origin %q jumped from seq %d to %d: %d events missing, applied anyway", e.Origin, e.Mark, e.Seq, e.Seq-e.Mark-1)
}

// Is makes errors.Is(err, ErrGap) true.
func (e *GapError) Is(target error) bool { return target == ErrGap }

// CursorAdvanced reports whether ApplyEvent's error (nil too) left the
// cursor past the event: nil, a refusal and a gap did; any other error
// wrote nothing, and the event is to be applied again.
func CursorAdvanced(err error) bool {
	return err == nil || errors.Is(err, ErrEventRefused) || errors.Is(err, ErrGap)
}

// EventOf makes the event of a learn of res as label for user, asked by
// source; the caller fills Site, Origin, Seq and Time.
func EventOf(res *tokenizer.Result, label Label, user, source string, params mmapstore.Params) Event {
	return Event{Label: label, Source: source, User: user, Digest: res.Digest, Language: res.Language,
		Params: params, Hashes: hashesOf(res)}
}

// Cursor returns the last stream sequence applied (0: none).
func (l *Learner) Cursor() (uint64, error) {
	t, err := l.w.Lookup(mmapstore.NamespaceOf(cursorNamespace), nil, nil)
	if err != nil {
		return 0, fmt.Errorf("learn: read stream cursor: %w", err)
	}
	return t.Spam, nil
}

// Marks returns, per origin, the highest origin sequence applied.
func (l *Learner) Marks() (map[string]uint64, error) {
	marks := make(map[string]uint64)
	for _, ns := range l.w.Namespaces() {
		origin, ok := strings.CutPrefix(ns.Name, originPrefix)
		if ok && ns.Totals.Spam > 0 && mmapstore.NamespaceOf(ns.Name) == ns.NS {
			marks[origin] = ns.Totals.Spam
		}
	}
	return marks, nil
}

// Digest is the logical digest of the statfile (mmapstore's Writer.Digest:
// counts, totals, learn caches, cursor, marks, learn times), what hosts
// and a learnmodel.Model compare.
func (l *Learner) Digest() ([32]byte, error) { return l.w.Digest() }

// RefusedEvents is how many events this Learner refused.
func (l *Learner) RefusedEvents() uint64 { return l.refused }

// Gaps is how many events this Learner applied after a gap.
func (l *Learner) Gaps() uint64 { return l.gaps }

// mark returns origin's mark.
func (l *Learner) mark(origin string) (uint64, error) {
	t, err := l.w.Lookup(mmapstore.NamespaceOf(originPrefix+origin), nil, nil)
	if err != nil {
		return 0, fmt.Errorf("learn: read mark of %q: %w", origin, err)
	}
	return t.Spam, nil
}

// knownOrigins returns the origins with a mark, read on first use.
func (l *Learner) knownOrigins() (map[string]bool, error) {
	if l.origins == nil {
		marks, err := l.Marks()
		if err != nil {
			return nil, err
		}
		l.origins = make(map[string]bool, len(marks))
		for o := range marks {
			l.origins[o] = true
		}
	}
	return l.origins, nil
}

// setOp sets the value kept in namespace name.
func setOp(name string, v uint64) mmapstore.Op {
	return mmapstore.Op{NS: mmapstore.NamespaceOf(name), Name: name, Set: true, Totals: mmapstore.Totals{Spam: v}}
}

// refusal says why ev is not to be applied ("" when it is).
func (l *Learner) refusal(ev *Event) string {
	switch {
	case ev.Params != l.w.Params():
		return fmt.Sprintf("tokenizer parameters %+v, the statfile's are %+v", ev.Params, l.w.Params())
	case !ev.Label.Valid():
		return fmt.Sprintf("label %v", ev.Label)
	case len(ev.Hashes) == 0:
		return "no token hashes"
	case len(ev.Hashes) > MaxEventHashes:
		return fmt.Sprintf("%d token hashes, more than %d", len(ev.Hashes), MaxEventHashes)
	case ev.Origin == "" || len(ev.Origin) > MaxOriginLen:
		return fmt.Sprintf("origin name of %d bytes (1 to %d)", len(ev.Origin), MaxOriginLen)
	case ev.Seq == 0:
		return "origin sequence 0"
	}
	if !printableOrigin(ev.Origin) {
		return fmt.Sprintf("origin name %q: not printable ASCII", ev.Origin)
	}
	return ""
}

// printableOrigin reports whether an origin name is printable ASCII
// without spaces.
func printableOrigin(origin string) bool {
	for _, c := range []byte(origin) {
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// ApplyEvent applies ev, the event at streamSeq in the stream, with the
// cursor and ev's origin mark, as one atomic statfile update: see the
// comment at the top of this file for what it does with each kind of
// event and what its errors mean.
func (l *Learner) ApplyEvent(ev Event, streamSeq uint64) (Outcome, error) {
	res, err := l.ApplyEvents([]StreamEvent{{Event: ev, StreamSeq: streamSeq}})
	if err != nil {
		return 0, err
	}
	return res[0].Outcome, res[0].Err
}

// StreamEvent is an event and its sequence in the stream.
type StreamEvent struct {
	Event     Event
	StreamSeq uint64
}

// Applied is what ApplyEvents did with one event: ApplyEvent's outcome
// and error (nil, a *RefusedError or a *GapError).
type Applied struct {
	Outcome Outcome
	Err     error
}

// MaxGroupEvents bounds the events ApplyEvents puts in one statfile update.
const MaxGroupEvents = 256

// ApplyEvents applies evs in order exactly as ApplyEvent would one by
// one, but in groups, each one statfile update (one journal record, one
// fsync) that sets the cursor to its last event: a host catching up on a
// stream applies it several times faster. A group holds all of its
// events or, after a crash, none, so resuming from Cursor()+1 stays exact.
// A group ends before an event whose decision depends on what the group
// changed: one of a message (digest) the group learned or forgot, one
// that may expire a user namespace (a user new to the cap), and after
// MaxGroupEvents events or MaxEventHashes hashes.
//
// It returns one Applied per event of the groups it applied. With an
// error (I/O: nothing of that group was written) the events from
// len(results) on are to be applied again.
func (l *Learner) ApplyEvents(evs []StreamEvent) ([]Applied, error) {
	results := make([]Applied, 0, len(evs))
	cursor, err := l.Cursor()
	if err != nil {
		return nil, err
	}
	origins, err := l.knownOrigins()
	if err != nil {
		return nil, err
	}
	g := eventGroup{digests: map[[32]byte]bool{}, marks: map[string]uint64{}}
	flush := func() error {
		if g.events == 0 {
			return nil
		}
		ops := append(g.ops, setOp(cursorNamespace, cursor))
		for o, seq := range g.marks {
			ops = append(ops, setOp(originPrefix+o, seq))
		}
		if err := l.apply(ops); err != nil {
			results = results[:g.first]
			return err
		}
		for o := range g.marks {
			origins[o] = true
		}
		l.refused += g.refused
		l.gaps += g.gaps
		g = eventGroup{digests: g.digests, marks: g.marks, ops: g.ops[:0], first: len(results)}
		clear(g.digests)
		clear(g.marks)
		return nil
	}
	for _, se := range evs {
		ev, streamSeq := se.Event, se.StreamSeq
		if streamSeq == 0 {
			if err := flush(); err != nil {
				return results, err
			}
			return results, errors.New("learn: apply event: stream sequence 0")
		}
		if streamSeq <= cursor {
			results = append(results, Applied{Outcome: AlreadyApplied})
			if g.events == 0 {
				g.first = len(results)
			}
			continue
		}
		newUser, err := l.mayExpire(&ev)
		if err != nil {
			return results[:g.first], err
		}
		if g.digests[ev.Digest] || newUser || g.events >= MaxGroupEvents || g.hashes+len(ev.Hashes) > MaxEventHashes {
			if err := flush(); err != nil {
				return results, err
			}
		}
		cursor = streamSeq
		g.events++
		a, err := l.planEvent(&g, ev, streamSeq, origins)
		if err != nil {
			return results[:g.first], err
		}
		results = append(results, a)
	}
	if err := flush(); err != nil {
		return results, err
	}
	return results, nil
}

// eventGroup is the statfile update ApplyEvents is making: its ops, and
// what its events changed that later ones read.
type eventGroup struct {
	ops     []mmapstore.Op
	events  int               // events in the group (their cursor moves)
	first   int               // index of the group's first result
	hashes  int               // hashes in ops
	digests map[[32]byte]bool // messages learned or forgotten
	marks   map[string]uint64 // origin marks set
	refused uint64            // events refused
	gaps    uint64            // events after a gap
}

// mayExpire reports whether applying ev may expire a user namespace: it
// learns for a user the cap does not hold yet.
func (l *Learner) mayExpire(ev *Event) (bool, error) {
	if l.opts.MaxUserNamespaces <= 0 || l.userOf(ev.User) == "" || ev.Label == Forget {
		return false, nil
	}
	r, err := l.recency()
	if err != nil {
		return false, err
	}
	_, known := r.seen[mmapstore.NamespaceOf(mmapstore.UserNamespace(ev.User))]
	return !known, nil
}

// planEvent adds ev, the event at streamSeq, to g.
func (l *Learner) planEvent(g *eventGroup, ev Event, streamSeq uint64, origins map[string]bool) (Applied, error) {
	refuse := func(reason string) Applied {
		g.refused++
		return Applied{Err: &RefusedError{StreamSeq: streamSeq, Origin: ev.Origin, Seq: ev.Seq, Reason: reason}}
	}
	if reason := l.refusal(&ev); reason != "" {
		return refuse(reason), nil
	}
	mark, pending := g.marks[ev.Origin]
	if !pending {
		var err error
		if mark, err = l.mark(ev.Origin); err != nil {
			return Applied{}, err
		}
	}
	if ev.Seq <= mark {
		return Applied{Outcome: AlreadyApplied}, nil
	}
	if !origins[ev.Origin] && !pending && len(origins)+l.newOrigins(g, origins) >= MaxOrigins {
		return refuse(fmt.Sprintf("a new origin past the limit of %d", MaxOrigins)), nil
	}
	g.marks[ev.Origin] = ev.Seq
	m := message{hashes: ev.Hashes, digest: ev.Digest, language: ev.Language}
	var out Outcome
	var err error
	if ev.Label == Forget {
		g.ops, out, err = l.planForget(g.ops, m, ev.User)
	} else {
		g.ops, out, err = l.plan(g.ops, m, ev.Label, ev.User, rankOf(ev.Source), ev.Time)
	}
	if err != nil {
		return Applied{}, fmt.Errorf("learn: apply event (stream seq %d): %w", streamSeq, err)
	}
	g.digests[ev.Digest] = true
	g.hashes += len(ev.Hashes)
	if mark > 0 && ev.Seq != mark+1 {
		g.gaps++
		return Applied{Outcome: out, Err: &GapError{Origin: ev.Origin, Mark: mark, Seq: ev.Seq}}, nil
	}
	return Applied{Outcome: out}, nil
}

// newOrigins counts the origins g marks that origins does not know yet.
func (l *Learner) newOrigins(g *eventGroup, origins map[string]bool) int {
	n := 0
	for o := range g.marks {
		if !origins[o] {
			n++
		}
	}
	return n
}

// apply journals ops through the writer. When it fails, what the Learner
// keeps in memory of the statfile (user learn times, origins) is dropped,
// to be read again from the statfile: plan may have changed it for ops
// that were never applied.
func (l *Learner) apply(ops []mmapstore.Op) error {
	if _, err := l.w.Apply(ops...); err != nil {
		l.users, l.origins = nil, nil
		return fmt.Errorf("learn: %w", err)
	}
	return nil
}
