// Package mbox splits an mbox file into its messages, walks files,
// maildirs and mboxes message by message (Walk; WalkFolders, folder by
// folder as `sluice learn` reads them), and tells mail from other files
// (CheckMail).
//
// It reads the common "mboxo/mboxrd" family: a message starts at a line
// beginning with "From " at the start of the file or after a line break
// (the "From_" line, which is not part of the message); in the body, lines
// of the form ">From ", ">>From " … have one '>' removed (mboxrd quoting,
// which also undoes mboxo quoting of "From "). Messages are returned as
// whole byte slices; a single message larger than the configured limit is
// an error rather than unbounded memory.
package mbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// ErrTooLarge is returned by Next when one message exceeds the Reader's limit.
var ErrTooLarge = errors.New("mbox: message too large")

// DefaultMaxMessage is the default limit on one message's size.
const DefaultMaxMessage = 64 << 20

// Reader returns the messages of an mbox one at a time.
type Reader struct {
	br      *bufio.Reader
	max     int
	pending []byte // the next "From " line already read, or nil
	started bool
	err     error
}

// NewReader reads an mbox from r; maxMessage <= 0 means DefaultMaxMessage.
func NewReader(r io.Reader, maxMessage int) *Reader {
	if maxMessage <= 0 {
		maxMessage = DefaultMaxMessage
	}
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), max: maxMessage}
}

// IsMbox tells whether the start of a file looks like an mbox (it begins
// with a "From " line, which no RFC 5322 message does).
func IsMbox(head []byte) bool { return bytes.HasPrefix(head, []byte("From ")) }

// Single returns the message of an mbox that holds exactly one and needs
// no unquoting, as a slice of data (no copy): a file saved by a mail
// client or taken from a corpus with its "From " line. ok is false when
// data has more than one message or quoted ">From " lines; use a Reader.
func Single(data []byte) (msg []byte, ok bool) {
	if !IsMbox(data) {
		return nil, false
	}
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 {
		return nil, false
	}
	msg = data[nl+1:]
	if bytes.Contains(msg, []byte("\nFrom ")) || bytes.Contains(msg, []byte("\n>From ")) ||
		bytes.HasPrefix(msg, []byte("From ")) || bytes.HasPrefix(msg, []byte(">From ")) || len(msg) == 0 {
		return nil, false
	}
	return msg, true
}

// Next returns the next message, or io.EOF after the last one.
func (r *Reader) Next() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	if !r.started {
		r.started = true
		line, err := r.readLine()
		if err != nil {
			r.err = err
			return nil, err
		}
		if !IsMbox(line) {
			r.err = fmt.Errorf("mbox: input does not start with a From line")
			return nil, r.err
		}
	} else if r.pending == nil {
		r.err = io.EOF
		return nil, io.EOF
	}
	r.pending = nil
	var msg []byte
	for {
		line, err := r.readLine()
		if err == io.EOF {
			r.err = io.EOF
			if len(msg) == 0 {
				return nil, io.EOF
			}
			return msg, nil
		}
		if err != nil {
			r.err = err
			return nil, err
		}
		if IsMbox(line) && (len(msg) == 0 || bytes.HasSuffix(msg, []byte("\n"))) {
			r.pending = line
			if len(msg) == 0 {
				continue // an empty message: skip it
			}
			// The empty line before a From_ line belongs to the separator.
			if bytes.HasSuffix(msg, []byte("\r\n\r\n")) {
				msg = msg[:len(msg)-2]
			} else if bytes.HasSuffix(msg, []byte("\n\n")) {
				msg = msg[:len(msg)-1]
			}
			return msg, nil
		}
		if unquoted, ok := unquote(line); ok {
			line = unquoted
		}
		if len(msg)+len(line) > r.max {
			r.err = ErrTooLarge
			return nil, ErrTooLarge
		}
		msg = append(msg, line...)
	}
}

// readLine returns one line with its line break, or the last bytes of the
// input without one. Lines longer than the buffer are returned whole.
func (r *Reader) readLine() ([]byte, error) {
	var line []byte
	for {
		frag, err := r.br.ReadSlice('\n')
		if len(line)+len(frag) > r.max {
			return nil, ErrTooLarge
		}
		line = append(line, frag...)
		switch err {
		case nil:
			return line, nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			if len(line) == 0 {
				return nil, io.EOF
			}
			return line, nil
		default:
			return nil, fmt.Errorf("mbox: %w", err)
		}
	}
}

// unquote removes one '>' from ">From ", ">>From ", … lines.
func unquote(line []byte) ([]byte, bool) {
	i := 0
	for i < len(line) && line[i] == '>' {
		i++
	}
	if i == 0 || !bytes.HasPrefix(line[i:], []byte("From ")) {
		return nil, false
	}
	return line[1:], true
}
