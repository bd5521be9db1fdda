// Package manpage turns the help text of a command-line program into a
// roff man page (section 1). Its input is what the program prints: the
// overview (`sluice help`) and each command's `--help`, so the page
// cannot drift from the flags the binary really has. Help text is kept
// verbatim (no-fill blocks): flag libraries change their layout, and a
// page that quotes them stays right whatever the layout is.
package manpage

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Command is one subcommand: its name, the one-line summary from the
// overview, and its --help output.
type Command struct {
	Name, Summary, Help string
}

// Page is everything the man page says.
type Page struct {
	Name        string // program name, e.g. "sluice"
	Section     int    // 1 for user commands; 8 for daemons
	Version     string // footer, e.g. "sluice 1.2.0"
	Date        string // footer date, e.g. "2026-12-04"; "" leaves it out
	Description string // one line for NAME
	Overview    string // the program's top-level help, verbatim
	Commands    []Command
	Files       [][2]string // path, what it is
	SeeAlso     []string    // e.g. "postconf(5)"
}

// ParseOverview reads the command list from a top-level help text: the
// lines after a line "commands:" that are indented and start with a
// name, up to the first line that is not. It returns the commands in the
// order listed, with Help empty.
func ParseOverview(help string) []Command {
	var cmds []Command
	in := false
	sc := bufio.NewScanner(strings.NewReader(help))
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "commands:" {
			in = true
			continue
		}
		if !in {
			continue
		}
		if !strings.HasPrefix(line, " ") {
			if len(cmds) > 0 {
				break
			}
			continue
		}
		name, summary, _ := strings.Cut(strings.TrimSpace(line), " ")
		if name == "" {
			continue
		}
		cmds = append(cmds, Command{Name: name, Summary: strings.TrimSpace(summary)})
	}
	return cmds
}

// Write renders p as roff.
func Write(w io.Writer, p Page) error {
	b := &strings.Builder{}
	section := p.Section
	if section == 0 {
		section = 1
	}
	fmt.Fprintf(b, ".TH %s %d %s %s %s\n", strings.ToUpper(p.Name), section, quote(p.Date), quote(p.Version), quote("User Commands"))
	b.WriteString(".SH NAME\n")
	fmt.Fprintf(b, "%s \\- %s\n", escape(p.Name), escape(p.Description))
	b.WriteString(".SH SYNOPSIS\n")
	fmt.Fprintf(b, ".B %s\n.I COMMAND\n.RI [ flags ]\n.RI [ args ]\n", escape(p.Name))
	b.WriteString(".SH DESCRIPTION\n")
	verbatim(b, p.Overview)
	if len(p.Commands) > 0 {
		b.WriteString(".SH COMMANDS\n")
		for _, c := range p.Commands {
			fmt.Fprintf(b, ".SS %s\n", escape(c.Name))
			if c.Summary != "" {
				b.WriteString(escape(c.Summary) + "\n")
			}
			if strings.TrimSpace(c.Help) != "" {
				verbatim(b, c.Help)
			}
		}
	}
	if len(p.Files) > 0 {
		b.WriteString(".SH FILES\n")
		for _, f := range p.Files {
			fmt.Fprintf(b, ".TP\n.I %s\n%s\n", escape(f[0]), escape(f[1]))
		}
	}
	if len(p.SeeAlso) > 0 {
		b.WriteString(".SH SEE ALSO\n")
		for i, s := range p.SeeAlso {
			name, sec, ok := strings.Cut(strings.TrimSuffix(s, ")"), "(")
			sep := ","
			if i == len(p.SeeAlso)-1 {
				sep = ""
			}
			if ok {
				fmt.Fprintf(b, ".BR %s (%s)%s\n", escape(name), escape(sec), sep)
			} else {
				fmt.Fprintf(b, "%s%s\n", escape(s), sep)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// verbatim writes text as a no-fill block, each line escaped.
func verbatim(b *strings.Builder, text string) {
	b.WriteString(".PP\n.nf\n")
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		b.WriteString(escapeLine(strings.ReplaceAll(line, "\t", "        ")) + "\n")
	}
	b.WriteString(".fi\n")
}

// escape makes s safe inside a roff text line: backslashes are printed,
// hyphens are minus signs (what a flag needs to be copied from the page).
func escape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	return strings.ReplaceAll(s, "-", `\-`)
}

// escapeLine escapes s and keeps a leading '.' or '\” from being read
// as a request.
func escapeLine(s string) string {
	s = escape(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// quote makes s one argument of a request.
func quote(s string) string {
	return `"` + strings.ReplaceAll(escape(s), `"`, `\(dq`) + `"`
}
