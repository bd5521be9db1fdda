package lists

import (
	"fmt"
	"net/netip"
	"strings"
)

// Kind is what the entries of a list name.
type Kind uint8

const (
	Sender    Kind = iota // envelope MAIL FROM and header From
	Recipient             // any envelope recipient
	Client                // the SMTP client's IP address
)

var kindNames = [...]string{Sender: "sender", Recipient: "recipient", Client: "client"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// ParseKind reads sender, recipient or client.
func ParseKind(s string) (Kind, error) {
	for k, name := range kindNames {
		if s == name {
			return Kind(k), nil
		}
	}
	return 0, fmt.Errorf("%q is not sender, recipient or client", s)
}

// entry is one parsed entry: an address, a domain (with subdomains) or a
// network.
type entry struct {
	addr   string // user@domain, lower case
	domain string // domain, lower case, no leading @ or trailing dot
	net    netip.Prefix
}

// maxEntryBytes bounds one entry: an address is at most 254 bytes.
const maxEntryBytes = 320

// ParseEntry checks one entry of a list of kind k, as the configuration
// and list files write it.
func ParseEntry(k Kind, s string) error {
	_, err := parseEntry(k, s)
	return err
}

func parseEntry(k Kind, s string) (entry, error) {
	s = strings.TrimSpace(s)
	if len(s) > maxEntryBytes {
		return entry{}, fmt.Errorf("entry of %d bytes is too long", len(s))
	}
	if k == Client {
		if p, err := netip.ParsePrefix(s); err == nil {
			return entry{net: p.Masked()}, nil
		}
		if a, err := netip.ParseAddr(s); err == nil {
			a = a.Unmap()
			return entry{net: netip.PrefixFrom(a, a.BitLen())}, nil
		}
		return entry{}, fmt.Errorf("%q is not an IP address or a CIDR network", s)
	}
	n := normalize(s)
	local, domain, hasAt := strings.Cut(n, "@")
	switch {
	case hasAt && strings.Contains(domain, "@"):
		return entry{}, fmt.Errorf("%q has more than one @", s)
	case hasAt && local != "":
		if !isDomain(domain) {
			return entry{}, fmt.Errorf("%q is not user@domain", s)
		}
		return entry{addr: n}, nil
	case hasAt:
		n = domain
	}
	n = strings.TrimSuffix(n, ".")
	if !isDomain(n) {
		return entry{}, fmt.Errorf("%q is not an address, @domain or domain", s)
	}
	return entry{domain: n}, nil
}

// normalize is how addresses are compared: trimmed of spaces and angle
// brackets, lower case.
func normalize(s string) string {
	return strings.ToLower(strings.Trim(strings.TrimSpace(s), "<>"))
}

// isDomain accepts a host name of dot-separated labels (no spaces, no
// empty label); a single label (localhost, an intranet name) is allowed.
func isDomain(d string) bool {
	if d == "" || len(d) > 253 {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if r <= ' ' || strings.ContainsRune("@<>()[]\\,;:\"/", r) {
				return false
			}
		}
	}
	return true
}

// domainOf is the domain of a normalized address ("" without one).
func domainOf(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	return strings.TrimSuffix(addr[at+1:], ".")
}
