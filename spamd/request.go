package spamd

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Proto is the protocol family a request line names.
type Proto uint8

// The protocols a connection may speak; the first line decides.
const (
	ProtoSpamd  Proto = iota + 1 // "VERB SPAMC/1.x": SpamAssassin's spamc, Exim's default variant
	ProtoRspamc                  // "VERB RSPAMC/1.x": rspamd's legacy protocol, Exim's variant=rspamd
	ProtoHTTP                    // "METHOD /path HTTP/1.x": rspamd's HTTP API
)

var protoNames = [...]string{"unknown", "spamd", "rspamc", "http"}

func (p Proto) String() string {
	if int(p) < len(protoNames) {
		return protoNames[p]
	}
	return "unknown"
}

// Request is one spamd or legacy rspamd request: its line, its headers and
// its message.
type Request struct {
	Proto Proto
	Verb  string // CHECK, PROCESS, TELL…, upper case
	Minor int    // protocol minor version: SPAMC/1.5 → 5
	// Header holds the header fields by lower-cased name, in order of
	// arrival per name.
	Header map[string][]string
	// Body is the message, at most Limits.MaxSize bytes of it.
	Body []byte
	// Truncated says the message was longer than Limits.MaxSize; the rest
	// was read and discarded.
	Truncated bool
}

// Get returns the first value of a header field (name in lower case).
func (r *Request) Get(name string) string {
	if v := r.Header[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Limits bound what one request may send.
type Limits struct {
	MaxSize       int64 // message bytes kept; more is read and discarded (Truncated)
	MaxHeaders    int   // header fields of the request (not of the message)
	MaxLineLength int   // bytes in the request line and in one header line
}

// maxHeaderBytes bounds the request's header section as a whole.
const maxHeaderBytes = 1 << 20

// ProtocolError is a request the protocol's error reply answers: Code is a
// sysexits value (76 EX_PROTOCOL for malformed requests).
type ProtocolError struct {
	Code int
	Msg  string
}

func (e *ProtocolError) Error() string { return fmt.Sprintf("spamd: %s (%s)", e.Msg, exitName(e.Code)) }

func protoErr(code int, format string, args ...any) *ProtocolError {
	return &ProtocolError{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// errLineTooLong is wrapped into a ProtocolError when a line exceeds
// Limits.MaxLineLength.
var errLineTooLong = errors.New("line too long")

// readLine returns one line without its line end (CRLF or LF). A line
// longer than max is an error; EOF before any byte is io.EOF, within a line
// io.ErrUnexpectedEOF.
func readLine(br *bufio.Reader, max int) (string, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) || len(line) > max+2 {
		return "", errLineTooLong
	}
	if err != nil {
		if errors.Is(err, io.EOF) && len(line) > 0 {
			return "", io.ErrUnexpectedEOF
		}
		return "", err
	}
	line = bytes.TrimSuffix(line[:len(line)-1], []byte("\r"))
	if len(line) > max {
		return "", errLineTooLong
	}
	return string(line), nil
}

// ParseRequestLine splits "VERB SPAMC/1.5" or "VERB RSPAMC/1.3". The verb is
// returned in upper case; the version must be 1.x.
func ParseRequestLine(line string) (proto Proto, verb string, minor int, err error) {
	verb, version, ok := strings.Cut(line, " ")
	if !ok || verb == "" {
		return 0, "", 0, protoErr(exProtocol, "bad request line %q", clip(line))
	}
	version = strings.TrimRight(version, " \t")
	name, num, ok := strings.Cut(version, "/")
	switch {
	case !ok:
		return 0, "", 0, protoErr(exProtocol, "bad request line %q", clip(line))
	case name == "SPAMC":
		proto = ProtoSpamd
	case name == "RSPAMC":
		proto = ProtoRspamc
	default:
		return 0, "", 0, protoErr(exProtocol, "unknown protocol %q", clip(name))
	}
	major, min, ok := strings.Cut(num, ".")
	if !ok || major != "1" {
		return 0, "", 0, protoErr(exProtocol, "unsupported protocol version %q", clip(num))
	}
	minor, err = strconv.Atoi(min)
	if err != nil || minor < 0 || minor > 99 {
		return 0, "", 0, protoErr(exProtocol, "unsupported protocol version %q", clip(num))
	}
	for i := 0; i < len(verb); i++ {
		if c := verb[i]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_') {
			return 0, "", 0, protoErr(exProtocol, "bad verb %q", clip(verb))
		}
	}
	return proto, strings.ToUpper(verb), minor, nil
}

// ReadRequest reads the rest of a request whose first line was line: the
// header fields up to the empty line, then the message. The message is
// Content-length bytes when the header is present, else everything up to
// EOF (spamc and Exim half-close after the message). PING carries no
// message. Compress: zlib bodies are inflated (bounded by MaxSize).
func ReadRequest(br *bufio.Reader, line string, lim Limits) (*Request, error) {
	return readRequest(br, line, lim, nil)
}

// readRequest is ReadRequest calling bodyPhase, when not nil, between the
// header fields and the message.
func readRequest(br *bufio.Reader, line string, lim Limits, bodyPhase func()) (*Request, error) {
	proto, verb, minor, err := ParseRequestLine(line)
	if err != nil {
		return nil, err
	}
	req := &Request{Proto: proto, Verb: verb, Minor: minor, Header: make(map[string][]string)}
	n, total := 0, 0
	for {
		l, err := readLine(br, lim.MaxLineLength)
		if errors.Is(err, errLineTooLong) {
			return nil, protoErr(exProtocol, "header line longer than %d bytes", lim.MaxLineLength)
		}
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, fmt.Errorf("spamd: read header: %w", err)
		}
		if l == "" {
			break
		}
		if n++; n > lim.MaxHeaders {
			return nil, protoErr(exProtocol, "more than %d header lines", lim.MaxHeaders)
		}
		if total += len(l); total > maxHeaderBytes {
			return nil, protoErr(exProtocol, "header section larger than %d bytes", maxHeaderBytes)
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok || !validName(name) {
			return nil, protoErr(exProtocol, "bad header line %q", clip(l))
		}
		key := strings.ToLower(name)
		req.Header[key] = append(req.Header[key], strings.TrimSpace(value))
	}
	if verb == "PING" || verb == "SKIP" {
		return req, nil
	}
	if bodyPhase != nil {
		bodyPhase()
	}
	length := int64(-1)
	if vs := req.Header["content-length"]; len(vs) > 0 {
		for _, v := range vs {
			l, err := strconv.ParseInt(v, 10, 64)
			if err != nil || l < 0 || (length >= 0 && l != length) {
				return nil, protoErr(exProtocol, "bad Content-length %q", clip(v))
			}
			length = l
		}
	}
	if err := req.readBody(br, length, lim.MaxSize); err != nil {
		return nil, err
	}
	switch c := strings.ToLower(req.Get("compress")); c {
	case "":
	case "zlib":
		if err := req.inflate(lim.MaxSize); err != nil {
			return nil, err
		}
	default:
		return nil, protoErr(exProtocol, "unknown Compress %q", clip(c))
	}
	return req, nil
}

// readBody keeps up to max bytes of the message and discards the rest.
func (req *Request) readBody(br *bufio.Reader, length, max int64) error {
	var src io.Reader = br
	if length >= 0 {
		src = io.LimitReader(br, length)
	}
	var buf bytes.Buffer
	if length >= 0 {
		buf.Grow(int(min(length, max, 1<<20)))
	}
	got, err := io.Copy(&buf, io.LimitReader(src, max))
	if err != nil {
		return fmt.Errorf("spamd: read message: %w", err)
	}
	if got == max {
		rest, err := io.Copy(io.Discard, src)
		if err != nil {
			return fmt.Errorf("spamd: read message: %w", err)
		}
		got += rest
		req.Truncated = rest > 0
	}
	if length >= 0 && got < length {
		return fmt.Errorf("spamd: read message: %d of %d bytes: %w", got, length, io.ErrUnexpectedEOF)
	}
	req.Body = buf.Bytes()
	return nil
}

// inflate replaces a zlib-compressed body by its content.
func (req *Request) inflate(max int64) error {
	zr, err := zlib.NewReader(bytes.NewReader(req.Body))
	if err != nil {
		return protoErr(exDataErr, "bad zlib message: %v", err)
	}
	defer zr.Close()
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(zr, max+1))
	if err != nil {
		return protoErr(exDataErr, "bad zlib message: %v", err)
	}
	if n > max {
		buf.Truncate(int(max))
		req.Truncated = true
	}
	req.Body = buf.Bytes()
	return nil
}

// validName accepts header names of letters, digits, '-' and '_'.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// clip shortens client text quoted in replies and logs.
func clip(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
