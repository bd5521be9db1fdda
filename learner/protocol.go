package learner

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/sluicemail/sluice/learn"
)

// Label is what a request asks: learn.Label, named here so that front
// ends (spamd, the command line) reach it through the learner alone.
type Label = learn.Label

// The labels.
const (
	Spam   = learn.Spam   // learn as spam
	Ham    = learn.Ham    // learn as ham
	Forget = learn.Forget // unlearn, clear the learn cache entry
)

// Outcome says what a learn did (learn.Outcome).
type Outcome = learn.Outcome

// The outcomes.
const (
	Learned        = learn.Learned
	AlreadyLearned = learn.AlreadyLearned
	Relearned      = learn.Relearned
	Forgotten      = learn.Forgotten
	NotLearned     = learn.NotLearned
	Queued         = learn.Queued // a cluster host's learn: in its outbox (see the package doc)
)

// ErrNotMessage is wrapped by the errors of input that is not a mail
// message (learn.ErrNotMessage).
var ErrNotMessage = learn.ErrNotMessage

// Status is the result class of a response.
type Status uint8

// The statuses.
const (
	StatusOK         Status = 0 // done: Outcome says what happened
	StatusNotMessage Status = 1 // the input is not a mail message (EX_DATAERR)
	StatusBadRequest Status = 2 // malformed or over a limit
	StatusTempFail   Status = 3 // not done: try again later (or spool)
)

// Protocol limits.
const (
	MaxUser   = 320  // bytes of a user name (an e-mail address)
	MaxSource = 32   // bytes of a source name
	MaxText   = 1024 // bytes of a response's text
)

const (
	reqMagic   = "SLRQ"
	respMagic  = "SLRS"
	version    = 1
	reqHdrLen  = 4 + 1 + 1 + 2 + 1 + 4
	respHdrLen = 4 + 1 + 1 + 1 + 2
)

// ErrProtocol is wrapped by decoding errors: the peer does not speak the
// protocol, or broke a limit.
var ErrProtocol = errors.New("learner: protocol error")

// Request is one learn request. On the wire (all integers big-endian):
//
//	"SLRQ" | version u8 (1) | label u8 | len(user) u16 | len(source) u8 |
//	len(message) u32 | user | source | message
//
// User is the mailbox whose statistics also learn ("" for the shared
// statistics only); Source names the client for metrics ("dovecot",
// "cli", "http", "spool", "autolearn"...). A spool file holds exactly one
// encoded request.
type Request struct {
	Label   Label
	User    string
	Source  string
	Message []byte
}

// Response answers a request:
//
//	"SLRS" | version u8 (1) | status u8 | outcome u8 | len(text) u16 | text
type Response struct {
	Status  Status
	Outcome learn.Outcome // with StatusOK
	Text    string        // human-readable detail, for stderr
}

func (r *Request) validate(maxMsg int64) error {
	switch {
	case !r.Label.Valid():
		return fmt.Errorf("%w: unknown label %d", ErrProtocol, r.Label)
	case len(r.User) > MaxUser || !printable(r.User):
		return fmt.Errorf("%w: bad user (%d bytes)", ErrProtocol, len(r.User))
	case len(r.Source) > MaxSource || !printable(r.Source):
		return fmt.Errorf("%w: bad source (%d bytes)", ErrProtocol, len(r.Source))
	case int64(len(r.Message)) > maxMsg:
		return fmt.Errorf("%w: message of %d bytes exceeds %d", ErrProtocol, len(r.Message), maxMsg)
	}
	return nil
}

// printable: UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// AppendRequest appends the encoding of r. It fails for a request that
// breaks a limit (maxMsg bounds the message).
func AppendRequest(b []byte, r *Request, maxMsg int64) ([]byte, error) {
	if err := r.validate(min(maxMsg, 1<<32-1)); err != nil {
		return b, err
	}
	b = append(b, reqMagic...)
	b = append(b, version, byte(r.Label))
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.User)))
	b = append(b, byte(len(r.Source)))
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.Message)))
	b = append(b, r.User...)
	b = append(b, r.Source...)
	return append(b, r.Message...), nil
}

// ReadRequest reads one request, refusing a message over maxMsg bytes
// before reading it. io.EOF means the peer closed between requests.
// Memory grows with what arrives, never with what the header claims.
func ReadRequest(rd io.Reader, maxMsg int64) (*Request, error) {
	r, ml, err := readRequestHead(rd, maxMsg)
	if err != nil {
		return nil, err
	}
	if err := r.readMessage(rd, ml, maxMsg); err != nil {
		return nil, err
	}
	return r, nil
}

// readRequestHead reads a request's fixed header, user and source (at
// most a few hundred bytes), and returns the length its message claims,
// which is at most maxMsg.
func readRequestHead(rd io.Reader, maxMsg int64) (*Request, int64, error) {
	var h [reqHdrLen]byte
	if _, err := io.ReadFull(rd, h[:]); err != nil {
		if err == io.EOF {
			return nil, 0, io.EOF
		}
		return nil, 0, fmt.Errorf("learner: read request: %w", err)
	}
	if string(h[:4]) != reqMagic || h[4] != version {
		return nil, 0, fmt.Errorf("%w: not a version %d request", ErrProtocol, version)
	}
	r := &Request{Label: Label(h[5])}
	ul := int(binary.BigEndian.Uint16(h[6:]))
	sl := int(h[8])
	ml := int64(binary.BigEndian.Uint32(h[9:]))
	if ul > MaxUser || sl > MaxSource || ml > maxMsg {
		return nil, 0, fmt.Errorf("%w: field too long (user %d, source %d, message %d of %d bytes)", ErrProtocol, ul, sl, ml, maxMsg)
	}
	var buf [MaxUser + MaxSource]byte
	if _, err := io.ReadFull(rd, buf[:ul+sl]); err != nil {
		return nil, 0, fmt.Errorf("learner: read request: %w", err)
	}
	r.User, r.Source = string(buf[:ul]), string(buf[ul:ul+sl])
	return r, ml, nil
}

// firstChunk is the most a message buffer starts with; it doubles as the
// message arrives, up to the length the header claimed.
const firstChunk = 64 << 10

// readMessage reads the ml bytes of r's message, growing its buffer with
// what arrives, and validates r.
func (r *Request) readMessage(rd io.Reader, ml, maxMsg int64) error {
	msg := make([]byte, 0, min(ml, firstChunk))
	for int64(len(msg)) < ml {
		if len(msg) == cap(msg) {
			grown := make([]byte, len(msg), min(ml, 2*int64(cap(msg))))
			copy(grown, msg)
			msg = grown
		}
		n, err := rd.Read(msg[len(msg):min(int64(cap(msg)), ml)])
		msg = msg[:len(msg)+n]
		if err != nil && int64(len(msg)) < ml {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("learner: read request: %w", err)
		}
	}
	r.Message = msg
	return r.validate(maxMsg)
}

// DecodeRequest decodes one request that must fill b exactly (a spool file).
func DecodeRequest(b []byte, maxMsg int64) (*Request, error) {
	r, err := ReadRequest(&sliceReader{b: b}, maxMsg)
	if err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("%w: empty", ErrProtocol)
		}
		return nil, err
	}
	if n := reqHdrLen + len(r.User) + len(r.Source) + len(r.Message); n != len(b) {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrProtocol, len(b)-n)
	}
	return r, nil
}

type sliceReader struct{ b []byte }

func (s *sliceReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}

// AppendResponse appends the encoding of r; a long text is cut.
func AppendResponse(b []byte, r *Response) []byte {
	text := r.Text
	if len(text) > MaxText {
		text = text[:MaxText]
	}
	b = append(b, respMagic...)
	b = append(b, version, byte(r.Status), byte(r.Outcome))
	b = binary.BigEndian.AppendUint16(b, uint16(len(text)))
	return append(b, text...)
}

// ReadResponse reads one response.
func ReadResponse(rd io.Reader) (*Response, error) {
	var h [respHdrLen]byte
	if _, err := io.ReadFull(rd, h[:]); err != nil {
		return nil, fmt.Errorf("learner: read response: %w", err)
	}
	if string(h[:4]) != respMagic || h[4] != version {
		return nil, fmt.Errorf("%w: not a version %d response", ErrProtocol, version)
	}
	tl := int(binary.BigEndian.Uint16(h[7:]))
	if tl > MaxText {
		return nil, fmt.Errorf("%w: response text of %d bytes", ErrProtocol, tl)
	}
	text := make([]byte, tl)
	if _, err := io.ReadFull(rd, text); err != nil {
		return nil, fmt.Errorf("learner: read response: %w", err)
	}
	r := &Response{Status: Status(h[5]), Outcome: learn.Outcome(h[6]), Text: string(text)}
	if r.Status > StatusTempFail || (r.Status == StatusOK && (r.Outcome < learn.Learned || r.Outcome > learn.NotLearned) && r.Outcome != learn.Queued) {
		return nil, fmt.Errorf("%w: status %d, outcome %d", ErrProtocol, r.Status, r.Outcome)
	}
	return r, nil
}

// ParseLabel reads "spam", "ham" or "forget" (learn.ParseLabel).
func ParseLabel(s string) (Label, error) { return learn.ParseLabel(s) }
