package config

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/sluicemail/sluice/lists"
	"github.com/sluicemail/sluice/rules"
)

// List is one allow or block list (package lists): [lists.NAME] with what
// its entries name, the symbol and score a match gives, entries written
// in the file and a list file reloaded on change.
type List struct {
	Match   string   `toml:"match" comment:"What the entries name: sender (envelope MAIL FROM and header From: user@example.com, @example.com\nor example.com, subdomains included), recipient (any envelope recipient, the same forms) or client\n(the SMTP client's address: an IP or a CIDR network). An allow list's header From match counts only with\nDKIM/SPF/DMARC alignment in the trusted Authentication-Results ([rules] trusted_authserv_ids)."`
	Symbol  string   `toml:"symbol" comment:"The symbol a match adds (A-Z, 0-9, _); empty: the list's name in upper case."`
	Score   float64  `toml:"score" comment:"The symbol's score: negative allows, positive blocks. BAYES_SPAM has no ceiling\n(5 x ln(1 + log-odds): 29 at log-odds 300, 58 at 100000): -100 outweighs any Bayes verdict, +100 rejects any."`
	Entries []string `toml:"entries" comment:"Entries written here."`
	File    string   `toml:"file" comment:"A list file: one entry a line, # comments; relative paths are below data_dir. Reloaded when it\nchanges, without a restart; a missing file is an empty list until it appears."`
}

var (
	listName   = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
	listSymbol = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,63}$`)
)

// ListNames returns the configured list names, sorted.
func (c Config) ListNames() []string {
	names := make([]string, 0, len(c.Lists))
	for name := range c.Lists {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// ListSymbol is the symbol of the named list: its symbol, else its name in
// upper case with - as _.
func (c Config) ListSymbol(name string) string {
	if s := c.Lists[name].Symbol; s != "" {
		return s
	}
	return strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// ListKind is the lists.Kind of the named list (validated).
func (c Config) ListKind(name string) lists.Kind {
	k, _ := lists.ParseKind(c.Lists[name].Match)
	return k
}

// ListFile is the named list's file, below the data directory when
// relative ("" none).
func (c Config) ListFile(name string) string {
	if f := c.Lists[name].File; f != "" {
		return c.DataPath(f)
	}
	return ""
}

func (c Config) validateLists() []error {
	var errs []error
	symbols := make(map[string]string)
	for _, name := range c.ListNames() {
		l := c.Lists[name]
		key := "lists." + name
		if !listName.MatchString(name) {
			errs = append(errs, fmt.Errorf("%s: a list name is 1 to 32 of a-z, 0-9, _ and -, starting with a letter or digit", key))
		}
		k, err := lists.ParseKind(l.Match)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.match: %w", key, err))
		}
		sym := c.ListSymbol(name)
		switch {
		case !listSymbol.MatchString(sym):
			errs = append(errs, fmt.Errorf("%s.symbol: %q is not A-Z, 0-9 and _, starting with a letter", key, sym))
		case reservedSymbol(sym):
			errs = append(errs, fmt.Errorf("%s.symbol: %s is a symbol of Bayes, the network or a rule", key, sym))
		case symbols[sym] != "":
			errs = append(errs, fmt.Errorf("%s.symbol: %s is already list %q's", key, sym, symbols[sym]))
		default:
			symbols[sym] = name
		}
		if math.IsNaN(l.Score) || math.IsInf(l.Score, 0) || l.Score == 0 {
			errs = append(errs, fmt.Errorf("%s.score: must be a number other than 0 (negative allows, positive blocks)", key))
		}
		if err == nil {
			for _, e := range l.Entries {
				if err := lists.ParseEntry(k, e); err != nil {
					errs = append(errs, fmt.Errorf("%s.entries: %w", key, err))
				}
			}
		}
		if len(l.Entries) == 0 && l.File == "" {
			errs = append(errs, fmt.Errorf("%s: has neither entries nor a file", key))
		}
	}
	return errs
}

// reservedSymbol reports whether sym is another stage's: Bayes's, the
// network's or a built-in rule's (the network reads rule symbols by name).
func reservedSymbol(sym string) bool {
	if strings.HasPrefix(sym, "BAYES_") || strings.HasPrefix(sym, "NEURAL_") {
		return true
	}
	return slices.ContainsFunc(rules.Builtin(), func(r rules.Rule) bool { return r.Name == sym })
}

// listsExample documents [lists] in a configuration that has none.
const listsExample = `
# Allow and block lists (none by default): a message whose sender, recipient or
# client matches gets the list's symbol and score. An allow list's header From
# entries count only with DKIM/SPF/DMARC alignment in a trusted
# Authentication-Results field ([rules] trusted_authserv_ids). For example:
#
# [lists.allow_sender]
# match = 'sender'
# score = -100.0
# entries = ['boss@partner.example', '@bank.example']
# file = '/etc/sluice/allow-senders'
#
# [lists.block_client]
# match = 'client'
# score = 100.0
# entries = ['203.0.113.0/24', '2001:db8:bad::/48']
`
