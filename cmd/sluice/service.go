package main

import (
	"github.com/sluicemail/sluice/socket"
)

// listenFlag applies a --listen style flag: an empty value keeps the
// configured address, anything else must parse as unix:/path or
// inet:host:port (a usage error otherwise) and replaces it.
func listenFlag(value string, dst *string) error {
	if value == "" {
		return nil
	}
	if _, _, err := socket.ParseAddr(value); err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	*dst = value
	return nil
}
