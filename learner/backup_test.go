package learner

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/internal/corpus"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/statdump"
	"github.com/sluicemail/sluice/tokenizer"
)

// corpusSample returns n train messages spread over the corpus's folders,
// tokenized.
func corpusSample(t *testing.T, n int) ([]corpus.Message, []*tokenizer.Result) {
	t.Helper()
	all, err := corpus.Load(corpus.Require(t))
	if err != nil {
		t.Fatal(err)
	}
	// One message per content digest: the corpus holds a few messages
	// twice (once under each label, even), and a duplicate learned while
	// the dump runs would relearn an earlier message, which the checks
	// below would take for a snapshot that lost a learn.
	var msgs []corpus.Message
	var res []*tokenizer.Result
	seen := make(map[[32]byte]bool)
	tok := tokenizer.New(tokenizer.Options{})
	step := max(1, len(all)/n)
	for i := 0; i < len(all) && len(msgs) < n; i += step {
		r, err := tok.Tokenize(bytes.NewReader(all[i].Bytes))
		if err != nil {
			t.Fatalf("%s: %v", all[i].Name, err)
		}
		if seen[r.Digest] {
			continue
		}
		seen[r.Digest] = true
		msgs, res = append(msgs, all[i]), append(res, r)
	}
	return msgs, res
}

func labelOf(m corpus.Message) Label {
	if m.Spam {
		return Spam
	}
	return Ham
}

// TestDumpWhileLearning dumps through the daemon while a goroutine keeps
// learning, restores the dump into a new statfile, and checks that the
// snapshot holds whole learns only: the restored statistics equal those of
// a fresh statfile taught the base messages plus exactly the concurrent
// messages whose learn cache entry the snapshot has, token for token.
func TestDumpWhileLearning(t *testing.T) {
	msgs, toks := corpusSample(t, 400)
	base, more := 200, msgs[200:]
	td := startDaemon(t, Options{}, false)
	sock := serve(t, td.Daemon)
	ctx := context.Background()
	for _, m := range msgs[:base] {
		mustLearn(t, td.Daemon, labelOf(m), m.Bytes, "", Learned)
	}
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for i, m := range more {
			if _, err := td.Learn(ctx, &Request{Label: labelOf(m), Source: "test", Message: m.Bytes}); err != nil {
				done <- err
				return
			}
			if i == 10 {
				close(started)
			}
		}
		done <- nil
	}()
	<-started
	var dump bytes.Buffer
	sum, err := Dump(ctx, BackupOptions{Socket: sock, Statfile: td.path}, &dump, DumpBinary)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	t.Logf("dump: %d tokens, %d namespaces, %d bytes", sum.Tokens, sum.Namespaces, dump.Len())

	dst := filepath.Join(t.TempDir(), "bayes.statfile")
	wo := &mmapstore.Options{Params: storeParams(), NoSync: true}
	if _, err := Load(ctx, BackupOptions{Statfile: dst, Writer: wo}, bytes.NewReader(dump.Bytes())); err != nil {
		t.Fatal(err)
	}
	if err := mmapstore.Check(dst); err != nil {
		t.Fatal(err)
	}
	if err := learn.CheckTotals(dst); err != nil {
		t.Fatal(err)
	}

	restored, err := mmapstore.OpenWriter(dst, wo)
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	ref, err := mmapstore.OpenWriter(filepath.Join(t.TempDir(), "ref.statfile"), wo)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	rl, fl := learn.New(restored, learn.Options{}), learn.New(ref, learn.Options{})
	inSnapshot := 0
	for i, m := range msgs {
		c, err := rl.Class(toks[i])
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case c == labelOf(m):
			if i >= base {
				inSnapshot++
			}
			if _, err := fl.LearnTokens(toks[i], labelOf(m), ""); err != nil {
				t.Fatal(err)
			}
		case i < base:
			t.Fatalf("%s, learned before the dump, is not in it (class %v)", m.Name, c)
		case c != 0:
			t.Fatalf("%s is in the dump as %v, learned as %v", m.Name, c, labelOf(m))
		}
	}
	t.Logf("%d of the %d messages learned during the dump are in it", inSnapshot, len(more))
	hashes := make([]uint64, 0, 4096)
	for _, r := range toks {
		for _, tk := range r.Tokens {
			hashes = append(hashes, tk.Hash)
		}
	}
	got, want := make([]mmapstore.Counts, len(hashes)), make([]mmapstore.Counts, len(hashes))
	gt, err := restored.Lookup(mmapstore.Shared, hashes, got)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := ref.Lookup(mmapstore.Shared, hashes, want)
	if err != nil {
		t.Fatal(err)
	}
	if gt != wt {
		t.Fatalf("restored totals %+v, reference %+v", gt, wt)
	}
	for i := range hashes {
		if got[i] != want[i] {
			t.Fatalf("token %#x: restored %+v, reference %+v", hashes[i], got[i], want[i])
		}
	}
}

// TestLoadThroughDaemon restores a dump over the live statfile through
// the daemon, which learns on into the restored file, and refuses cut,
// altered and foreign dumps without changing anything.
func TestLoadThroughDaemon(t *testing.T) {
	td := startDaemon(t, Options{}, false)
	sock := serve(t, td.Daemon)
	ctx := context.Background()
	for i := range 20 {
		mustLearn(t, td.Daemon, Spam, spam(i), "", Learned)
		mustLearn(t, td.Daemon, Ham, ham(i), "", Learned)
	}
	o := BackupOptions{Socket: sock, Statfile: td.path, Writer: &mmapstore.Options{Params: storeParams(), NoSync: true}}
	var dump bytes.Buffer
	if _, err := Dump(ctx, o, &dump, DumpBinary); err != nil {
		t.Fatal(err)
	}
	saved := td.totals(t, mmapstore.Shared)
	for i := 20; i < 30; i++ {
		mustLearn(t, td.Daemon, Spam, spam(i), "", Learned)
	}

	b := dump.Bytes()
	altered := bytes.Clone(b)
	altered[len(altered)/2] ^= 0x10
	wrongParams := BackupOptions{Statfile: o.Statfile, Socket: sock,
		Writer: &mmapstore.Options{Params: mmapstore.Params{Hash: "xxh64", Window: 5}}}
	for _, tc := range []struct {
		name string
		o    BackupOptions
		in   []byte
		want string
	}{
		{"truncated", o, b[:len(b)-7], "truncated"},
		{"altered", o, altered, "corrupt"},
		{"appended", o, append(bytes.Clone(b), 0), "after the checksum"},
		{"not a dump", o, []byte("From: a@b\r\n\r\nhello\r\n"), "not a sluice dump"},
		{"other tokenizer", wrongParams, b, "relearn from the mail folders"},
	} {
		_, err := Load(ctx, tc.o, bytes.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
		if got := td.totals(t, mmapstore.Shared); got != (mmapstore.Totals{Spam: 30, Ham: 20}) {
			t.Fatalf("%s: a refused load changed the totals to %+v", tc.name, got)
		}
	}
	if ents, _ := os.ReadDir(filepath.Dir(td.path)); len(ents) != 3 { // statfile, .journal, .lock
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("refused loads left files behind: %v", names)
	}

	if _, err := Load(ctx, o, bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	if got := td.totals(t, mmapstore.Shared); got != saved {
		t.Fatalf("after load: totals %+v, want %+v", got, saved)
	}
	// The restored file forgot spam 20..29 and its learn cache says so.
	mustLearn(t, td.Daemon, Spam, spam(25), "", Learned)
	mustLearn(t, td.Daemon, Spam, spam(5), "", AlreadyLearned)
	var again bytes.Buffer
	if _, err := Dump(ctx, o, &again, DumpBinary); err != nil {
		t.Fatal(err)
	}
	if _, err := statdump.Read(bytes.NewReader(again.Bytes()), discard{}, nil); err != nil {
		t.Fatal(err)
	}
}

// TestDumpWithoutDaemon dumps a statfile no learner has open (the socket
// does not answer): the dump takes the writer lock itself.
func TestDumpWithoutDaemon(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bayes.statfile")
	wo := &mmapstore.Options{Params: storeParams(), NoSync: true}
	w, err := mmapstore.OpenWriter(path, wo)
	if err != nil {
		t.Fatal(err)
	}
	l := learn.New(w, learn.Options{})
	for i := range 5 {
		if _, err := l.Learn(bytes.NewReader(spam(i)), Spam, ""); err != nil {
			t.Fatal(err)
		}
	}
	o := BackupOptions{Socket: filepath.Join(t.TempDir(), "none.sock"), Statfile: path, Writer: wo}
	if _, err := Dump(context.Background(), o, &bytes.Buffer{}, DumpBinary); !errors.Is(err, mmapstore.ErrLocked) {
		t.Fatalf("dump beside a writer that is not a learner: %v, want ErrLocked", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if _, err := Dump(context.Background(), o, &text, DumpText); err != nil {
		t.Fatal(err)
	}
	info, err := mmapstore.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(text.String(), "\n")
	// 3 comment/shared lines, the learn cache's namespace, one per token.
	if want := 3 + 1 + int(info.Used) + 1; lines != want {
		t.Fatalf("text dump has %d lines, want %d", lines, want)
	}
}

type discard struct{}

func (discard) Header(mmapstore.Meta) error               { return nil }
func (discard) Namespace(mmapstore.NamespaceInfo) error   { return nil }
func (discard) Slot(key uint64, c mmapstore.Counts) error { return nil }

// TestAdminRefuses: unknown ops, long paths and paths outside the
// statfile's directory are refused, and the statfile stays.
func TestAdminRefuses(t *testing.T) {
	td := startDaemon(t, Options{}, false)
	sock := serve(t, td.Daemon)
	ctx := context.Background()
	outside := filepath.Join(t.TempDir(), "x.statfile")
	if err := os.WriteFile(outside, []byte("not a statfile"), 0o644); err != nil {
		t.Fatal(err)
	}
	inside := filepath.Join(filepath.Dir(td.path), "junk")
	if err := os.WriteFile(inside, []byte("not a statfile"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		op   AdminOp
		path string
		want error
	}{
		{9, "", ErrProtocol},
		{AdminInstall, strings.Repeat("a", maxAdminPath+1), ErrProtocol},
		{AdminInstall, "relative/path", ErrProtocol},
		{AdminInstall, outside, ErrProtocol},
		{AdminInstall, inside, ErrTempFail},
	} {
		if f, err := AdminCall(ctx, sock, tc.op, tc.path); !errors.Is(err, tc.want) {
			t.Errorf("op %d %.40q: %v, want %v", tc.op, tc.path, err, tc.want)
			if f != nil {
				f.Close()
			}
		}
	}
	if err := mmapstore.Check(td.path); err != nil {
		t.Fatal(err)
	}
	mustLearn(t, td.Daemon, Spam, spam(1), "", Learned)
}
