package cluster

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

func appendN(t *testing.T, o *Outbox, n int) []uint64 {
	t.Helper()
	var seqs []uint64
	for i := range n {
		ev := sampleEvent(0, uint64(i), uint64(i)+1000)
		seq, err := o.Append(&ev)
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, seq)
	}
	return seqs
}

func pendingSeqs(o *Outbox) []uint64 {
	var s []uint64
	for _, p := range o.Pending(0) {
		s = append(s, p.seq)
	}
	return s
}

func TestOutboxSequenceSurvivesReopenAndCompaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox")
	o, err := OpenOutbox(path, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := appendN(t, o, 3); fmt.Sprint(got) != "[1 2 3]" {
		t.Fatalf("seqs %v", got)
	}
	if err := o.Ack(2); err != nil {
		t.Fatal(err)
	}
	o.Close()
	if o, err = OpenOutbox(path, 0, nil); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(pendingSeqs(o)); got != "[3]" || o.Next() != 4 {
		t.Fatalf("after reopen: pending %s next %d", got, o.Next())
	}
	if err := o.Ack(3); err != nil {
		t.Fatal(err)
	}
	// Enough events to pass compactAt, all acknowledged: the file shrinks
	// to its next record and the sequence goes on.
	o.compact = 4 << 10
	for written := int64(0); written < 2*o.compact; written += 50 * 100 {
		seqs := appendN(t, o, 50)
		if err := o.Ack(seqs[len(seqs)-1]); err != nil {
			t.Fatal(err)
		}
	}
	next := o.Next()
	if fi, _ := os.Stat(path); fi.Size() >= o.compact {
		t.Fatalf("outbox of %d bytes not compacted", fi.Size())
	}
	o.Close()
	if o, err = OpenOutbox(path, 0, nil); err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if o.Next() != next || o.Len() != 0 {
		t.Fatalf("after compaction: next %d (want %d), %d pending", o.Next(), next, o.Len())
	}
}

// TestOutboxTornTail cuts the file inside its last record at every
// offset, and flips each byte of it: the outbox opens with the records
// before it, and appends go on from there.
func TestOutboxTornTail(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "outbox")
	o, err := OpenOutbox(path, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, o, 2)
	before, _ := os.ReadFile(path)
	appendN(t, o, 1)
	o.Close()
	full, _ := os.ReadFile(path)
	check := func(name string, data []byte) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		o, err := OpenOutbox(p, 0, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defer o.Close()
		if got := fmt.Sprint(pendingSeqs(o)); got != "[1 2]" {
			t.Fatalf("%s: pending %s", name, got)
		}
		if seq := appendN(t, o, 1); seq[0] != 3 {
			t.Fatalf("%s: next append got seq %d", name, seq[0])
		}
	}
	for cut := len(before); cut < len(full); cut++ {
		check(fmt.Sprintf("cut%d", cut), full[:cut])
	}
	for i := len(before); i < len(full); i++ {
		b := append([]byte(nil), full...)
		b[i] ^= 0x40
		check(fmt.Sprintf("flip%d", i), b)
	}
}

func TestOutboxRefuses(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full")
	o, err := OpenOutbox(full, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, o, 1) // one event always fits
	ev := sampleEvent(0, 1)
	if _, err := o.Append(&ev); !errors.Is(err, ErrOutboxFull) {
		t.Fatalf("second append: %v, want ErrOutboxFull", err)
	}
	o.Ack(1)
	if _, err := o.Append(&ev); err != nil {
		t.Fatalf("append after the ack: %v", err)
	}
	// An event the broker would never take is refused at once, and its
	// sequence number is not used.
	o.maxEvent = 200
	big := sampleEvent(0)
	for i := range 100 {
		big.Hashes = append(big.Hashes, uint64(i)<<40)
	}
	next := o.Next()
	if _, err := o.Append(&big); !errors.Is(err, ErrEventTooLarge) || o.Next() != next {
		t.Fatalf("large event: %v, next %d (was %d)", err, o.Next(), next)
	}
	o.Close()

	// A file that is not an outbox (its first record is not a next
	// record, or its sequences jump) is refused, not truncated.
	gap := appendRecord(nil, kindNext, []byte{1})
	ev5 := sampleEvent(5, 1)
	b, _ := Encode(nil, &ev5)
	gap = appendRecord(gap, kindEvent, b)
	for name, data := range map[string][]byte{
		"gap":      gap,
		"no next":  appendRecord(nil, kindEvent, b),
		"unknown":  appendRecord(appendRecord(nil, kindNext, []byte{1}), 'Z', nil),
		"bad acks": appendRecord(appendRecord(nil, kindNext, []byte{1}), kindAcked, []byte{7}),
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, data, 0o600)
		if o, err := OpenOutbox(p, 0, nil); err == nil {
			o.Close()
			t.Errorf("%s: opened", name)
		}
	}
}

// TestOutboxSIGKILL runs appends in a child process and SIGKILLs it:
// every sequence the child saw Append return is in the reopened outbox,
// the sequences have no gap, and the next append continues them.
func TestOutboxSIGKILL(t *testing.T) {
	if path := os.Getenv("SLUICE_OUTBOX_CHILD"); path != "" {
		o, err := OpenOutbox(path, 0, nil)
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		for {
			ev := sampleEvent(0, 1, 2, 3)
			seq, err := o.Append(&ev)
			if err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
			fmt.Println(seq)
		}
	}
	path := filepath.Join(t.TempDir(), "outbox")
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestOutboxSIGKILL$")
		cmd.Env = append(os.Environ(), "SLUICE_OUTBOX_CHILD="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		var last uint64
		for i := 0; i < 20*(round+1) && sc.Scan(); i++ {
			v, err := strconv.ParseUint(sc.Text(), 10, 64)
			if err != nil {
				t.Fatalf("child: %s", sc.Text())
			}
			last = v
		}
		cmd.Process.Kill()
		cmd.Wait()
		o, err := OpenOutbox(path, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		seqs := pendingSeqs(o)
		if len(seqs) == 0 || seqs[0] != 1 || seqs[len(seqs)-1] < last || uint64(len(seqs)) != seqs[len(seqs)-1] || o.Next() != uint64(len(seqs))+1 {
			t.Fatalf("round %d: child saw %d, outbox has %d events (first %v), next %d", round, last, len(seqs), seqs[:min(1, len(seqs))], o.Next())
		}
		o.Close()
	}
}
