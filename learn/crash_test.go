package learn_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/learn/learnmodel"
	"github.com/sluicemail/sluice/mmapstore"
)

// The crash test's child: the test binary re-executed with these set.
const (
	childEnv    = "SLUICE_LEARN_CHILD"
	childPath   = "SLUICE_LEARN_PATH"
	childSeed   = "SLUICE_LEARN_SEED"
	childStopAt = "SLUICE_LEARN_STOP_AT"
	childGroup  = "SLUICE_LEARN_GROUP"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "apply" {
		os.Exit(childApply())
	}
	os.Exit(m.Run())
}

var crashOptions = learnmodel.Options{UsersEnabled: true, LanguagesEnabled: true, MaxUserNamespaces: 3}

const crashEvents = 1000

func crashStream(seed uint64) []learnmodel.Entry {
	return learnmodel.RandomStream(seed, learnmodel.StreamOptions{Params: modelParams, Events: crashEvents,
		Users: []string{"alice", "bob", "carol", "dave", "erin"}, Faults: true})
}

// applyFrom opens the statfile with failpoint and applies the stream from
// the statfile's cursor on, as a restarted learner resumes: one event at a
// time (group 0) or through ApplyEvents, group events per call.
func applyFrom(path string, stream []learnmodel.Entry, group int, failpoint func(mmapstore.Step)) error {
	o := storeOptions()
	o.Failpoint = failpoint
	w, err := mmapstore.OpenWriter(path, o)
	if err != nil {
		return err
	}
	defer w.Close()
	l := learn.New(w, learnOptions(crashOptions))
	cursor, err := l.Cursor()
	if err != nil {
		return err
	}
	var batch []learn.StreamEvent
	for _, e := range stream {
		if e.StreamSeq <= cursor {
			continue
		}
		if group == 0 {
			if _, err := l.ApplyEvent(e.Event, e.StreamSeq); !learn.CursorAdvanced(err) {
				return fmt.Errorf("stream seq %d: %w", e.StreamSeq, err)
			}
			continue
		}
		if batch = append(batch, learn.StreamEvent{Event: e.Event, StreamSeq: e.StreamSeq}); len(batch) == group {
			if _, err := l.ApplyEvents(batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if _, err := l.ApplyEvents(batch); err != nil {
		return err
	}
	return w.Close()
}

// childApply applies the stream and SIGKILLs itself at the failpoint
// SLUICE_LEARN_STOP_AT names: "STEP:N", the Nth step of that kind ("*"
// any kind) from its start ("" never).
func childApply() int {
	seed, err := strconv.ParseUint(os.Getenv(childSeed), 10, 64)
	if err != nil {
		fmt.Println(err)
		return 2
	}
	group, err := strconv.Atoi(os.Getenv(childGroup))
	if err != nil {
		fmt.Println(err)
		return 2
	}
	kind, n := "", 0
	if at := os.Getenv(childStopAt); at != "" {
		k, num, _ := strings.Cut(at, ":")
		if n, err = strconv.Atoi(num); err != nil {
			fmt.Println(err)
			return 2
		}
		kind = k
	}
	steps := 0
	err = applyFrom(os.Getenv(childPath), crashStream(seed), group, func(s mmapstore.Step) {
		if kind != "*" && string(s) != kind {
			return
		}
		if steps++; steps == n {
			fmt.Println(s)
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	})
	if err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Println("done")
	return 0
}

// TestApplyEvent_crashExact is the scenario 2: a learner applying
// a stream is SIGKILLed at 20 points a seeded failpoint chooses (any
// journal write or fsync, any of the thousands of slot stores, a growth,
// a checkpoint, the replay at the next open), restarted, and resumes from
// its cursor. After every kill the statfile passes fsck; every other
// kill it is reopened and must equal the model of exactly the events up
// to its cursor; at the end it equals the model of the whole stream: no
// event counted twice or lost.
//
// It runs with ApplyEvent, one event per statfile update, and with
// ApplyEvents in calls of 16 events, where a kill must leave all of a
// group or none.
func TestApplyEvent_crashExact(t *testing.T) {
	seed := testSeed(t)
	for _, group := range []int{0, 16} {
		t.Run(fmt.Sprintf("group=%d", group), func(t *testing.T) { crashExact(t, seed, group) })
	}
}

func crashExact(t *testing.T, seed uint64, group int) {
	stream := crashStream(seed)
	// A dry run counts the failpoint steps of the whole stream, by kind.
	counts := map[string]int{}
	if err := applyFrom(filepath.Join(t.TempDir(), "dry.db"), stream, group, func(s mmapstore.Step) {
		counts[string(s)]++
		counts["*"]++
	}); err != nil {
		t.Fatal(err)
	}
	frequent := []string{"*", "*", "*"} // any step: mostly slot stores
	for _, k := range []mmapstore.Step{mmapstore.StepJournalWrite, mmapstore.StepJournalSync, mmapstore.StepSlot,
		mmapstore.StepTotals, mmapstore.StepSeal} {
		frequent = append(frequent, string(k))
	}
	// Rare steps are each the next of their kind, at fixed kills: the
	// first growth comes early, a checkpoint every few dozen events. (The
	// first "rebuild" of a run on a new file is the file's creation.)
	rare := map[int]mmapstore.Step{0: mmapstore.StepRebuild, 7: mmapstore.StepCheckpoint, 13: mmapstore.StepJournalReset}
	for _, k := range rare {
		if counts[string(k)] == 0 {
			t.Fatalf("the stream never reaches step %s: %v", k, counts)
		}
	}
	t.Logf("steps of the whole stream: %v", counts)
	path := filepath.Join(t.TempDir(), "stats.db")
	r := rand.New(rand.NewPCG(seed, 2))
	model := learnmodel.New(modelParams, crashOptions)
	next := 0 // stream entries the model has applied
	for kill := range 20 {
		// A kind of step, and one of the first 1/40 of its occurrences
		// (so that 20 kills stay well within the stream); sometimes one
		// of the first 50 steps: the replay of the last crash's journal.
		kind := frequent[r.IntN(len(frequent))]
		stop := fmt.Sprintf("%s:%d", kind, 1+r.IntN(max(counts[kind]/40, 2)))
		switch k, ok := rare[kill]; {
		case ok && kill == 0:
			stop = string(k) + ":2"
		case ok:
			stop = string(k) + ":1"
		case r.IntN(5) == 0:
			stop = fmt.Sprintf("*:%d", 1+r.IntN(50))
		}
		out, err := runChild(path, seed, group, stop)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("kill %d at %s: the child did not die by SIGKILL: %v: %s", kill, stop, err, out)
		}
		if err := mmapstore.Check(path); err != nil {
			t.Fatalf("kill %d at %s: %v", kill, stop, err)
		}
		if kill%2 == 1 {
			t.Logf("kill %d at %s (%s)", kill, stop, out)
			continue // leave the crash for the next child to recover
		}
		w, err := mmapstore.OpenWriter(path, storeOptions())
		if err != nil {
			t.Fatal(err)
		}
		cursor, _ := learn.New(w, learnOptions(crashOptions)).Cursor()
		got, err := w.Digest()
		if err := errors.Join(err, w.Close()); err != nil {
			t.Fatal(err)
		}
		for ; next < len(stream) && stream[next].StreamSeq <= cursor; next++ {
			model.Apply(stream[next].Event, stream[next].StreamSeq)
		}
		if got != model.Digest() {
			t.Fatalf("kill %d at %s: the statfile at cursor %d is not the model of the events up to it", kill, stop, cursor)
		}
		t.Logf("kill %d at %s (%s): cursor %d, equal to the model", kill, stop, out, cursor)
	}
	if out, err := runChild(path, seed, group, ""); err != nil {
		t.Fatalf("the last child: %v: %s", err, out)
	}
	for ; next < len(stream); next++ {
		model.Apply(stream[next].Event, stream[next].StreamSeq)
	}
	w, err := mmapstore.OpenWriter(path, storeOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	got, err := w.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if got != model.Digest() {
		t.Fatal("after 20 kills and the whole stream, the statfile differs from the model: an event was counted twice or lost")
	}
	if c, _ := learn.New(w, learn.Options{}).Cursor(); c != model.Cursor() {
		t.Fatalf("cursor %d, want %d", c, model.Cursor())
	}
}

func runChild(path string, seed uint64, group int, stop string) (string, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=apply", childPath+"="+path,
		childSeed+"="+strconv.FormatUint(seed, 10), childStopAt+"="+stop, childGroup+"="+strconv.Itoa(group))
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
