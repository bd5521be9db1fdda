package mmapstore

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Child processes: the test binary re-executed with childEnv set.
const (
	childEnv  = "SLUICE_MMAPSTORE_CHILD"
	childPath = "SLUICE_MMAPSTORE_PATH"
)

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "reader":
		os.Exit(childReader(os.Getenv(childPath)))
	case "learner":
		os.Exit(childLearner(os.Getenv(childPath)))
	case "grow-and-die":
		os.Exit(childGrowAndDie(os.Getenv(childPath)))
	case "apply-and-die":
		os.Exit(childApplyAndDie(os.Getenv(childPath), os.Getenv(childStep)))
	}
	os.Exit(m.Run())
}

// pairKeys are the tokens of the concurrency tests. The writer only ever
// gives them counts (n, 2n): any other pair a reader sees is torn.
func pairKeys() []uint64 {
	r := rand.New(rand.NewPCG(7, 7))
	return randHashes(r, 256)
}

// checkPairs validates one lookup: pairs of the form (n, 2n), and for
// each token n never decreasing (last holds the previous n).
func checkPairs(out []Counts, last []uint32) error {
	for i, c := range out {
		if c.Ham != 2*c.Spam {
			return fmt.Errorf("token %d: torn pair %+v", i, c)
		}
		if c.Spam < last[i] {
			return fmt.Errorf("token %d: count went back from %d to %d", i, last[i], c.Spam)
		}
		last[i] = c.Spam
	}
	return nil
}

// childReader looks up pairKeys until the file says the writer is done
// (shared spam total = pairDone), validating every lookup.
func childReader(path string) int {
	r, err := OpenReader(path, testParams)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer r.Close()
	keys := pairKeys()
	out := make([]Counts, len(keys))
	last := make([]uint32, len(keys))
	deadline := time.Now().Add(30 * time.Second)
	lookups := 0
	for time.Now().Before(deadline) {
		tot, err := r.Lookup(Shared, keys, out)
		if err != nil {
			fmt.Println(err)
			return 1
		}
		if err := checkPairs(out, last); err != nil {
			fmt.Println(err)
			return 1
		}
		lookups++
		if tot.Ham >= pairDone {
			fmt.Printf("ok %d lookups, generation %d, last %d\n", lookups, r.Generation(), last[0])
			return 0
		}
	}
	fmt.Println("timeout")
	return 1
}

const pairDone = 1 << 20

// TestConcurrent_readersWhileGrowing runs readers in goroutines and in a
// second process while the writer learns and grows the file many times.
func TestConcurrent_readersWhileGrowing(t *testing.T) {
	o := testOptions()
	w, path := mustOpenWriter(t, o)
	keys := pairKeys()
	// One learn so the file exists with the pair keys.
	learnPair := func(extra []uint64) {
		mustApply(t, w,
			Op{Class: Spam, Delta: 1, Hashes: keys},
			Op{Class: Ham, Delta: 1, Hashes: keys},
			Op{Class: Ham, Delta: 1, Hashes: keys},
			Op{NS: NamespaceOf("filler"), Class: Spam, Delta: 1, Hashes: extra})
	}
	learnPair(nil)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=reader", childPath+"="+path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	var lookups atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := OpenReader(path, testParams)
			if err != nil {
				errs <- err
				return
			}
			defer r.Close()
			out := make([]Counts, len(keys))
			last := make([]uint32, len(keys))
			for !stop.Load() {
				if _, err := r.Lookup(Shared, keys, out); err != nil {
					errs <- err
					return
				}
				if err := checkPairs(out, last); err != nil {
					errs <- err
					return
				}
				lookups.Add(1)
			}
		}()
	}
	rnd := rand.New(rand.NewPCG(8, 8))
	for range 300 {
		learnPair(randHashes(rnd, 300))
	}
	// Tell the child process we are done: ham total >= pairDone.
	extra := make([]Op, 0, 64)
	for range pairDone / 1024 {
		extra = extra[:0]
		for range 1024 {
			extra = append(extra, Op{Class: Ham, Delta: 1})
		}
		mustApply(t, w, extra...)
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	sc := bufio.NewScanner(stdout)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("reader process: %v: %q", err, lines)
	}
	info, _ := Stat(path)
	t.Logf("in-process lookups %d, child %q, generation %d", lookups.Load(), lines, info.Generation)
	if info.Generation < 5 {
		t.Errorf("file grew only to generation %d", info.Generation)
	}
}

// childLearner learns message after message, printing each acknowledged
// sequence and message number, until it is killed.
func childLearner(path string) int {
	o := &Options{Params: testParams, InitialSlots: minSlots, CheckpointBytes: 256 << 10}
	w, err := OpenWriter(path, o)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	tot, _ := w.Lookup(Shared, nil, nil)
	for i := tot.Spam; ; i++ {
		seq, err := w.Apply(Op{Class: Spam, Delta: 1, Hashes: messageHashes(i)})
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		fmt.Printf("ack %d %d\n", seq, i)
	}
}

func messageHashes(i uint64) []uint64 {
	hs := make([]uint64, 40)
	for j := range hs {
		hs[j] = mixKey(i<<8|uint64(j), 99)
	}
	return hs
}

// TestCrash_kill9 kills a learning child process with SIGKILL at random
// moments. After each kill the file passes Check and, once reopened,
// holds every learn the child acknowledged.
func TestCrash_kill9(t *testing.T) {
	path := t.TempDir() + "/stats.db"
	rounds := 20
	if testing.Short() {
		rounds = 5
	}
	acked := map[uint64]bool{}
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"=learner", childPath+"="+path)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan []string)
		go func() {
			var lines []string
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines = append(lines, sc.Text())
			}
			done <- lines
		}()
		time.Sleep(time.Duration(50+rnd.IntN(250)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		lines := <-done
		cmd.Wait()
		n := 0
		for _, l := range lines {
			var seq, i uint64
			if _, err := fmt.Sscanf(l, "ack %d %d", &seq, &i); err != nil {
				t.Fatalf("round %d: child said %q", round, l)
			}
			acked[i] = true
			n++
		}
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) && len(acked) == 0 {
			// Killed before it created the file (a slow start on a busy
			// machine): nothing to check, nothing was acknowledged.
			t.Logf("round %d: killed before the statfile existed", round)
			continue
		}
		if err := Check(path); err != nil {
			t.Fatalf("round %d: Check after kill: %v", round, err)
		}
		w, err := OpenWriter(path, &Options{Params: testParams, NoSync: true})
		if err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
		out := make([]Counts, 40)
		for i := range acked {
			if _, err := w.Lookup(Shared, messageHashes(i), out); err != nil {
				t.Fatal(err)
			}
			for j, c := range out {
				if c.Spam != 1 {
					t.Fatalf("round %d: acknowledged message %d token %d has %+v", round, i, j, c)
				}
			}
		}
		tot, _ := w.Lookup(Shared, nil, nil)
		if tot.Spam < uint64(len(acked)) {
			t.Fatalf("round %d: %d messages learned, %d acknowledged", round, tot.Spam, len(acked))
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		mustCheck(t, path)
		t.Logf("round %d: %d acks this round, %d in all, %d learned", round, n, len(acked), tot.Spam)
	}
	info, _ := Stat(path)
	t.Logf("final: %+v", info)
}
