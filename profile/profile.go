// Package profile picks a message's settings profile (rspamd's
// "settings") from its recipients, as configured in [profiles]: an exact
// address or local user name first, then the recipient's domain. The
// first recipient that matches decides, so a message to several people is
// judged by one profile.
package profile

import (
	"fmt"
	"strings"

	"github.com/sluicemail/sluice/config"
)

// Matcher maps recipients to profile names. The zero value and nil match
// nothing. It is immutable and safe for concurrent use.
type Matcher struct {
	exact  map[string]string // normalised address or user name → profile
	domain map[string]string // domain (without @) → profile
	names  map[string]bool
}

// New builds the matcher of the configured profiles (config validation
// has rejected a pattern claimed by two profiles).
func New(profiles map[string]config.Profile) *Matcher {
	m := &Matcher{exact: make(map[string]string), domain: make(map[string]string), names: make(map[string]bool)}
	for name, p := range profiles {
		m.names[name] = true
		for _, r := range p.Recipients {
			n := config.NormalizeRecipient(r)
			if d, ok := strings.CutPrefix(n, "@"); ok {
				m.domain[d] = name
			} else {
				m.exact[n] = name
			}
		}
	}
	return m
}

// Match returns the profile of the first recipient that has one, "" when
// none has.
func (m *Matcher) Match(recipients ...string) string {
	if m == nil || len(m.names) == 0 {
		return ""
	}
	for _, r := range recipients {
		n := config.NormalizeRecipient(r)
		if name, ok := m.exact[n]; ok {
			return name
		}
		if at := strings.LastIndexByte(n, '@'); at >= 0 {
			if name, ok := m.domain[n[at+1:]]; ok {
				return name
			}
		}
	}
	return ""
}

// Named resolves a profile named outright (rspamd's Settings-ID header):
// a configured name is itself, "default" is no profile; ok is false for a
// name that is not configured.
func (m *Matcher) Named(id string) (name string, ok bool) {
	id = strings.ToLower(strings.TrimSpace(id))
	if id == config.DefaultProfile {
		return "", true
	}
	if m == nil || !m.names[id] {
		return "", false
	}
	return id, true
}

// Choose returns the profile a command line asks for: the one named
// (an error if there is none by that name), else the profile of user.
func (m *Matcher) Choose(name, user string) (string, error) {
	if name == "" {
		return m.Match(user), nil
	}
	if found, ok := m.Named(name); ok {
		return found, nil
	}
	return "", fmt.Errorf("no such profile %q in [profiles]", name)
}
