package milter

import (
	"encoding/binary"
	"net"
	"testing"
	"time"
)

// packet frames one milter command.
func packet(code byte, data string) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)+1))
	return append(append(b, code), data...)
}

// FuzzSession sends arbitrary bytes after a well-formed start of session:
// whatever the MTA (or an attacker on the socket) sends, the server must
// neither crash nor hang, and must keep serving other connections.
func FuzzSession(f *testing.F) {
	opt := packet('O', "\x00\x00\x00\x06\x00\x00\x00\x3f\x00\x00\x00\x00")
	f.Add(packet('C', "host\x004\x00\x19127.0.0.1\x00"))
	f.Add(append(packet('M', "<a@b>\x00"), packet('R', "<c@d>\x00")...))
	f.Add(append(append(packet('M', "<a@b>\x00"), packet('L', "X-Spam-Flag\x00YES\x00")...), append(packet('N', ""), append(packet('B', "body\r\n"), packet('E', "")...)...)...))
	f.Add(append(packet('D', "Mi\x00Q1\x00{auth_authen}"), packet('E', "")...))
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 'x'})
	h := start(f, Options{MaxSize: 1 << 10, IdleTimeout: time.Second, ReadTimeout: 200 * time.Millisecond})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(append(opt, data...)); err != nil {
			return
		}
		c.(*net.TCPConn).CloseWrite()
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Fatal("server neither answered nor closed in 5s")
				}
				return
			}
		}
	})
}
