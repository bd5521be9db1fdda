package milter

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-milter"

	"github.com/sluicemail/sluice/feed"
	"github.com/sluicemail/sluice/lists"
	"github.com/sluicemail/sluice/scan"
)

// sendFrom runs one message with the envelope sender from and the header
// From hdrFrom through a new session.
func (h *harness) sendFrom(t *testing.T, from, hdrFrom string, m message) ([]milter.ModifyAction, *milter.Action) {
	t.Helper()
	s := h.session(t)
	defer s.Close()
	if act, err := s.Conn("client.example", milter.FamilyInet, 4321, "192.0.2.7"); err != nil || act.Code != milter.ActContinue {
		t.Fatalf("conn: %v %v", act, err)
	}
	if act, err := s.Mail("<"+from+">", nil); err != nil || act.Code != milter.ActContinue {
		t.Fatalf("mail: %v %v", act, err)
	}
	if act, err := s.Rcpt("<rcpt@example.org>", nil); err != nil || act.Code != milter.ActContinue {
		t.Fatalf("rcpt: %v %v", act, err)
	}
	m.header[0] = [2]string{"From", hdrFrom}
	mods, act, err := sendHeaderBody(s, m, "")
	if err != nil {
		t.Fatal(err)
	}
	return mods, act
}

func writeList(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path+".tmp", []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// TestLists: a message Bayes scores as spam from an allowed sender is
// accepted with the allow symbol in X-Spam-Status; a blocked sender's ham
// is rejected; both lists come from files whose changes on disk take
// effect without a restart; a forged header From of an allowed domain
// does not count.
func TestLists(t *testing.T) {
	dir := t.TempDir()
	allowFile, blockFile := filepath.Join(dir, "allow-senders"), filepath.Join(dir, "block-senders")
	writeList(t, allowFile, "# partners\nfriend@partner.example\n")
	l, err := lists.New(lists.Options{Lists: []lists.List{
		{Name: "allow_sender", Kind: lists.Sender, Symbol: "ALLOW_SENDER", Score: -100, File: allowFile},
		{Name: "block_sender", Kind: lists.Sender, Symbol: "BLOCK_SENDER", Score: 100, File: blockFile},
	}})
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, Options{Scanner: testScannerWith(t, scan.Options{Actions: defaultThresholds, Lists: l})})
	spam := func(i int) message { return newMessage(500+i, "offer", spamWords, 0) }
	ham := func(i int) message { return newMessage(500+i, "minutes", hamWords, 0) }
	status := func(mods []milter.ModifyAction) string { return headersOf(mods)["X-Spam-Status"] }

	// Bayes alone: the spam is marked, the ham is not.
	mods, act := h.sendFrom(t, "someone@else.example", "someone@else.example", spam(0))
	if act.Code != milter.ActAccept || headersOf(mods)["X-Spam-Flag"] != "YES" || strings.Contains(status(mods), "ALLOW") {
		t.Fatalf("unlisted spam: %v %q", act, status(mods))
	}

	// An allowed envelope sender: accepted unmarked, the symbol shown.
	mods, act = h.sendFrom(t, "friend@partner.example", "Friend <friend@partner.example>", spam(1))
	if act.Code != milter.ActAccept || headersOf(mods)["X-Spam-Flag"] != "" ||
		!strings.HasPrefix(status(mods), "No, ") || !strings.Contains(status(mods), "BAYES_SPAM") || !strings.Contains(status(mods), "ALLOW_SENDER") {
		t.Fatalf("allowed sender's spam: %v %q", act, status(mods))
	}

	// The same address forged in the header From only: no alignment, no
	// allow.
	mods, act = h.sendFrom(t, "x@attacker.example", "friend@partner.example", spam(2))
	if act.Code != milter.ActAccept || headersOf(mods)["X-Spam-Flag"] != "YES" || strings.Contains(status(mods), "ALLOW_SENDER") {
		t.Fatalf("forged From: %v %q", act, status(mods))
	}

	// Ham from a sender not yet blocked is delivered.
	mods, act = h.sendFrom(t, "pest@bad.example", "pest@bad.example", ham(3))
	if act.Code != milter.ActAccept || strings.Contains(status(mods), "BLOCK") {
		t.Fatalf("ham before the block: %v %q", act, status(mods))
	}

	// The block file appears and the allow file loses the friend, on
	// disk, with the server running: the next messages follow them.
	writeList(t, blockFile, "bad.example  # every host of it\n")
	writeList(t, allowFile, "# nobody\n")
	if !l.Reload() {
		t.Fatal("Reload did not see the new files")
	}
	_, act = h.sendFrom(t, "pest@mail.bad.example", "pest@mail.bad.example", ham(4))
	if act.Code != milter.ActReplyCode || act.SMTPCode != 550 {
		t.Fatalf("blocked sender's ham: %v, want a 550 reject", act)
	}
	mods, act = h.sendFrom(t, "friend@partner.example", "friend@partner.example", spam(5))
	if act.Code != milter.ActAccept || headersOf(mods)["X-Spam-Flag"] != "YES" || strings.Contains(status(mods), "ALLOW_SENDER") {
		t.Fatalf("spam after the friend left the allow file: %v %q", act, status(mods))
	}
}

// TestListedRecord: a verdict a list decided sends a record marked
// Listed, without tokens or inputs (shown in the console's history, never
// an autolearn or network sample from the admin's word); the next,
// unlisted, message's record is an ordinary one.
func TestListedRecord(t *testing.T) {
	rc, snd := feedSocket(t)
	l, err := lists.New(lists.Options{Lists: []lists.List{
		{Name: "allow", Kind: lists.Sender, Symbol: "ALLOW_SENDER", Score: -100, Entries: []string{"partner.example"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, Options{Feed: snd, Scanner: testScannerWith(t, scan.Options{Actions: defaultThresholds, Lists: l})})
	h.sendFrom(t, "friend@partner.example", "friend@partner.example", newMessage(600, "offer", spamWords, 0))
	h.sendFrom(t, "other@else.example", "other@else.example", newMessage(601, "offer", spamWords, 0))
	rc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i, want := range []bool{true, false} {
		r, err := rc.Read()
		if err != nil {
			t.Fatal(err)
		}
		allowed := slices.ContainsFunc(r.Symbols, func(s feed.Symbol) bool { return s.Name == "ALLOW_SENDER" })
		if r.Listed != want || allowed != want || (want && (len(r.Tokens) != 0 || r.Inputs != nil)) || (!want && len(r.Tokens) == 0) {
			t.Fatalf("record %d: listed %v, ALLOW_SENDER %v, %d tokens, inputs %v; want listed %v with no tokens when listed",
				i, r.Listed, allowed, len(r.Tokens), r.Inputs != nil, want)
		}
	}
	if c := h.srv.Counters(); c.RecordsSent != 2 {
		t.Fatalf("records sent %d, want 2", c.RecordsSent)
	}
}
