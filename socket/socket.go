// Package socket opens the listeners of Sluice's services from the address
// forms mail servers use: unix:/path (or local:/path) and inet:host:port
// (inet6:host:port, and Sendmail's inet:port@host). A unix socket gets the
// configured mode and group, so that the MTA's or Dovecot's user can
// connect; one left behind by a process that is gone is replaced, one that
// a live process still answers on is refused.
package socket

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

// Options say how a unix socket is created.
type Options struct {
	Mode  fs.FileMode // permissions, e.g. 0660; 0 keeps what umask gives
	Group string      // group name or number; "" keeps the process's group
}

// ParseAddr splits an address as Postfix and Sendmail write it into
// a network and address for net.Listen: unix:/path and local:/path (unix),
// inet:host:port and inet6:host:port, and Sendmail's inet:port@host.
func ParseAddr(addr string) (network, address string, err error) {
	kind, rest, ok := strings.Cut(addr, ":")
	if !ok || rest == "" {
		return "", "", fmt.Errorf("socket: address %q is not unix:/path or inet:host:port", addr)
	}
	switch kind {
	case "unix", "local":
		if !strings.HasPrefix(rest, "/") {
			return "", "", fmt.Errorf("socket: address %q: the socket path must be absolute", addr)
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
			return "", "", fmt.Errorf("socket: address %q: %w", addr, err)
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return "", "", fmt.Errorf("socket: address %q: bad port %q", addr, port)
		}
		if kind == "inet" && strings.Contains(host, ":") {
			network = "tcp6"
		}
		return network, net.JoinHostPort(host, port), nil
	}
	return "", "", fmt.Errorf("socket: address %q: unknown kind %q (want unix, local, inet or inet6)", addr, kind)
}

// Listen opens a listener on an address (see ParseAddr). A unix
// socket left by a process that is gone is removed first; one that a live
// process still answers on is an error, and so is a file that is not a
// socket. The new socket gets so's mode and group.
func Listen(addr string, so Options) (net.Listener, error) {
	network, address, err := ParseAddr(addr)
	if err != nil {
		return nil, err
	}
	if network != "unix" {
		ln, err := net.Listen(network, address)
		if err != nil {
			return nil, fmt.Errorf("socket: %w", err)
		}
		return ln, nil
	}
	return ListenUnix(address, so)
}

// ListenUnix listens on a unix stream socket at path, which may be
// relative (e.g. below the data directory), as Listen does for unix:.
func ListenUnix(path string, so Options) (net.Listener, error) {
	if err := removeStale(path); err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	if err := setSocketAccess(path, so); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// LookupGroup returns the id of a group name or number; "" gives -1.
func LookupGroup(name string) (int, error) {
	if name == "" {
		return -1, nil
	}
	if id, err := strconv.Atoi(name); err == nil {
		return id, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return -1, fmt.Errorf("socket: group %q: %w", name, err)
	}
	return strconv.Atoi(g.Gid)
}

func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("socket: %s exists and is not a socket", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("socket: %s is in use by another process", path)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("socket: remove stale socket: %w", err)
	}
	return nil
}

func setSocketAccess(path string, so Options) error {
	gid, err := LookupGroup(so.Group)
	if err != nil {
		return err
	}
	if gid >= 0 {
		if err := os.Chown(path, -1, gid); err != nil {
			return fmt.Errorf("socket: group of %s: %w", path, err)
		}
	}
	if so.Mode != 0 {
		if err := os.Chmod(path, so.Mode); err != nil {
			return fmt.Errorf("socket: mode of %s: %w", path, err)
		}
	}
	return nil
}
