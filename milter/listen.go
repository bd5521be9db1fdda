package milter

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"
)

// SocketOptions say how a unix socket is created.
type SocketOptions struct {
	Mode  fs.FileMode // permissions, e.g. 0660; 0 keeps what umask gives
	Group string      // group name or number; "" keeps the process's group
}

// ParseAddr splits a milter address as Postfix and Sendmail write it into
// a network and address for net.Listen: unix:/path and local:/path (unix),
// inet:host:port and inet6:host:port, and Sendmail's inet:port@host.
func ParseAddr(addr string) (network, address string, err error) {
	kind, rest, ok := strings.Cut(addr, ":")
	if !ok || rest == "" {
		return "", "", fmt.Errorf("milter: address %q is not unix:/path or inet:host:port", addr)
	}
	switch kind {
	case "unix", "local":
		if !strings.HasPrefix(rest, "/") {
			return "", "", fmt.Errorf("milter: address %q: the socket path must be absolute", addr)
		}
		return "unix", rest, nil
	case "inet", "inet6":
		network = "tcp4"
		if kind == "inet6" {
			network = "tcp6"
		}
		if port, host, ok := strings.Cut(rest, "@"); ok { // Sendmail's PORT@HOST
			rest = net.JoinHostPort(host, port)
		}
		host, port, err := net.SplitHostPort(rest)
		if err != nil {
			return "", "", fmt.Errorf("milter: address %q: %w", addr, err)
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return "", "", fmt.Errorf("milter: address %q: bad port %q", addr, port)
		}
		if kind == "inet" && strings.Contains(host, ":") {
			network = "tcp6"
		}
		return network, net.JoinHostPort(host, port), nil
	}
	return "", "", fmt.Errorf("milter: address %q: unknown kind %q (want unix, local, inet or inet6)", addr, kind)
}

// Listen opens a listener on a milter address (see ParseAddr). A unix
// socket left by a process that is gone is removed first; one that a live
// process still answers on is an error, and so is a file that is not a
// socket. The new socket gets so's mode and group.
func Listen(addr string, so SocketOptions) (net.Listener, error) {
	network, address, err := ParseAddr(addr)
	if err != nil {
		return nil, err
	}
	if network != "unix" {
		ln, err := net.Listen(network, address)
		if err != nil {
			return nil, fmt.Errorf("milter: %w", err)
		}
		return ln, nil
	}
	if err := removeStale(address); err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", address)
	if err != nil {
		return nil, fmt.Errorf("milter: %w", err)
	}
	if err := setSocketAccess(address, so); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("milter: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("milter: %s exists and is not a socket", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("milter: %s is in use by another process", path)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("milter: remove stale socket: %w", err)
	}
	return nil
}

func setSocketAccess(path string, so SocketOptions) error {
	if so.Group != "" {
		gid, err := strconv.Atoi(so.Group)
		if err != nil {
			g, lerr := user.LookupGroup(so.Group)
			if lerr != nil {
				return fmt.Errorf("milter: socket group: %w", lerr)
			}
			gid, _ = strconv.Atoi(g.Gid)
		}
		if err := os.Chown(path, -1, gid); err != nil {
			return fmt.Errorf("milter: socket group: %w", err)
		}
	}
	if so.Mode != 0 {
		if err := os.Chmod(path, so.Mode); err != nil {
			return fmt.Errorf("milter: socket mode: %w", err)
		}
	}
	return nil
}
