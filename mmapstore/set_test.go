package mmapstore

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
)

func TestApply_set(t *testing.T) {
	cursor := NamespaceOf("sys:cursor")
	tests := []struct {
		name string
		ops  []Op
		want Totals // of cursor after the ops
	}{
		{"set", []Op{{NS: cursor, Name: "sys:cursor", Set: true, Totals: Totals{Spam: 1 << 40}}}, Totals{Spam: 1 << 40}},
		{"set then count", []Op{{NS: cursor, Set: true, Totals: Totals{Spam: 7}}, {NS: cursor, Class: Ham, Delta: 1}}, Totals{Spam: 7, Ham: 1}},
		{"count then set overrides", []Op{{NS: cursor, Class: Spam, Delta: 1}, {NS: cursor, Set: true, Totals: Totals{Ham: 3}}}, Totals{Ham: 3}},
		{"set below a count, not clamped", []Op{{NS: cursor, Class: Spam, Delta: 1}, {NS: cursor, Class: Spam, Delta: 1}, {NS: cursor, Set: true, Totals: Totals{Spam: 1}}}, Totals{Spam: 1}},
		{"set shared", []Op{{NS: Shared, Set: true, Totals: Totals{Spam: 5}}}, Totals{}},
		{"set zero on nothing makes no record", []Op{{NS: cursor, Set: true}}, Totals{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, path := mustOpenWriter(t, testOptions())
			mustApply(t, w, tc.ops...)
			if got, _ := w.Lookup(cursor, nil, nil); got != tc.want {
				t.Errorf("totals %+v, want %+v", got, tc.want)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			w2, err := OpenWriter(path, testOptions())
			if err != nil {
				t.Fatal(err)
			}
			defer w2.Close()
			if got, _ := w2.Lookup(cursor, nil, nil); got != tc.want {
				t.Errorf("after reopen: totals %+v, want %+v", got, tc.want)
			}
			if tc.want == (Totals{}) {
				for _, n := range w2.Namespaces() {
					if n.NS == cursor {
						t.Errorf("a record for a namespace set to zero: %+v", n)
					}
				}
			}
		})
	}
}

func TestApply_setRefusesMixedOps(t *testing.T) {
	w, _ := mustOpenWriter(t, testOptions())
	for _, op := range []Op{
		{Set: true, Class: Spam},
		{Set: true, Delta: 1},
		{Set: true, Hashes: []uint64{1}},
	} {
		if _, err := w.Apply(op); !errors.Is(err, ErrBadOp) {
			t.Errorf("Apply(%+v) = %v, want ErrBadOp", op, err)
		}
	}
}

// bigApply is the Apply the crash test stops part way: thousands of
// token updates in three namespaces and a value set, as one record.
func bigApply(w *Writer) error {
	r := rand.New(rand.NewPCG(11, 12))
	hs := randHashes(r, 4000)
	_, err := w.Apply(
		Op{Class: Spam, Delta: 1, Hashes: hs},
		Op{NS: NamespaceOf("lang:en"), Name: "lang:en", Class: Spam, Delta: 1, Hashes: hs},
		Op{NS: NamespaceOf("user:a"), Name: "user:a", Class: Spam, Delta: 1, Hashes: hs},
		Op{NS: NamespaceOf("sys:cursor"), Name: "sys:cursor", Set: true, Totals: Totals{Spam: 42}},
	)
	return err
}

// childApplyAndDie applies bigApply and SIGKILLs itself at the step
// numbered n (counting every Failpoint call from the open on).
func childApplyAndDie(path, n string) int {
	stop, err := strconv.Atoi(n)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	steps := 0
	o := &Options{Params: testParams, InitialSlots: 1 << 14, Failpoint: func(Step) {
		if steps++; steps == stop {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}}
	w, err := OpenWriter(path, o)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	if err := bigApply(w); err != nil {
		fmt.Println(err)
		return 1
	}
	if err := w.Close(); err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Println("survived")
	return 0
}

const childStep = "SLUICE_MMAPSTORE_STEP"

// TestCrash_oneApplyIsAtomic kills a process at chosen steps of one
// Apply of 12,000 slot updates and a value set (journal write, fsync,
// the first, middle and last slot stores, the totals, the seal, the
// checkpoint of Close), then reopens the file: it holds all of the Apply
// or none of it, with the value set if and only if the counts are there.
// This is why package learn needs no "applying" record: an event is one
// Apply.
func TestCrash_oneApplyIsAtomic(t *testing.T) {
	// A dry run counts the steps.
	var steps []Step
	dry := testOptions()
	dry.InitialSlots = 1 << 14
	dry.Failpoint = func(s Step) { steps = append(steps, s) }
	w, _ := mustOpenWriter(t, dry)
	if err := bigApply(w); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	first := map[Step]int{}
	var last int
	for i, s := range steps {
		if _, ok := first[s]; !ok {
			first[s] = i + 1
		}
		if s == StepSlot {
			last = i + 1
		}
	}
	if first[StepCheckpoint] < last || first[StepSlot] == 0 || last-first[StepSlot] < 10000 {
		t.Fatalf("dry run: steps %v", first)
	}
	points := []int{first[StepJournalWrite], first[StepJournalSync], first[StepSlot], first[StepSlot] + 1,
		(first[StepSlot] + last) / 2, last, first[StepTotals], first[StepSeal], first[StepCheckpoint], first[StepJournalReset]}
	for _, n := range points {
		t.Run(fmt.Sprintf("step%d", n), func(t *testing.T) {
			path := t.TempDir() + "/stats.db"
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"=apply-and-die", childPath+"="+path, childStep+"="+strconv.Itoa(n))
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("child did not die by SIGKILL: %v, %s", err, out)
			}
			if err := Check(path); err != nil {
				t.Fatalf("after the kill: %v", err)
			}
			w, err := OpenWriter(path, testOptions())
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			cur, _ := w.Lookup(NamespaceOf("sys:cursor"), nil, nil)
			shared, _ := w.Lookup(Shared, nil, nil)
			r := rand.New(rand.NewPCG(11, 12))
			hs := randHashes(r, 4000)
			cs := make([]Counts, len(hs))
			var sum uint64
			for _, ns := range []Namespace{Shared, NamespaceOf("lang:en"), NamespaceOf("user:a")} {
				if _, err := w.Lookup(ns, hs, cs); err != nil {
					t.Fatal(err)
				}
				for _, c := range cs {
					sum += uint64(c.Spam)
				}
			}
			all := cur.Spam == 42 && shared.Spam == 1 && sum == 3*4000
			none := cur.Spam == 0 && shared.Spam == 0 && sum == 0
			if !all && !none {
				t.Errorf("half an Apply: cursor %d, shared %+v, %d of %d counts", cur.Spam, shared, sum, 3*4000)
			}
			if n >= first[StepJournalSync] && !all {
				t.Errorf("killed after the record was written (step %d): the Apply is lost", n)
			}
		})
	}
}

// TestApply_setJournalsAbsoluteTotals: a Set op is journaled as the
// namespace's absolute totals, the record format of journal.go (so
// replay, RepairJournal and the golden journal need nothing new).
func TestApply_setJournalsAbsoluteTotals(t *testing.T) {
	o := testOptions()
	o.CheckpointBytes = -1
	w, path := mustOpenWriter(t, o)
	ns := NamespaceOf("sys:cursor")
	mustApply(t, w, Op{NS: ns, Class: Spam, Delta: 1}, Op{NS: ns, Name: "sys:cursor", Set: true, Totals: Totals{Spam: 1 << 50, Ham: 3}})
	b, err := os.ReadFile(path + ".journal")
	if err != nil {
		t.Fatal(err)
	}
	want := encodeRecord(nil, 1, nil, []nsEntry{{ns: ns, t: Totals{Spam: 1 << 50, Ham: 3}, name: "sys:cursor"}})
	if got := b[journalHeaderSize:]; string(got) != string(want) {
		t.Fatalf("journal record\n%x\nwant\n%x", got, want)
	}
}
