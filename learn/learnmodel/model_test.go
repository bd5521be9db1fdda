package learnmodel

import (
	"reflect"
	"testing"

	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
)

var params = mmapstore.Params{Hash: "xxh64", Seed: 1, Window: 5, Version: 1}

func TestRandomStream_deterministic(t *testing.T) {
	o := StreamOptions{Params: params, Events: 300, Users: []string{"a", "b"}, Faults: true}
	a, b := RandomStream(7, o), RandomStream(7, o)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed gave two streams")
	}
	if reflect.DeepEqual(a, RandomStream(8, o)) {
		t.Fatal("two seeds gave the same stream")
	}
}

// TestModel_rules walks the learn cache's rule through the model; the
// statfile's side of the same rule is learn's TestApplyEvent.
func TestModel_rules(t *testing.T) {
	m := New(params, Options{})
	ev := func(seq uint64, label learn.Label, source string) learn.Event {
		return learn.Event{Origin: "mx1", Seq: seq, Label: label, Source: source, Params: params,
			Digest: [32]byte{1}, Hashes: []uint64{10, 20, 30}}
	}
	steps := []struct {
		ev   learn.Event
		want Result
		cls  learn.Label
	}{
		{ev(1, learn.Spam, learn.SourceAutolearn), Result{Outcome: learn.Learned}, learn.Spam},
		{ev(2, learn.Ham, "dovecot"), Result{Outcome: learn.Relearned}, learn.Ham},
		{ev(3, learn.Spam, learn.SourceAutolearn), Result{Outcome: learn.AlreadyLearned}, learn.Ham},
		{ev(5, learn.Forget, "dovecot"), Result{Outcome: learn.Forgotten, Gap: true}, 0},
		{ev(5, learn.Spam, "dovecot"), Result{Outcome: learn.AlreadyApplied}, 0},
	}
	for i, s := range steps {
		if got := m.Apply(s.ev, uint64(i+1)); got != s.want {
			t.Fatalf("step %d: %+v, want %+v", i, got, s.want)
		}
		if c := m.Class(s.ev.Digest); c != s.cls {
			t.Fatalf("step %d: class %v, want %v", i, c, s.cls)
		}
	}
	if m.Cursor() != 5 || m.Marks()["mx1"] != 5 {
		t.Fatalf("cursor %d, marks %v", m.Cursor(), m.Marks())
	}
	empty := New(params, Options{})
	empty.Apply(ev(1, learn.Spam, ""), 1)
	empty.Apply(ev(2, learn.Forget, ""), 2)
	if empty.Digest() == New(params, Options{}).Digest() {
		t.Fatal("a model with a cursor and a mark digests as an empty one")
	}
}
