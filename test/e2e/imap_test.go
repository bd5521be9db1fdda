package e2e

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"time"
)

// imapClient is the least IMAP4rev1 client the Dovecot test needs:
// LOGIN, APPEND with a synchronising literal, SELECT, MOVE (RFC 6851).
type imapClient struct {
	c   net.Conn
	r   *bufio.Reader
	tag int
}

func dialIMAP(addr, user, pass string) (*imapClient, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(60 * time.Second))
	ic := &imapClient{c: c, r: bufio.NewReader(c)}
	greeting, err := ic.r.ReadString('\n')
	if err != nil || !strings.HasPrefix(greeting, "* OK") {
		c.Close()
		return nil, fmt.Errorf("imap greeting %q: %v", greeting, err)
	}
	if _, err := ic.cmd("LOGIN %q %q", user, pass); err != nil {
		c.Close()
		return nil, err
	}
	return ic, nil
}

// cmd sends one command and reads to its tagged reply, which must be OK.
func (ic *imapClient) cmd(format string, args ...any) ([]string, error) {
	tag := ic.send(format, args...)
	return ic.wait(tag)
}

func (ic *imapClient) send(format string, args ...any) string {
	ic.tag++
	tag := fmt.Sprintf("a%d", ic.tag)
	fmt.Fprintf(ic.c, "%s %s\r\n", tag, fmt.Sprintf(format, args...))
	return tag
}

func (ic *imapClient) wait(tag string) ([]string, error) {
	var lines []string
	for {
		line, err := ic.r.ReadString('\n')
		if err != nil {
			return lines, fmt.Errorf("imap %s: %w", tag, err)
		}
		line = strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(line, tag+" ") {
			if !strings.HasPrefix(line, tag+" OK") {
				return lines, fmt.Errorf("imap: %s", line)
			}
			return lines, nil
		}
		lines = append(lines, line)
	}
}

// append stores msg (CRLF lines) in mailbox.
func (ic *imapClient) append(mailbox, msg string) error {
	tag := ic.send("APPEND %s {%d}", mailbox, len(msg))
	line, err := ic.r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "+") {
		return fmt.Errorf("imap APPEND: no continuation: %q %v", line, err)
	}
	fmt.Fprintf(ic.c, "%s\r\n", msg)
	_, err = ic.wait(tag)
	return err
}

// move moves message sequence number seq from mailbox to dest.
func (ic *imapClient) move(mailbox string, seq int, dest string) error {
	if _, err := ic.cmd("SELECT %s", mailbox); err != nil {
		return err
	}
	_, err := ic.cmd("MOVE %d %s", seq, dest)
	return err
}

func (ic *imapClient) close() {
	ic.cmd("LOGOUT")
	ic.c.Close()
}
