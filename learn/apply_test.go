package learn

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/tokenizer"
)

// synthEvent is an event of message id (its digest and 60 hashes derived
// from id) from origin at seq.
func synthEvent(params mmapstore.Params, origin string, seq uint64, label Label, source, user string, id int) Event {
	r := rand.New(rand.NewPCG(uint64(id), 99))
	hs := make([]uint64, 60)
	for i := range hs {
		hs[i] = r.Uint64()
	}
	return Event{Site: "test", Origin: origin, Seq: seq, Label: label, Source: source, User: user,
		Digest: sha256.Sum256(fmt.Appendf(nil, "message %d", id)), Params: params, Hashes: hs,
		Time: time.Unix(1700000000+int64(seq), 0)}
}

func TestApplyEvent(t *testing.T) {
	type step struct {
		origin string
		seq    uint64
		label  Label
		source string
		id     int    // message
		stream uint64 // stream sequence
		out    Outcome
		err    error // ErrEventRefused, ErrGap or nil
		other  bool  // the event's params are not the statfile's
	}
	const user, auto = "dovecot", SourceAutolearn
	tests := []struct {
		name   string
		steps  []step
		class  Label // of message 1 at the end
		shared mmapstore.Totals
		cursor uint64
		marks  map[string]uint64
	}{
		{"learn", []step{{"mx1", 1, Spam, user, 1, 1, Learned, nil, false}},
			Spam, mmapstore.Totals{Spam: 1}, 1, map[string]uint64{"mx1": 1}},
		{"same class is a no-op", []step{
			{"mx1", 1, Spam, user, 1, 1, Learned, nil, false},
			{"mx2", 1, Spam, user, 1, 2, AlreadyLearned, nil, false}},
			Spam, mmapstore.Totals{Spam: 1}, 2, map[string]uint64{"mx1": 1, "mx2": 1}},
		{"other class relearns", []step{
			{"mx1", 1, Spam, user, 1, 1, Learned, nil, false},
			{"mx2", 1, Ham, user, 1, 2, Relearned, nil, false}},
			Ham, mmapstore.Totals{Ham: 1}, 2, map[string]uint64{"mx1": 1, "mx2": 1}},
		{"forget", []step{
			{"mx1", 1, Spam, user, 1, 1, Learned, nil, false},
			{"mx1", 2, Forget, user, 1, 2, Forgotten, nil, false},
			{"mx1", 3, Forget, user, 1, 3, NotLearned, nil, false}},
			0, mmapstore.Totals{}, 3, map[string]uint64{"mx1": 3}},
		{"autolearn never overturns a user", []step{
			{"mx1", 1, Ham, user, 1, 1, Learned, nil, false},
			{"mx2", 1, Spam, auto, 1, 2, AlreadyLearned, nil, false}},
			Ham, mmapstore.Totals{Ham: 1}, 2, map[string]uint64{"mx1": 1, "mx2": 1}},
		{"a user overturns autolearn", []step{
			{"mx1", 1, Spam, auto, 1, 1, Learned, nil, false},
			{"mx2", 1, Ham, user, 1, 2, Relearned, nil, false},
			{"mx1", 2, Spam, auto, 1, 3, AlreadyLearned, nil, false}},
			Ham, mmapstore.Totals{Ham: 1}, 3, map[string]uint64{"mx1": 2, "mx2": 1}},
		{"autolearn overturns autolearn", []step{
			{"mx1", 1, Spam, auto, 1, 1, Learned, nil, false},
			{"mx2", 1, Ham, auto, 1, 2, Relearned, nil, false}},
			Ham, mmapstore.Totals{Ham: 1}, 2, map[string]uint64{"mx1": 1, "mx2": 1}},
		{"a user confirming autolearn takes the entry over", []step{
			{"mx1", 1, Spam, auto, 1, 1, Learned, nil, false},
			{"mx1", 2, Spam, user, 1, 2, AlreadyLearned, nil, false},
			{"mx2", 1, Ham, auto, 1, 3, AlreadyLearned, nil, false}},
			Spam, mmapstore.Totals{Spam: 1}, 3, map[string]uint64{"mx1": 2, "mx2": 1}},
		{"params mismatch is refused, the cursor moves", []step{
			{"mx1", 1, Spam, user, 1, 1, 0, ErrEventRefused, true},
			{"mx1", 2, Ham, user, 2, 2, Learned, nil, false}},
			0, mmapstore.Totals{Ham: 1}, 2, map[string]uint64{"mx1": 2}},
		{"duplicate stream sequence writes nothing", []step{
			{"mx1", 1, Spam, user, 1, 5, Learned, nil, false},
			{"mx1", 2, Ham, user, 1, 5, AlreadyApplied, nil, false},
			{"mx1", 2, Ham, user, 1, 4, AlreadyApplied, nil, false}},
			Spam, mmapstore.Totals{Spam: 1}, 5, map[string]uint64{"mx1": 1}},
		{"a resend below the mark is skipped", []step{
			{"mx1", 1, Spam, user, 1, 1, Learned, nil, false},
			{"mx1", 2, Spam, user, 2, 2, Learned, nil, false},
			{"mx1", 1, Ham, user, 1, 3, AlreadyApplied, nil, false}},
			Spam, mmapstore.Totals{Spam: 2}, 3, map[string]uint64{"mx1": 2}},
		{"a gap is applied and reported", []step{
			{"mx1", 1, Spam, user, 1, 1, Learned, nil, false},
			{"mx1", 5, Spam, user, 2, 2, Learned, ErrGap, false},
			{"mx1", 6, Spam, user, 3, 3, Learned, nil, false}},
			Spam, mmapstore.Totals{Spam: 3}, 3, map[string]uint64{"mx1": 6}},
		{"a first event need not be seq 1", []step{
			{"mx1", 41, Spam, user, 1, 7, Learned, nil, false}},
			Spam, mmapstore.Totals{Spam: 1}, 7, map[string]uint64{"mx1": 41}},
		{"bad origins are refused", []step{
			{"", 1, Spam, user, 1, 1, 0, ErrEventRefused, false},
			{"mx 1", 1, Spam, user, 1, 2, 0, ErrEventRefused, false},
			{"mx1", 0, Spam, user, 1, 3, 0, ErrEventRefused, false}},
			0, mmapstore.Totals{}, 3, map[string]uint64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, w := newLearner(t, Options{})
			params := w.Params()
			for i, s := range tc.steps {
				p := params
				if s.other {
					p.Seed++
				}
				ev := synthEvent(p, s.origin, s.seq, s.label, s.source, "", s.id)
				out, err := l.ApplyEvent(ev, s.stream)
				if out != s.out || !errors.Is(err, s.err) || (s.err == nil && err != nil) {
					t.Fatalf("step %d: %v, %v; want %v, %v", i, out, err, s.out, s.err)
				}
				if !CursorAdvanced(err) {
					t.Fatalf("step %d: the cursor did not advance: %v", i, err)
				}
			}
			ev := synthEvent(params, "x", 1, Spam, "", "", 1)
			if e, _ := l.cached(l.cacheNS, cacheKey(ev.Digest, "")); Label(e.class) != tc.class {
				t.Errorf("message 1 is %v, want %v", Label(e.class), tc.class)
			}
			if got := totals(t, w, mmapstore.Shared); got != tc.shared {
				t.Errorf("shared totals %+v, want %+v", got, tc.shared)
			}
			if c, _ := l.Cursor(); c != tc.cursor {
				t.Errorf("cursor %d, want %d", c, tc.cursor)
			}
			if m, _ := l.Marks(); !maps.Equal(m, tc.marks) {
				t.Errorf("marks %v, want %v", m, tc.marks)
			}
		})
	}
}

func TestApplyEvent_refusedIsCountedAndSays(t *testing.T) {
	l, w := newLearner(t, Options{})
	p := w.Params()
	p.Window++
	_, err := l.ApplyEvent(synthEvent(p, "mx1", 1, Spam, "", "", 1), 1)
	var re *RefusedError
	if !errors.As(err, &re) || re.StreamSeq != 1 || re.Origin != "mx1" {
		t.Fatalf("err %v, want a RefusedError", err)
	}
	if l.RefusedEvents() != 1 {
		t.Errorf("RefusedEvents %d", l.RefusedEvents())
	}
	t.Log(err)
}

func TestApplyEvent_originsAreBounded(t *testing.T) {
	l, w := newLearner(t, Options{})
	for i := range MaxOrigins {
		if _, err := l.ApplyEvent(synthEvent(w.Params(), fmt.Sprintf("mx%d", i), 1, Spam, "", "", i), uint64(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	_, err := l.ApplyEvent(synthEvent(w.Params(), "one-more", 1, Spam, "", "", 9999), MaxOrigins+1)
	if !errors.Is(err, ErrEventRefused) {
		t.Fatalf("origin %d: %v, want refused", MaxOrigins+1, err)
	}
	// A known origin still applies, from a new Learner (a restart) too.
	l2 := New(w, Options{})
	if out, err := l2.ApplyEvent(synthEvent(w.Params(), "mx0", 2, Ham, "", "", 5000), MaxOrigins+2); err != nil || out != Learned {
		t.Fatalf("a known origin after the limit: %v %v", out, err)
	}
	if _, err := l2.ApplyEvent(synthEvent(w.Params(), "one-more", 1, Spam, "", "", 9999), MaxOrigins+3); !errors.Is(err, ErrEventRefused) {
		t.Fatalf("after a restart: %v, want refused", err)
	}
}

// TestApplyEvent_userPart: with per-user statistics the user's part
// follows the same rule, and the user's learn time is the event's.
func TestApplyEvent_userPart(t *testing.T) {
	l, w := newLearner(t, Options{UsersEnabled: true, MaxUserNamespaces: 1})
	p := w.Params()
	steps := []struct {
		label  Label
		source string
		user   string
		out    Outcome
	}{
		{Spam, SourceAutolearn, "alice", Learned},
		{Ham, "dovecot", "alice", Relearned},
		{Spam, SourceAutolearn, "alice", AlreadyLearned},
		{Spam, SourceAutolearn, "bob", AlreadyLearned}, // the shared part keeps ham; bob's part is new
	}
	for i, s := range steps {
		ev := synthEvent(p, "mx1", uint64(i+1), s.label, s.source, s.user, 1)
		out, err := l.ApplyEvent(ev, uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		if i < 3 && out != s.out {
			t.Fatalf("step %d: %v, want %v", i, out, s.out)
		}
	}
	// bob's learn expired alice (cap 1); bob's time is his event's.
	if tot := totals(t, w, mmapstore.NamespaceOf("user:alice")); tot != (mmapstore.Totals{}) {
		t.Errorf("alice %+v, want expired", tot)
	}
	if seen := totals(t, w, mmapstore.NamespaceOf(seenNamespace("bob"))); seen.Spam != uint64(time.Unix(1700000004, 0).UnixNano()) {
		t.Errorf("bob's learn time %d, want the event's", seen.Spam)
	}
}

// TestLocalLearn_autolearnRank: the local path follows the same rule.
func TestLocalLearn_autolearnRank(t *testing.T) {
	l, _ := newLearner(t, Options{})
	res := mustTokenize(t, l, msg("invoice", "your invoice is attached, pay now"))
	steps := []struct {
		label  Label
		source string
		out    Outcome
	}{
		{Spam, SourceAutolearn, Learned},
		{Ham, SourceAutolearn, Relearned},
		{Spam, "", Relearned},
		{Ham, SourceAutolearn, AlreadyLearned},
		{Ham, "dovecot", Relearned},
	}
	for i, s := range steps {
		out, err := l.LearnTokensFrom(res, s.label, "", s.source)
		if err != nil || out != s.out {
			t.Fatalf("step %d (%v from %q): %v %v, want %v", i, s.label, s.source, out, err, s.out)
		}
	}
	// The batch path too: autolearn after a user's ham in the same batch.
	b := l.NewBatch(0)
	if out, err := b.AddTokensFrom(res, Spam, "", SourceAutolearn); err != nil || out != AlreadyLearned {
		t.Fatalf("batch autolearn over a user: %v %v", out, err)
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if c, _ := l.Class(res); c != Ham {
		t.Fatalf("class %v, want ham", c)
	}
}

func mustTokenize(t *testing.T, l *Learner, m string) *tokenizer.Result {
	t.Helper()
	res, err := l.tok.Tokenize(strings.NewReader(m))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestApplyEvents_groupsEqualOneByOne: events in one ApplyEvents call
// leave the statfile ApplyEvent leaves them one by one, where a decision
// depends on an earlier event of the group: the same message twice, and
// a user new at the cap whose victim is chosen by learn counts (two users
// learned at the same time; the one with fewer learns goes).
func TestApplyEvents_groupsEqualOneByOne(t *testing.T) {
	opts := Options{UsersEnabled: true, MaxUserNamespaces: 2}
	a, b := "anna", "bert"
	if mmapstore.NamespaceOf("user:"+a) > mmapstore.NamespaceOf("user:"+b) {
		a, b = b, a // a has the lower id: the tie-break would pick it
	}
	_, w0 := newLearner(t, opts)
	p := w0.Params()
	at := func(ev Event) Event { ev.Time = time.Unix(1700000000, 0); return ev }
	evs := []StreamEvent{
		{at(synthEvent(p, "mx1", 1, Spam, "dovecot", a, 1)), 1},
		{at(synthEvent(p, "mx1", 2, Spam, "dovecot", b, 2)), 2},
		{at(synthEvent(p, "mx1", 3, Ham, "dovecot", a, 3)), 3},
		{at(synthEvent(p, "mx1", 4, Spam, "dovecot", "carol", 4)), 4},
		{at(synthEvent(p, "mx1", 5, Ham, "dovecot", "carol", 1)), 5}, // message 1 again: relearn
	}
	one, w1 := newLearner(t, opts)
	for _, e := range evs {
		if _, err := one.ApplyEvent(e.Event, e.StreamSeq); err != nil {
			t.Fatal(err)
		}
	}
	group, w2 := newLearner(t, opts)
	res, err := group.ApplyEvents(evs)
	if err != nil || len(res) != len(evs) {
		t.Fatalf("ApplyEvents: %d results, %v", len(res), err)
	}
	if res[4].Outcome != Relearned {
		t.Errorf("message 1 again in the group: %v, want relearned", res[4].Outcome)
	}
	if tot := totals(t, w1, mmapstore.NamespaceOf("user:"+b)); tot != (mmapstore.Totals{}) {
		t.Fatalf("one by one: %s (fewer learns) kept %+v", b, tot)
	}
	d1, _ := w1.Digest()
	d2, _ := w2.Digest()
	if d1 != d2 {
		t.Fatal("ApplyEvents left another statfile than ApplyEvent one by one")
	}
}
