package learner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicemail/sluice/mmapstore"
)

// doorSetup is the state of the world a Door finds.
type doorSetup struct {
	daemonSocket bool // a daemon serves its socket (and holds the statfile)
	inProcess    bool // the daemon is in this process (DoorOptions.Daemon)
	locked       bool // no daemon answers, but someone holds the statfile
	noStatfile   bool // the Door may not write directly
	spool        bool // the Door may spool
	brokenSpool  bool // the spool directory cannot be made
}

// newDoorFor builds the world of s and a Door in it; statfile is the
// statfile the Door learns into directly.
func newDoorFor(t *testing.T, s doorSetup) (door *Door, statfile string, spool *Spool) {
	t.Helper()
	dir := t.TempDir()
	opts := DoorOptions{
		Socket:     filepath.Join(dir, "missing.sock"),
		Statfile:   filepath.Join(dir, "bayes.statfile"),
		Writer:     &mmapstore.Options{Params: storeParams(), InitialSlots: 1 << 12, NoSync: true},
		MaxMessage: 1 << 20,
	}
	switch {
	case s.daemonSocket || s.inProcess:
		d := startDaemon(t, Options{MaxMessage: 1 << 20}, false)
		opts.Statfile = d.path
		if s.inProcess {
			opts.Daemon = d.Daemon
		} else {
			opts.Socket = serve(t, d.Daemon)
		}
	case s.locked:
		w, err := mmapstore.OpenWriter(opts.Statfile, opts.Writer)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Close() })
	}
	statfile = opts.Statfile
	if s.noStatfile {
		opts.Statfile = ""
	}
	if s.spool || s.brokenSpool {
		spoolDir := filepath.Join(dir, "spool")
		if s.brokenSpool {
			os.WriteFile(spoolDir, nil, 0o644) // a file where the directory should be
		}
		spool = NewSpool(spoolDir, 10, opts.MaxMessage)
		opts.Spool = spool
	}
	return NewDoor(opts), statfile, spool
}

func TestDoorWays(t *testing.T) {
	tests := []struct {
		name    string
		setup   doorSetup
		msg     []byte
		label   Label
		wantVia Via
		wantOut Outcome
		wantErr error
	}{
		{"learner socket", doorSetup{daemonSocket: true, spool: true}, spam(1), Spam, ViaLearner, Learned, nil},
		{"learner in process", doorSetup{inProcess: true}, ham(1), Ham, ViaLearner, Learned, nil},
		{"learner says not a message", doorSetup{daemonSocket: true, spool: true}, []byte("garbage"), Spam, ViaLearner, 0, ErrNotMessage},
		{"learner forgets", doorSetup{daemonSocket: true}, spam(1), Forget, ViaLearner, NotLearned, nil},
		{"direct when no learner", doorSetup{spool: true}, spam(1), Spam, ViaDirect, Learned, nil},
		{"direct forget", doorSetup{}, spam(1), Forget, ViaDirect, NotLearned, nil},
		{"direct says not a message", doorSetup{spool: true}, []byte("garbage"), Ham, ViaDirect, 0, ErrNotMessage},
		{"spool when the statfile is busy", doorSetup{locked: true, spool: true}, spam(1), Spam, ViaSpool, 0, nil},
		{"spool without a direct way", doorSetup{noStatfile: true, spool: true}, ham(1), Ham, ViaSpool, 0, nil},
		{"not a message is not spooled", doorSetup{locked: true, spool: true}, []byte("garbage"), Spam, ViaDirect, 0, ErrNotMessage},
		{"busy and no spool", doorSetup{locked: true}, spam(1), Spam, 0, 0, ErrUnavailable},
		{"busy and a broken spool", doorSetup{locked: true, brokenSpool: true}, spam(1), Spam, 0, 0, ErrUnavailable},
		{"no way at all", doorSetup{noStatfile: true}, spam(1), Spam, 0, 0, ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			door, _, spool := newDoorFor(t, tt.setup)
			res, err := door.Learn(context.Background(), &Request{Label: tt.label, Source: "test", Message: tt.msg})
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if res.Via != tt.wantVia || res.Outcome != tt.wantOut {
				t.Fatalf("via %v outcome %v, want %v %v", res.Via, res.Outcome, tt.wantVia, tt.wantOut)
			}
			if tt.wantVia == ViaLearner && res.Detours != nil || tt.wantVia > ViaLearner && res.Detours == nil && !tt.setup.noStatfile && tt.wantErr == nil {
				t.Fatalf("detours %v", res.Detours)
			}
			if spool != nil && !tt.setup.brokenSpool {
				n, err := spool.Len()
				if err != nil && !errors.Is(err, os.ErrNotExist) {
					t.Fatal(err)
				}
				if want := map[bool]int{true: 1}[tt.wantVia == ViaSpool]; n != want {
					t.Fatalf("%d requests spooled, want %d", n, want)
				}
			}
		})
	}
}

// A second learn of the same message through the Door is "already
// learned", whichever way each went.
func TestDoorDirectThenLearner(t *testing.T) {
	door, statfile, _ := newDoorFor(t, doorSetup{})
	req := &Request{Label: Spam, Source: "test", Message: spam(7)}
	for i, want := range []Outcome{Learned, AlreadyLearned} {
		res, err := door.Learn(context.Background(), req)
		if err != nil || res.Via != ViaDirect || res.Outcome != want {
			t.Fatalf("learn %d: %+v %v, want direct %v", i, res, err, want)
		}
	}
	r, err := mmapstore.OpenReader(statfile, storeParams())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if tot, err := r.Lookup(mmapstore.Shared, nil, nil); err != nil || tot != (mmapstore.Totals{Spam: 1}) {
		t.Fatalf("totals %+v %v", tot, err)
	}
}

// The Door cuts a message to MaxMessage instead of refusing it; a request
// over the protocol's other limits is refused before any way is tried.
func TestDoorLimits(t *testing.T) {
	door, _, spool := newDoorFor(t, doorSetup{locked: true, spool: true})
	door.opts.MaxMessage = 200
	if _, err := door.Learn(context.Background(), &Request{Label: Spam, User: string(make([]byte, MaxUser+1)), Message: spam(1)}); !errors.Is(err, ErrProtocol) {
		t.Fatalf("long user: %v", err)
	}
	if _, err := door.Learn(context.Background(), &Request{Label: 9, Message: spam(1)}); !errors.Is(err, ErrProtocol) {
		t.Fatalf("bad label: %v", err)
	}
	long := append(spam(1), make([]byte, 1000)...)
	res, err := door.Learn(context.Background(), &Request{Label: Spam, Message: long})
	if err != nil || res.Via != ViaSpool {
		t.Fatalf("long message: %+v %v", res, err)
	}
	var got []*Request
	if _, _, err := spool.Drain(context.Background(), func(r *Request) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].Message) != 200 {
		t.Fatalf("spooled %d requests, message of %d bytes", len(got), len(got[0].Message))
	}
}

func TestDoorLearnAll(t *testing.T) {
	tests := []struct {
		name    string
		setup   doorSetup
		wantVia Via
		wantErr error
	}{
		{"through the learner", doorSetup{daemonSocket: true}, ViaLearner, nil},
		{"directly", doorSetup{}, ViaDirect, nil},
		{"busy", doorSetup{locked: true}, ViaDirect, ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			door, _, _ := newDoorFor(t, tt.setup)
			msgs := [][]byte{spam(1), spam(2), []byte("garbage"), spam(1)}
			walk := func(yield func(string, []byte) error) error {
				for i, m := range msgs {
					if err := yield(fmt.Sprint(i), m); err != nil {
						return err
					}
				}
				return nil
			}
			got := map[Outcome]int{}
			notMessages := 0
			via, err := door.LearnAll(context.Background(), Spam, "", "test", walk, func(name string, out Outcome, err error) {
				if errors.Is(err, ErrNotMessage) {
					notMessages++
					return
				}
				got[out]++
			})
			if via != tt.wantVia || tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("via %v, error %v; want %v, %v", via, err, tt.wantVia, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			if got[Learned] != 2 || got[AlreadyLearned] != 1 || notMessages != 1 {
				t.Fatalf("outcomes %v, %d not messages", got, notMessages)
			}
		})
	}
}
