package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Profile is a settings profile (rspamd's "settings"): the mail of some
// recipients is judged with its own action thresholds and, with [neural]
// use_settings, by its own network trained on its own mail. A profile is
// chosen by a message's recipients (the milter's envelope recipients, the
// spamd User header, rspamd's Deliver-To and Rcpt) or named outright by an
// rspamd client's Settings-ID header.
//
// The thresholds are pointers so that a profile sets only the ones it
// changes; the others are [actions]'.
type Profile struct {
	Recipients     []string `toml:"recipients" comment:"Who this profile is for: addresses (bob@example.com), domains (@example.com) or local user names (bob).\nA message takes the profile of its first recipient that matches one; a recipient names one profile at most."`
	AddHeader      *float64 `toml:"add_header,omitempty" comment:"Overrides [actions] add_header for this profile's mail."`
	RewriteSubject *float64 `toml:"rewrite_subject,omitempty" comment:"Overrides [actions] rewrite_subject."`
	Greylist       *float64 `toml:"greylist,omitempty" comment:"Overrides [actions] greylist."`
	Reject         *float64 `toml:"reject,omitempty" comment:"Overrides [actions] reject."`
}

// profileName is what a profile may be called: it becomes part of file
// names (neural.NAME.nn) and of metrics labels.
var profileName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// DefaultProfile is the name by which an rspamd client's Settings-ID asks
// for no profile; it cannot name a [profiles] table.
const DefaultProfile = "default"

// ProfileNames returns the configured profile names, sorted.
func (c Config) ProfileNames() []string {
	names := make([]string, 0, len(c.Profiles))
	for name := range c.Profiles {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// ProfileActions returns the thresholds of the named profile: its own
// where it sets them, [actions]' otherwise ("" or an unknown name: all
// [actions]').
func (c Config) ProfileActions(name string) Actions {
	a := c.Actions
	p, ok := c.Profiles[name]
	if !ok {
		return a
	}
	for _, o := range []struct {
		dst *float64
		src *float64
	}{{&a.AddHeader, p.AddHeader}, {&a.RewriteSubject, p.RewriteSubject}, {&a.Greylist, p.Greylist}, {&a.Reject, p.Reject}} {
		if o.src != nil {
			*o.dst = *o.src
		}
	}
	return a
}

// NormalizeRecipient is how recipients and profile patterns are compared:
// trimmed of spaces and angle brackets, lower case.
func NormalizeRecipient(s string) string {
	return strings.ToLower(strings.Trim(strings.TrimSpace(s), "<>"))
}

func validateProfiles(profiles map[string]Profile) []error {
	var errs []error
	owner := make(map[string]string) // normalised pattern → profile
	names := make([]string, 0, len(profiles))
	for name := range profiles {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		p := profiles[name]
		key := "profiles." + name
		if !profileName.MatchString(name) || name == DefaultProfile {
			errs = append(errs, fmt.Errorf("%s: a profile name is 1 to 32 of a-z, 0-9, _ and -, starting with a letter or digit, and not %q", key, DefaultProfile))
		}
		for _, r := range p.Recipients {
			n := NormalizeRecipient(r)
			switch {
			case n == "" || n == "@" || strings.Count(n, "@") > 1:
				errs = append(errs, fmt.Errorf("%s.recipients: %q is not an address, @domain or user name", key, r))
			case owner[n] != "" && owner[n] != name:
				errs = append(errs, fmt.Errorf("%s.recipients: %q is already in profile %q", key, r, owner[n]))
			default:
				owner[n] = name
			}
		}
		for _, v := range []*float64{p.AddHeader, p.RewriteSubject, p.Greylist, p.Reject} {
			if v != nil && !(*v >= 0) {
				errs = append(errs, fmt.Errorf("%s: thresholds must not be negative", key))
				break
			}
		}
	}
	return errs
}
