package config

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// validate checks the milter section; each error names its key.
func (m Milter) validate() []error {
	var errs []error
	add := func(key string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("milter.%s: %w", key, err))
		}
	}
	add("listen", checkListen(m.Listen))
	if m.MetricsListen != Off && m.MetricsListen != "" {
		add("metrics_listen", checkListen(m.MetricsListen))
	}
	if _, err := m.Mode(); err != nil {
		add("socket_mode", err)
	}
	if m.MaxSize <= 0 {
		add("max_size", fmt.Errorf("must be positive"))
	}
	for _, d := range []struct {
		key string
		v   Duration
	}{{"idle_timeout", m.IdleTimeout}, {"read_timeout", m.ReadTimeout}, {"shutdown_timeout", m.ShutdownTimeout}} {
		if d.v <= 0 {
			add(d.key, fmt.Errorf("must be positive"))
		}
	}
	if m.MaxConnections <= 0 {
		add("max_connections", fmt.Errorf("must be positive"))
	}
	if !oneOf(m.DefaultAction, "accept", "tempfail", "reject") {
		add("default_action", fmt.Errorf("%q is not accept, tempfail or reject", m.DefaultAction))
	}
	add("reject_message", checkReply(m.RejectMessage, '5'))
	add("greylist_message", checkReply(m.GreylistMessage, '4'))
	if strings.Count(m.SubjectTemplate, "%s") != 1 {
		add("subject_template", fmt.Errorf("%q must contain %%s once", m.SubjectTemplate))
	}
	if _, err := m.Networks(); err != nil {
		add("trusted_networks", err)
	}
	return errs
}

// Mode returns the unix socket permissions parsed from SocketMode.
func (m Milter) Mode() (uint32, error) {
	v, err := strconv.ParseUint(m.SocketMode, 8, 32)
	if err != nil || v > 0o777 {
		return 0, fmt.Errorf("%q is not an octal mode such as 0660", m.SocketMode)
	}
	return uint32(v), nil
}

// Networks returns TrustedNetworks parsed; a bare address is a one-address
// prefix.
func (m Milter) Networks() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.FieldsFunc(m.TrustedNetworks, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address or CIDR network", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// checkListen accepts unix:/path, local:/path and inet:host:port.
func checkListen(s string) error {
	kind, rest, ok := strings.Cut(s, ":")
	switch {
	case !ok || rest == "":
	case kind == "unix" || kind == "local":
		if strings.HasPrefix(rest, "/") {
			return nil
		}
		return fmt.Errorf("%q: a unix socket needs an absolute path", s)
	case kind == "inet" || kind == "inet6":
		if _, port, err := splitHostPort(rest); err == nil && port != "" {
			return nil
		}
	}
	return fmt.Errorf("%q is not unix:/path or inet:host:port", s)
}

func splitHostPort(s string) (string, string, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", "", fmt.Errorf("no port")
	}
	if _, err := strconv.ParseUint(s[i+1:], 10, 16); err != nil {
		return "", "", fmt.Errorf("bad port")
	}
	return strings.Trim(s[:i], "[]"), s[i+1:], nil
}

// replyRE is an SMTP reply line: code, optional enhanced status, text.
var replyRE = regexp.MustCompile(`^([245])[0-9][0-9](?: ([245])\.[0-9]{1,3}\.[0-9]{1,3})? [^\r\n]+$`)

// checkReply checks a one-line SMTP reply whose code starts with class.
func checkReply(s string, class byte) error {
	m := replyRE.FindStringSubmatch(s)
	if m == nil || m[1][0] != class || (m[2] != "" && m[2][0] != class) {
		return fmt.Errorf("%q is not a reply such as \"%c50 %c.7.1 text\"", s, class, class)
	}
	return nil
}
