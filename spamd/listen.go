package spamd

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
)

// Listen opens a listener for addr in the form the MTAs use: unix:/path (or
// local:/path) or inet:host:port (inet6:[addr]:port). A unix socket left
// over from a previous run is replaced; mode sets its permissions (0: the
// umask's).
func Listen(addr string, mode fs.FileMode) (net.Listener, error) {
	kind, rest, ok := strings.Cut(addr, ":")
	if !ok || rest == "" {
		return nil, fmt.Errorf("spamd: listen address %q is not unix:/path or inet:host:port", addr)
	}
	switch kind {
	case "unix", "local":
		if !strings.HasPrefix(rest, "/") {
			return nil, fmt.Errorf("spamd: listen address %q: a unix socket needs an absolute path", addr)
		}
		if fi, err := os.Lstat(rest); err == nil && fi.Mode()&fs.ModeSocket != 0 {
			if err := os.Remove(rest); err != nil {
				return nil, fmt.Errorf("spamd: remove stale socket: %w", err)
			}
		} else if err == nil {
			return nil, fmt.Errorf("spamd: listen on %s: a file that is not a socket is in the way", rest)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("spamd: listen on %s: %w", rest, err)
		}
		ln, err := net.Listen("unix", rest)
		if err != nil {
			return nil, fmt.Errorf("spamd: %w", err)
		}
		if mode != 0 {
			if err := os.Chmod(rest, mode); err != nil {
				ln.Close()
				return nil, fmt.Errorf("spamd: socket permissions: %w", err)
			}
		}
		return ln, nil
	case "inet", "inet6", "tcp":
		network := "tcp"
		if kind == "inet6" {
			network = "tcp6"
		}
		ln, err := net.Listen(network, rest)
		if err != nil {
			return nil, fmt.Errorf("spamd: %w", err)
		}
		return ln, nil
	}
	return nil, fmt.Errorf("spamd: listen address %q is not unix:/path or inet:host:port", addr)
}
