package learner

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/sluicemail/sluice/learn"
)

// Errors of a client, wrapped with their cause.
var (
	// ErrUnreachable: nothing (or nothing we may talk to) listens on the
	// socket. The message was not handed over.
	ErrUnreachable = errors.New("learner: not reachable")
	// ErrTempFail: the learner did not learn the message this time.
	ErrTempFail = errors.New("learner: temporary failure")
)

// Client is one connection to the learner's unix socket. It is used by one
// goroutine at a time; requests go one after another.
type Client struct {
	conn   net.Conn
	br     *bufio.Reader
	maxMsg int64
	buf    []byte
}

// Dial connects to the learner at path. A missing socket, a refused
// connection or a denied one give an error wrapping ErrUnreachable.
// maxMsg bounds the messages sent.
func Dial(ctx context.Context, path string, maxMsg int64) (*Client, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	return &Client{conn: c, br: bufio.NewReader(c), maxMsg: maxMsg}, nil
}

// Do sends req and waits for the response until ctx ends.
func (c *Client) Do(ctx context.Context, req *Request) (*Response, error) {
	var err error
	c.buf, err = AppendRequest(c.buf[:0], req, c.maxMsg)
	if err != nil {
		return nil, err
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Time{}
	}
	if err := c.conn.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("learner: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Now()) })
	defer stop()
	if _, err := c.conn.Write(c.buf); err != nil {
		return nil, fmt.Errorf("%w: send request: %w", ErrTempFail, err)
	}
	resp, err := ReadResponse(c.br)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTempFail, err)
	}
	return resp, nil
}

// Learn sends req and maps the response to an outcome or an error: one
// wrapping learn.ErrNotMessage, ErrProtocol (refused as malformed) or
// ErrTempFail.
func (c *Client) Learn(ctx context.Context, req *Request) (learn.Outcome, error) {
	resp, err := c.Do(ctx, req)
	if err != nil {
		return 0, err
	}
	switch resp.Status {
	case StatusOK:
		return resp.Outcome, nil
	case StatusNotMessage:
		return 0, fmt.Errorf("%w (learner: %s)", learn.ErrNotMessage, resp.Text)
	case StatusBadRequest:
		return 0, fmt.Errorf("%w: learner refused the request: %s", ErrProtocol, resp.Text)
	}
	return 0, fmt.Errorf("%w: %s", ErrTempFail, resp.Text)
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }
