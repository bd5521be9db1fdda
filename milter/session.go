package milter

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/textproto"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/emersion/go-milter"

	"github.com/sluicemail/sluice/scan"
)

// session is go-milter's backend: the state of one message. go-milter makes
// a new one after every final reply; what belongs to the SMTP session lives
// in conn.
type session struct {
	s *Server
	c *conn

	started bool
	queueID string
	auth    string
	rcpt    string        // first recipient: the user unless UserHeader names one
	from    string        // envelope sender, for greylisting, the lists and the log line
	rcpts   []string      // envelope recipients, for greylisting and the lists (at most maxRcpts)
	nrcpt   int           // envelope recipients, counted for the log line
	buf     *bytes.Buffer // header and body as received; nil when over MaxSize
	size    int64
	over    bool
	failed  bool           // a callback panicked: give the default verdict
	ours    map[string]int // our header names seen in the message, by canonical name
	subject string
	hasSubj bool
	hdrUser string
	profile string // of the first recipient that has one
}

var _ milter.Milter = (*session)(nil)

func newSession(s *Server, c *conn) *session {
	x := &session{s: s, c: c}
	c.sess = x
	return x
}

// isOurs reports whether a header field (canonical name) is one Sluice
// writes (Options.Headers: spamheader, the same on every front end);
// copies that arrive from outside are deleted.
func (x *session) isOurs(canonical string) bool {
	return slices.Contains(x.s.ours, canonical)
}

// note copies the macros worth keeping out of the current macro packet.
func (x *session) note(m *milter.Modifier) {
	if m == nil || m.Macros == nil {
		return
	}
	if v := m.Macros["i"]; v != "" {
		x.queueID = v
	}
	if v := m.Macros["{auth_authen}"]; v != "" {
		x.auth = v
	}
	if !x.c.client.IsValid() {
		if a, err := netip.ParseAddr(strings.Trim(m.Macros["{client_addr}"], "[]")); err == nil {
			x.c.client = a.Unmap()
			x.c.classify()
		}
	}
}

// recovered turns a panic in a callback into a logged error; the message
// then gets the default verdict.
func (x *session) recovered(where string) {
	if v := recover(); v != nil {
		x.failed = true
		x.s.m.errors.Inc()
		x.s.log.Error("milter callback panicked", "conn", x.c.id, "queue_id", x.queueID, "callback", where,
			"panic", v, "stack", string(debug.Stack()))
	}
}

// Connect records the SMTP client for the whole connection.
func (x *session) Connect(host, family string, port uint16, addr net.IP, m *milter.Modifier) (milter.Response, error) {
	defer x.recovered("connect")
	x.c.setClient(host, family, addr)
	x.note(m)
	return milter.RespContinue, nil
}

// Helo needs nothing.
func (x *session) Helo(name string, m *milter.Modifier) (milter.Response, error) {
	defer x.recovered("helo")
	x.note(m)
	return milter.RespContinue, nil
}

// MailFrom starts a message, or accepts it unscanned for authenticated
// senders and trusted clients.
func (x *session) MailFrom(from string, m *milter.Modifier) (resp milter.Response, err error) {
	defer x.recovered("mail")
	x.reset()
	x.started = true
	x.from = from
	x.c.beginMessage()
	x.note(m)
	switch {
	case x.s.opts.SkipAuth && x.auth != "":
		return x.skip(skipAuthenticated), nil
	case x.c.trusted:
		return x.skip(skipTrusted), nil
	}
	return milter.RespContinue, nil
}

func (x *session) skip(r skipReason) milter.Response {
	x.s.m.skipped[r].Inc()
	x.s.log.Debug("message not scanned", "conn", x.c.id, "queue_id", x.queueID, "reason", skipNames[r])
	x.end()
	return milter.RespAccept
}

// RcptTo takes the first recipient as the user.
func (x *session) RcptTo(rcpt string, m *milter.Modifier) (milter.Response, error) {
	defer x.recovered("rcpt")
	x.note(m)
	x.nrcpt++
	if x.rcpt == "" {
		x.rcpt = strings.TrimSpace(rcpt)
	}
	if len(x.rcpts) < maxRcpts {
		x.rcpts = append(x.rcpts, rcpt)
	}
	if x.profile == "" && x.s.opts.Profiles != nil {
		x.profile = x.s.opts.Profiles.Match(rcpt)
	}
	return milter.RespContinue, nil
}

// Header buffers one header field as it was received (CRLF line ends).
func (x *session) Header(name, value string, m *milter.Modifier) (milter.Response, error) {
	defer x.recovered("header")
	x.note(m)
	canon := textproto.CanonicalMIMEHeaderKey(name)
	if x.isOurs(canon) {
		if x.ours == nil {
			x.ours = make(map[string]int, len(x.s.ours))
		}
		x.ours[canon]++
	}
	if canon == "Subject" && !x.hasSubj {
		x.subject, x.hasSubj = value, true
	}
	if x.s.opts.UserHeader != "" && x.hdrUser == "" && strings.EqualFold(name, x.s.opts.UserHeader) {
		x.hdrUser = strings.Trim(strings.TrimSpace(value), "<>")
	}
	if x.grow(len(name) + len(value) + 4) {
		x.buf.WriteString(name)
		x.buf.WriteString(": ")
		writeCRLF(x.buf, value)
		x.buf.WriteString("\r\n")
	}
	return milter.RespContinue, nil
}

// headerPacket takes the payload of a header packet ("name\0value\0"),
// which conn reads in go-milter's stead, split as go-milter splits it.
func (x *session) headerPacket(data []byte) {
	if len(data) == 0 {
		return
	}
	parts := strings.Split(strings.Trim(string(data), "\x00"), "\x00")
	if len(parts) == 1 {
		parts = append(parts, "")
	}
	if len(parts) == 2 {
		x.Header(parts[0], parts[1], nil)
	}
}

// Headers ends the header.
func (x *session) Headers(h textproto.MIMEHeader, m *milter.Modifier) (milter.Response, error) {
	defer x.recovered("eoh")
	x.note(m)
	if x.grow(2) {
		x.buf.WriteString("\r\n")
	}
	return milter.RespContinue, nil
}

// BodyChunk buffers body bytes (already CRLF) up to the size limit.
func (x *session) BodyChunk(chunk []byte, m *milter.Modifier) (milter.Response, error) {
	defer x.recovered("body")
	if x.grow(len(chunk)) {
		x.buf.Write(chunk)
	}
	return milter.RespContinue, nil
}

// grow accounts for n more bytes and reports whether they are to be
// buffered: past MaxSize the buffer is dropped and nothing more is kept.
func (x *session) grow(n int) bool {
	x.size += int64(n)
	if x.over {
		return false
	}
	if x.size > x.s.opts.MaxSize {
		x.over = true
		x.release()
		return false
	}
	if x.buf == nil {
		if b, ok := x.s.bufs.Get().(*bytes.Buffer); ok {
			x.buf = b
		} else {
			x.buf = new(bytes.Buffer)
		}
	}
	return true
}

// writeCRLF writes s with every bare LF turned into CRLF (Postfix passes
// folded header values with LF).
func writeCRLF(b *bytes.Buffer, s string) {
	for {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			b.WriteString(s)
			return
		}
		b.WriteString(strings.TrimSuffix(s[:i], "\r"))
		b.WriteString("\r\n")
		s = s[i+1:]
	}
}

// Body scans the message and gives the verdict.
func (x *session) Body(m *milter.Modifier) (resp milter.Response, err error) {
	defer x.end()
	defer func() {
		if v := recover(); v != nil {
			x.s.m.errors.Inc()
			x.s.log.Error("milter end of message panicked", "conn", x.c.id, "queue_id", x.queueID,
				"panic", v, "stack", string(debug.Stack()))
			resp, err = x.s.defaultResponse(), nil
		}
	}()
	x.note(m)
	if x.failed {
		return x.s.defaultResponse(), nil
	}
	if x.over {
		x.s.m.skipped[skipOversize].Inc()
		x.s.log.Info("message over the scan size limit, not scanned", "conn", x.c.id, "queue_id", x.queueID,
			"client_ip", x.clientIP(), "from", x.sender(), "rcpts", x.nrcpt, "size", x.size)
		if err := x.removeOurs(m); err != nil {
			return nil, err
		}
		return milter.RespAccept, m.AddHeader("X-Spam-Status", "No, skipped: message over "+sizeString(x.s.opts.MaxSize)+" scan limit")
	}
	if x.buf == nil { // no header and no body: nothing to scan
		return milter.RespAccept, nil
	}
	start := x.s.opts.Now()
	v, serr := x.s.opts.Scanner.Scan(context.Background(), bytes.NewReader(x.buf.Bytes()), scan.Request{
		User: x.userName(), Profile: x.profileName(), KeepTokens: x.s.opts.Feed != nil, KeepInputs: x.s.inputs != nil,
		Envelope: scan.Envelope{Sender: x.from, Recipients: x.rcpts, Client: x.c.client},
	})
	elapsed := x.s.opts.Now().Sub(start)
	if serr != nil {
		x.s.m.errors.Inc()
		x.s.log.Warn("scan failed, giving the default verdict", "conn", x.c.id, "queue_id", x.queueID,
			"client_ip", x.clientIP(), "from", x.sender(), "rcpts", x.nrcpt, "size", x.size, "elapsed", elapsed, "err", serr)
		return x.s.defaultResponse(), nil
	}
	return x.apply(m, v, elapsed)
}

// Abort forgets the message; the connection stays.
func (x *session) Abort(m *milter.Modifier) error {
	defer x.recovered("abort")
	x.end()
	return nil
}

func (x *session) userName() string {
	if x.hdrUser != "" {
		return x.hdrUser
	}
	return x.rcpt
}

// profileName is the message's settings profile: the user header's when
// it names a user that has one, else the first recipient's that has one.
func (x *session) profileName() string {
	if x.hdrUser != "" && x.s.opts.Profiles != nil {
		if p := x.s.opts.Profiles.Match(x.hdrUser); p != "" {
			return p
		}
	}
	return x.profile
}

// end closes the message: the buffer goes back to the pool, the
// connection is no longer busy.
func (x *session) end() {
	x.reset()
	x.c.endMessage()
}

func (x *session) reset() {
	x.release()
	*x = session{s: x.s, c: x.c}
}

func (x *session) release() {
	if x.buf != nil {
		if x.buf.Cap() <= 1<<20 {
			x.buf.Reset()
			x.s.bufs.Put(x.buf)
		}
		x.buf = nil
	}
}

// defaultResponse is the verdict for our own failures.
func (s *Server) defaultResponse() milter.Response {
	switch s.opts.DefaultAction {
	case DefaultTempFail:
		return milter.RespTempFail
	case DefaultReject:
		return milter.RespReject
	}
	return milter.RespAccept
}

// sizeString writes a size with the largest binary unit that divides it.
func sizeString(n int64) string {
	for _, u := range []struct {
		s string
		n int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n%u.n == 0 {
			return fmt.Sprintf("%d%s", n/u.n, u.s)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}
