// Command gen writes the man page of a built sluice binary to stdout:
//
//	go run ./internal/manpage/gen [-version V] [-date YYYY-MM-DD] [-prefix P] ./sluice > sluice.1
//
// It runs `BINARY help` and `BINARY COMMAND --help` for every command the
// overview lists, so the page says what that binary does.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/sluicemail/sluice/internal/manpage"
)

func main() {
	version := flag.String("version", "sluice", "footer text: program and version")
	date := flag.String("date", "", "footer date (default: none)")
	prefix := flag.String("prefix", "/usr/local", "installation prefix, for the paths under FILES")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: gen [-version V] [-date D] BINARY")
		os.Exit(64)
	}
	if err := run(flag.Arg(0), *version, *date, *prefix); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(bin, version, date, prefix string) error {
	if !strings.Contains(bin, "/") {
		bin = "./" + bin // the file named, not a program on PATH
	}
	overview, err := helpOf(bin, "help")
	if err != nil {
		return err
	}
	cmds := manpage.ParseOverview(overview)
	if len(cmds) == 0 {
		return fmt.Errorf("%s help lists no commands:\n%s", bin, overview)
	}
	for i := range cmds {
		if cmds[i].Help, err = helpOf(bin, cmds[i].Name, "--help"); err != nil {
			return err
		}
	}
	return manpage.Write(os.Stdout, manpage.Page{
		Name:        "sluice",
		Version:     version,
		Date:        date,
		Description: "spam filter for mail servers (milter, spamd listener, learner)",
		Overview:    overview,
		Commands:    cmds,
		Files: [][2]string{
			{"/etc/sluice/sluice.toml", "the configuration; `sluice config` prints every option with its default"},
			{"/var/lib/sluice", "data directory: statfile, journal, learn cache, network file"},
			{"/var/spool/sluice", "the learner's spool: learns queued while it was down"},
			{prefix + "/share/doc/sluice/contrib", "Postfix, Sendmail, Exim, Dovecot and systemd configuration"},
		},
		SeeAlso: []string{"postconf(5)", "exim4(8)", "dovecot(1)", "sendmail(8)", "systemd.service(5)"},
	})
}

// helpOf runs bin with args and returns what it printed. Help may be
// printed on stdout or stderr and exit with 0 or 2 (flag's ErrHelp), so
// the exit status only matters when nothing was printed.
func helpOf(bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if out.Len() == 0 {
		return "", fmt.Errorf("%s %v printed nothing: %v", bin, args, err)
	}
	return out.String(), nil
}
