package milter

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-milter"

	"github.com/sluicemail/sluice/feed"
	"github.com/sluicemail/sluice/greylist"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/scan"
	"github.com/sluicemail/sluice/spamheader"
)

func TestSpamAndHamHeaders(t *testing.T) {
	h := start(t, Options{})
	mods, act := h.sendOne(t, envelope{}, newMessage(1, "offer", spamWords, 0))
	if act.Code != milter.ActAccept {
		t.Fatalf("spam: action %+v", act)
	}
	hd := headersOf(mods)
	if hd["X-Spam-Flag"] != "YES" || !strings.HasPrefix(hd["X-Spam-Status"], "Yes, score=") ||
		!strings.Contains(hd["X-Spam-Status"], "required=0.5 tests=BAYES_SPAM") || !strings.HasPrefix(hd["X-Spam-Bar"], "++++++") ||
		!strings.HasPrefix(hd["X-Spam-Level"], "******") || hd["X-Spam-Score"] == "" {
		t.Fatalf("spam headers: %q", hd)
	}
	mods, act = h.sendOne(t, envelope{}, newMessage(2, "minutes", hamWords, 0))
	hd = headersOf(mods)
	if act.Code != milter.ActAccept || hd["X-Spam-Flag"] != "" || !strings.HasPrefix(hd["X-Spam-Status"], "No, score=-") || !strings.HasPrefix(hd["X-Spam-Bar"], "-") {
		t.Fatalf("ham: %+v %q", act, hd)
	}
	c := h.srv.Counters()
	if c.Scanned != 2 || c.Actions["add header"] != 1 || c.Actions["no action"] != 1 {
		t.Fatalf("counters %+v", c)
	}
}

func TestRejectReply(t *testing.T) {
	h := start(t, Options{Scanner: testScanner(t, scan.Thresholds{AddHeader: 6, Reject: 7}), RejectReply: "550 5.7.1 Spam, 100% sure"})
	mods, act := h.sendOne(t, envelope{}, newMessage(3, "offer", spamWords, 0))
	if act.Code != milter.ActReplyCode || act.SMTPCode != 550 || act.SMTPText != "5.7.1 Spam, 100%% sure" || len(mods) != 0 {
		t.Fatalf("got %+v %+v", act, mods)
	}
}

func TestQuarantineInsteadOfReject(t *testing.T) {
	h := start(t, Options{Scanner: testScanner(t, scan.Thresholds{AddHeader: 6, Reject: 7}), Quarantine: true})
	mods, act := h.sendOne(t, envelope{}, newMessage(4, "offer", spamWords, 0))
	var quarantined bool
	for _, m := range mods {
		quarantined = quarantined || m.Code == milter.ActQuarantine
	}
	if act.Code != milter.ActAccept || !quarantined || headersOf(mods)["X-Spam-Flag"] != "YES" {
		t.Fatalf("got %+v %+v", act, mods)
	}
	if c := h.srv.Counters(); c.Quarantined != 1 || c.Actions["reject"] != 1 {
		t.Fatalf("counters %+v", c)
	}
}

func TestGreylistAndRewriteSubject(t *testing.T) {
	h := start(t, Options{Scanner: testScanner(t, scan.Thresholds{AddHeader: 6, Greylist: 7})})
	_, act := h.sendOne(t, envelope{}, newMessage(5, "offer", spamWords, 0))
	if act.Code != milter.ActReplyCode || act.SMTPCode != 451 {
		t.Fatalf("greylist: %+v", act)
	}
	h = start(t, Options{Scanner: testScanner(t, scan.Thresholds{AddHeader: 6, RewriteSubject: 7})})
	mods, act := h.sendOne(t, envelope{}, newMessage(6, "offer", spamWords, 0))
	var subject string
	for _, m := range mods {
		if m.Code == milter.ActChangeHeader && m.HeaderName == "Subject" && m.HeaderIndex == 1 {
			subject = m.HeaderValue
		}
	}
	if act.Code != milter.ActAccept || subject != "***SPAM*** offer 6" {
		t.Fatalf("rewrite: %+v subject %q mods %+v", act, subject, mods)
	}
}

// TestGreylistRemembersTriplets: with a triplet store, the first attempt
// is deferred, a retry before the delay too, the retry after it passes
// with the action its score has without greylisting; another recipient
// is another triplet.
func TestGreylistRemembersTriplets(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	store, err := greylist.Open(greylist.Options{Delay: 5 * time.Minute, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, Options{Scanner: testScanner(t, scan.Thresholds{AddHeader: 6, Greylist: 7}), Greylist: store})
	steps := []struct {
		after time.Duration
		rcpt  string
		want  string // "defer" or "pass"
	}{
		{0, "bob@example.org", "defer"},
		{time.Minute, "bob@example.org", "defer"},
		{5 * time.Minute, "bob@example.org", "pass"},
		{time.Hour, "bob@example.org", "pass"},
		{0, "carol@example.org", "defer"},
	}
	for i, st := range steps {
		now = now.Add(st.after)
		mods, act := h.sendOne(t, envelope{rcpt: st.rcpt}, newMessage(50+i, "offer", spamWords, 0))
		switch st.want {
		case "defer":
			if act.Code != milter.ActReplyCode || act.SMTPCode != 451 {
				t.Fatalf("step %d: want 451, got %+v", i, act)
			}
		case "pass":
			if act.Code != milter.ActAccept || headersOf(mods)["X-Spam-Flag"] != "YES" {
				t.Fatalf("step %d: want accepted with X-Spam-Flag, got %+v %q", i, act, headersOf(mods))
			}
		}
	}
	if c := h.srv.Counters(); c.Actions["greylist"] != 3 || c.Actions["add header"] != 2 {
		t.Fatalf("counters %+v", c)
	}
}

func TestSkips(t *testing.T) {
	h := start(t, Options{SkipAuth: true, TrustedNetworks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	_, act := h.sendOne(t, envelope{auth: "alice"}, newMessage(7, "offer", spamWords, 0))
	if act.Code != milter.ActAccept {
		t.Fatalf("authenticated: %+v", act)
	}
	// A trusted client sends two messages in one session: the second is
	// served by a new backend and must still know the client.
	s := h.session(t)
	defer s.Close()
	if _, err := s.Conn("relay", milter.FamilyInet, 25, "10.1.2.3"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		_, act, err := send(s, envelope{}, newMessage(8, "offer", spamWords, 0))
		if err != nil || act.Code != milter.ActAccept {
			t.Fatalf("trusted message %d: %+v %v", i, act, err)
		}
	}
	c := h.srv.Counters()
	if c.Skipped["authenticated"] != 1 || c.Skipped["trusted"] != 2 || c.Scanned != 0 {
		t.Fatalf("counters %+v", c)
	}
}

func TestOversizePassesUnscanned(t *testing.T) {
	h := start(t, Options{MaxSize: 4 << 10})
	m := newMessage(9, "offer", spamWords, 200<<10) // several body chunks
	m.header = append(m.header, [2]string{"X-Spam-Flag", "NO"})
	mods, act := h.sendOne(t, envelope{}, m)
	if act.Code != milter.ActAccept {
		t.Fatalf("action %+v", act)
	}
	want := []milter.ModifyAction{
		{Code: milter.ActChangeHeader, HeaderIndex: 1, HeaderName: "X-Spam-Flag"},
		{Code: milter.ActAddHeader, HeaderName: "X-Spam-Status", HeaderValue: "No, skipped: message over 4KiB scan limit"},
	}
	if !reflect.DeepEqual(mods, want) {
		t.Fatalf("mods %+v", mods)
	}
	if c := h.srv.Counters(); c.Skipped["oversize"] != 1 || c.Scanned != 0 {
		t.Fatalf("counters %+v", c)
	}
}

func TestSpoofedHeadersRemoved(t *testing.T) {
	incoming := [][2]string{{"X-Spam-Status", "No, score=-10"}, {"x-spam-status", "No"},
		{"X-Spam-Flag", "NO"}, {"X-Spam-Report", "forged"}, {"x-spam-level", "*"}, {"X-Spam", "Yes"}, {"X-Spamd-Result", "default: False"}}
	for _, tc := range []struct {
		name string
		o    spamheader.Options
		want string
	}{
		// Fields of names Sluice does not write are another filter's: kept.
		{"SpamAssassin's", spamheader.Options{}, "X-Spam-Flag#1 X-Spam-Status#2 X-Spam-Status#1 X-Spam-Level#1"},
		{"all", spamheader.Options{Report: true, SpamdResult: true, Spam: true},
			"X-Spam-Flag#1 X-Spam-Status#2 X-Spam-Status#1 X-Spam-Level#1 X-Spam-Report#1 X-Spamd-Result#1 X-Spam#1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, Options{Headers: tc.o})
			m := newMessage(10, "offer", spamWords, 0)
			m.header = append(m.header, incoming...)
			mods, _ := h.sendOne(t, envelope{}, m)
			var removed []string
			for _, m := range mods {
				if m.Code == milter.ActChangeHeader && m.HeaderValue == "" {
					removed = append(removed, m.HeaderName+"#"+string(rune('0'+m.HeaderIndex)))
				}
			}
			if strings.Join(removed, " ") != tc.want {
				t.Fatalf("removed %v", removed)
			}
			if headersOf(mods)["X-Spam-Flag"] != "YES" {
				t.Fatalf("mods %+v", mods)
			}
		})
	}
}

// TestFieldsAreSpamheaders checks that the fields the milter adds are,
// byte for byte and in order, spamheader's rendering of the verdict the
// scanner gives the same message (the spamd listener has the same test).
func TestFieldsAreSpamheaders(t *testing.T) {
	for _, o := range []spamheader.Options{{}, {Report: true, SpamdResult: true, Spam: true}} {
		fieldsAreSpamheaders(t, o)
	}
}

func fieldsAreSpamheaders(t *testing.T, o spamheader.Options) {
	sc := testScanner(t, defaultThresholds)
	h := start(t, Options{Scanner: sc, Headers: o})
	for i, m := range []message{newMessage(31, "offer", spamWords, 0), newMessage(32, "minutes", hamWords, 0)} {
		mods, act := h.sendOne(t, envelope{}, m)
		if act.Code != milter.ActAccept {
			t.Fatalf("message %d: action %+v", i, act)
		}
		var got []byte
		for _, m := range mods {
			if m.Code == milter.ActAddHeader {
				// Folded as libmilter wants it: "\n" and white space.
				got = append(got, m.HeaderName+": "+strings.ReplaceAll(m.HeaderValue, "\n", "\r\n")+"\r\n"...)
			}
		}
		v, err := sc.Scan(context.Background(), strings.NewReader(m.String()), scan.Request{})
		if err != nil {
			t.Fatal(err)
		}
		if want := o.Append(nil, v, "\r\n"); string(got) != string(want) {
			t.Errorf("%+v, message %d: the milter added\n%s\nspamheader renders\n%s", o, i, got, want)
		}
	}
}

func TestFailOpen(t *testing.T) {
	for _, tc := range []struct {
		name string
		sc   Scanner
		def  DefaultAction
		want milter.ActionCode
	}{
		{"error", fakeScanner{err: errors.New("disk on fire")}, DefaultAccept, milter.ActAccept},
		{"panic", fakeScanner{panic: true}, DefaultAccept, milter.ActAccept},
		{"tempfail", fakeScanner{err: errors.New("disk on fire")}, DefaultTempFail, milter.ActTempFail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, Options{Scanner: tc.sc, DefaultAction: tc.def})
			s := h.session(t)
			defer s.Close()
			if _, err := s.Conn("c", milter.FamilyInet, 1, "192.0.2.1"); err != nil {
				t.Fatal(err)
			}
			// Two messages on one connection: our failure never drops it.
			for i := 0; i < 2; i++ {
				mods, act, err := send(s, envelope{}, newMessage(i, "offer", spamWords, 0))
				if err != nil || act.Code != tc.want || len(mods) != 0 {
					t.Fatalf("message %d: %+v %+v %v", i, act, mods, err)
				}
			}
			if c := h.srv.Counters(); c.Errors != 2 {
				t.Fatalf("counters %+v", c)
			}
		})
	}
}

// feedSocket returns a scan record receiver on a socket in a temporary
// directory and a sender to it, both closed when the test ends.
func feedSocket(t *testing.T) (*feed.Receiver, *feed.Sender) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "feed.sock")
	rc, err := feed.Listen(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	snd, err := feed.NewSender(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { snd.Close() })
	return rc, snd
}

func TestScanRecords(t *testing.T) {
	rc, snd := feedSocket(t)
	h := start(t, Options{Feed: snd, UserHeader: "Deliver-To"})
	h.sendOne(t, envelope{client: netip.MustParseAddr("127.0.0.1"), rcpt: "bob@example.org", qid: "4XyZ"}, newMessage(11, "offer", spamWords, 0))
	m := newMessage(12, "minutes", hamWords, 0)
	m.header = append(m.header, [2]string{"Deliver-To", "carol@example.org"})
	h.sendOne(t, envelope{rcpt: "bob@example.org"}, m)
	rc.SetReadDeadline(time.Now().Add(5 * time.Second))
	r1, err := rc.Read()
	if err != nil {
		t.Fatal(err)
	}
	r2, err := rc.Read()
	if err != nil {
		t.Fatal(err)
	}
	if r1.QueueID != "4XyZ" || r1.User != "bob@example.org" || r1.Action != "add header" || !r1.Local ||
		r1.Digest == (feed.Digest{}) || len(r1.Symbols) != 1 || r1.BayesProb < 0.9 || r1.Score < 6 ||
		r1.Frontend != "milter" || r1.Client != "127.0.0.1" || r1.Sender != "sender@example.org" {
		t.Fatalf("record 1 %+v", r1)
	}
	if r2.User != "carol@example.org" || r2.Local || r2.Action != "no action" || r2.Client != "192.0.2.7" || r2.Frontend != "milter" {
		t.Fatalf("record 2 %+v", r2)
	}
	// The network's input vector even without a network: the scanner's
	// values and input set, the names with the first record of the set
	// only (feed.Sender).
	sc := h.srv.opts.Scanner.(*scan.Scanner)
	names := sc.InputNames()
	bayes := slices.Index(names, scan.InputBayesProb)
	for i, r := range []*feed.Record{r1, r2} {
		in := r.Inputs
		if in == nil || len(in.Values) != len(names) || [32]byte(in.Set) != sc.InputSet() ||
			float64(in.Values[bayes]) != float64(float32(r.BayesProb)) {
			t.Fatalf("record %d inputs %+v (%d names), bayes %v", i+1, in, len(names), r.BayesProb)
		}
		if withNames := in.Names != nil; withNames != (i == 0) || (withNames && !slices.Equal(in.Names, names)) {
			t.Fatalf("record %d names %v", i+1, in.Names)
		}
	}
	if c := h.srv.Counters(); c.RecordsSent != 2 || c.RecordsDropped != 0 {
		t.Fatalf("counters %+v", c)
	}
}

func TestConcurrentConnections(t *testing.T) {
	h := start(t, Options{})
	const conns, msgs = 40, 5
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			s := h.session(t)
			defer s.Close()
			if _, err := s.Conn("c", milter.FamilyInet, 1, "192.0.2.9"); err != nil {
				errs <- err
				return
			}
			for i := 0; i < msgs; i++ {
				spam := (c+i)%2 == 0
				pool := hamWords
				if spam {
					pool = spamWords
				}
				mods, act, err := send(s, envelope{}, newMessage(c*100+i, "m", pool, 2000))
				if err != nil || act.Code != milter.ActAccept || (headersOf(mods)["X-Spam-Flag"] == "YES") != spam {
					errs <- errors.New("wrong verdict")
					return
				}
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if c := h.srv.Counters(); c.Scanned != conns*msgs {
		t.Fatalf("counters %+v", c)
	}
}

func TestStatfileAppearsLater(t *testing.T) {
	path := filepath.Join(t.TempDir(), "later.statfile")
	st := mmapstore.Follow(path, storeParams(), mmapstore.FollowOptions{})
	defer st.Close()
	sc := scan.New(st, scan.Options{Bayes: defaultBayes(), Actions: defaultThresholds})
	h := start(t, Options{Scanner: sc})
	mods, _ := h.sendOne(t, envelope{}, newMessage(13, "offer", spamWords, 0))
	if hd := headersOf(mods); !strings.HasPrefix(hd["X-Spam-Status"], "No, score=0.0") {
		t.Fatalf("before the statfile: %q", hd)
	}
	if err := learnStatfile(path, 15); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mods, _ := h.sendOne(t, envelope{}, newMessage(13, "offer", spamWords, 0))
		if headersOf(mods)["X-Spam-Flag"] == "YES" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the statfile was not picked up")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestShutdownLetsMessageFinish(t *testing.T) {
	h := start(t, Options{})
	busy := h.session(t)
	defer busy.Close()
	idle := h.session(t)
	defer idle.Close()
	if _, err := busy.Conn("c", milter.FamilyInet, 1, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if _, err := idle.Conn("c", milter.FamilyInet, 1, "192.0.2.2"); err != nil {
		t.Fatal(err)
	}
	if act, err := busy.Mail("<a@example.org>", nil); err != nil || act.Code != milter.ActContinue {
		t.Fatal(act, err)
	}
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shut <- h.srv.Shutdown(ctx)
	}()
	for !h.srv.srv.Closing() {
		time.Sleep(time.Millisecond)
	}
	// The idle connection is closed at once; the busy one is not.
	if _, err := idle.Mail("<b@example.org>", nil); err == nil {
		// The command may have been written before the close; the reply cannot come.
		t.Fatal("idle connection still served after Shutdown")
	}
	time.Sleep(100 * time.Millisecond)
	m := newMessage(14, "offer", spamWords, 0)
	if _, err := busy.Rcpt("<r@example.org>", nil); err != nil {
		t.Fatal(err)
	}
	for _, f := range m.header {
		if _, err := busy.HeaderField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := busy.HeaderEnd(); err != nil {
		t.Fatal(err)
	}
	mods, act, err := busy.BodyReadFrom(strings.NewReader(m.body))
	if err != nil || act.Code != milter.ActAccept || headersOf(mods)["X-Spam-Flag"] != "YES" {
		t.Fatalf("message in flight: %+v %+v %v", act, mods, err)
	}
	select {
	case err := <-shut:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return after the message finished")
	}
	if _, err := milter.NewClientWithOptions("tcp", h.addr, milter.ClientOptions{ActionMask: Actions}).Session(); err == nil {
		t.Fatal("new connection accepted after Shutdown")
	}
}

func TestShutdownDeadline(t *testing.T) {
	h := start(t, Options{})
	busy := h.session(t)
	defer busy.Close()
	if _, err := busy.Mail("<a@example.org>", nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := h.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Shutdown took %v", d)
	}
}

func TestTimeouts(t *testing.T) {
	h := start(t, Options{IdleTimeout: 300 * time.Millisecond, ReadTimeout: 200 * time.Millisecond})
	idle := h.session(t)
	defer idle.Close()
	time.Sleep(600 * time.Millisecond)
	if _, err := idle.Helo("late.example"); err == nil {
		t.Fatal("idle connection not closed")
	}
	// A command that starts and stalls is cut after the read timeout.
	c, err := net.DialTimeout("tcp", h.addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte{0, 0, 0, 50, 'H', 'x'})
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	start := time.Now()
	if n, err := c.Read(make([]byte, 1)); err == nil || n != 0 {
		t.Fatalf("stalled command: read %d, %v", n, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("stalled connection closed after %v", d)
	}
	if c := h.srv.Counters(); c.Timeouts < 2 {
		t.Fatalf("counters %+v", c)
	}
}
