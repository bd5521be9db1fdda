package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// This file runs Sluice the way a Debian 12 server runs it after `make
// install`: contrib/sluice.toml as /etc/sluice/sluice.toml, daemons as
// user sluice with the groups their units (and the contrib drop-ins) give
// them, the runtime and state directories the units create, and the MTA or
// Dovecot as their own Debian users. Every path of the shipped files is
// moved below one temporary root, and nothing else is changed: what the
// tests prove is what contrib says.

// debianEnv is contrib/sluice.toml installed below root.
type debianEnv struct {
	t      *testing.T
	root   string // stands for /
	config string
	sluice *user.User
	ports  map[string]int // "milter", "spamd", "http": the free ports used instead of the shipped ones
}

// absPath matches the absolute paths of contrib files that the tests move
// below their root.
var absPath = regexp.MustCompile(`(?m)(^|[\s"'=:])/(var|run|etc)/`)

// lookupUser returns a user the Debian-layout tests need; .ci/e2e-tools.sh
// creates them.
func lookupUser(t *testing.T, name string) *user.User {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		msg := fmt.Sprintf("end-to-end test needs user %s (.ci/e2e-tools.sh creates it)", name)
		if os.Getenv("SLUICE_E2E") == "1" {
			t.Fatal(msg + "; SLUICE_E2E=1 requires it")
		}
		t.Skip(msg)
	}
	return u
}

func lookupGID(t *testing.T, group string) uint32 {
	t.Helper()
	g, err := user.LookupGroup(group)
	if err != nil {
		msg := fmt.Sprintf("end-to-end test needs group %s (.ci/e2e-tools.sh creates it)", group)
		if os.Getenv("SLUICE_E2E") == "1" {
			t.Fatal(msg + "; SLUICE_E2E=1 requires it")
		}
		t.Skip(msg)
	}
	gid, _ := strconv.Atoi(g.Gid)
	return uint32(gid)
}

func ids(u *user.User) (uid, gid int) {
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid
}

// readContrib returns a file of contrib/ with its absolute /var, /run and
// /etc paths moved below root.
func readContrib(t *testing.T, root, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "contrib", name))
	if err != nil {
		t.Fatal(err)
	}
	return absPath.ReplaceAllString(string(b), "${1}"+root+"/${2}/")
}

// newDebianEnv installs contrib/sluice.toml below a fresh root with the
// directories the units create (StateDirectory, RuntimeDirectory) owned by
// sluice, the shipped ports replaced by free ones, the lines in use
// uncommented (each replaces the active line of the same key in its
// section), and extra keys added to sections ("section.key = value").
func newDebianEnv(t *testing.T, use []string, extra ...string) *debianEnv {
	t.Helper()
	// Below /run, not /tmp: Sendmail refuses a milter socket below a
	// world-writable directory, as on a real server.
	root, err := os.MkdirTemp("/run", "sluice-e2e-debian-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	os.Chmod(root, 0o755)
	os.Chmod(filepath.Dir(sluiceBin), 0o755)
	e := &debianEnv{t: t, root: root, config: filepath.Join(root, "etc", "sluice", "sluice.toml"), sluice: lookupUser(t, "sluice"),
		ports: map[string]int{"milter": freePort(t), "spamd": freePort(t), "http": freePort(t)}}
	cfg := readContrib(t, root, "sluice.toml")
	cfg = strings.NewReplacer("127.0.0.1:7357", fmt.Sprintf("127.0.0.1:%d", e.ports["milter"]),
		"127.0.0.1:11333", fmt.Sprintf("127.0.0.1:%d", e.ports["spamd"]),
		"127.0.0.1:11334", fmt.Sprintf("127.0.0.1:%d", e.ports["http"])).Replace(cfg)
	for _, line := range use {
		cfg = useLine(t, cfg, absPath.ReplaceAllString(line, "${1}"+root+"/${2}/"))
	}
	for _, x := range extra {
		section, kv, _ := strings.Cut(x, ".")
		cfg = addKey(cfg, section, kv)
	}
	if err := os.MkdirAll(filepath.Dir(e.config), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	uid, gid := ids(e.sluice)
	for _, d := range []string{"var/lib/sluice", "run/sluice-learner", "run/sluice-milter", "run/sluice-spamd"} {
		p := filepath.Join(root, d)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// useLine uncomments "#"+line in cfg and comments out the active line of
// the same key in the same section.
func useLine(t *testing.T, cfg, line string) string {
	t.Helper()
	key, _, _ := strings.Cut(line, "=")
	key = strings.TrimSpace(key)
	lines := strings.Split(cfg, "\n")
	at := -1
	for i, l := range lines {
		if l == "#"+line {
			at = i
		}
	}
	if at < 0 {
		t.Fatalf("contrib/sluice.toml has no line %q", "#"+line)
	}
	lines[at] = line
	for i := at - 1; i >= 0 && !strings.HasPrefix(lines[i], "["); i-- {
		if k, _, ok := strings.Cut(lines[i], "="); ok && strings.TrimSpace(k) == key && !strings.HasPrefix(lines[i], "#") {
			lines[i] = "#" + lines[i]
		}
	}
	for i := at + 1; i < len(lines) && !strings.HasPrefix(lines[i], "["); i++ {
		if k, _, ok := strings.Cut(lines[i], "="); ok && strings.TrimSpace(k) == key && !strings.HasPrefix(lines[i], "#") {
			lines[i] = "#" + lines[i]
		}
	}
	return strings.Join(lines, "\n")
}

// addKey adds "key = value" to section, creating the section at the end.
func addKey(cfg, section, kv string) string {
	head := "[" + section + "]\n"
	if i := strings.Index(cfg, head); i >= 0 {
		return cfg[:i+len(head)] + kv + "\n" + cfg[i+len(head):]
	}
	return cfg + "\n" + head + kv + "\n"
}

// unitCredential is the user and groups a contrib unit (with drop-ins
// from contrib/systemd) runs its process with: User=, Group=,
// SupplementaryGroups=.
func unitCredential(t *testing.T, unit string, dropins ...string) *syscall.Credential {
	t.Helper()
	cred := &syscall.Credential{}
	for _, f := range append([]string{unit}, dropins...) {
		for _, kv := range unitSettings(t, f) {
			switch kv[0] {
			case "User":
				uid, _ := ids(lookupUser(t, kv[1]))
				cred.Uid = uint32(uid)
			case "Group":
				cred.Gid = lookupGID(t, kv[1])
			case "SupplementaryGroups":
				for _, g := range strings.Fields(kv[1]) {
					cred.Groups = append(cred.Groups, lookupGID(t, g))
				}
			}
		}
	}
	if cred.Uid == 0 {
		t.Fatalf("%s has no User=", unit)
	}
	return cred
}

// unitSettings returns the key=value lines of contrib/systemd/name.
func unitSettings(t *testing.T, name string) [][2]string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "contrib", "systemd", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var kvs [][2]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			kvs = append(kvs, [2]string{k, v})
		}
	}
	return kvs
}

// execStartPre runs a drop-in's ExecStartPre=+ commands (as root, as
// systemd's + prefix does) with their paths moved below root.
func (e *debianEnv) execStartPre(dropin string) {
	e.t.Helper()
	for _, kv := range unitSettings(e.t, dropin) {
		if kv[0] != "ExecStartPre" {
			continue
		}
		args := strings.Fields(absPath.ReplaceAllString(strings.TrimPrefix(kv[1], "+"), "${1}"+e.root+"/${2}/"))
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			e.t.Fatalf("%s ExecStartPre %s: %v\n%s", dropin, strings.Join(args, " "), err, out)
		}
	}
}

// path returns the path below root that stands for abs.
func (e *debianEnv) path(abs string) string { return filepath.Join(e.root, abs) }

// start runs `sluice CMD` as unit runs it and waits for ready.
func (e *debianEnv) start(unit string, dropins []string, ready func(*daemon) bool, cmd string) *daemon {
	e.t.Helper()
	cred := unitCredential(e.t, unit, dropins...)
	return startDaemonAs(e.t, cred, filepath.Join(e.root, fmt.Sprintf("%s-%d.log", cmd, time.Now().UnixNano())), e.config, ready, cmd)
}

// run runs a sluice command as root with the env's config.
func (e *debianEnv) run(args ...string) string {
	e.t.Helper()
	out, err := exec.Command(sluiceBin, append([]string{args[0], "--config", e.config}, args[1:]...)...).CombinedOutput()
	if err != nil {
		e.t.Fatalf("sluice %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// totals reads the shared learn totals with sluice stat --json.
func (e *debianEnv) totals() (spam, ham uint64) {
	e.t.Helper()
	le := &learnerEnv{t: e.t, config: e.config}
	return le.totals()
}

// chownData gives the data directory, learned as root before a daemon
// starts, to user sluice, as if the learner had written it.
func (e *debianEnv) chownData() {
	e.t.Helper()
	uid, gid := ids(e.sluice)
	filepath.Walk(e.path("/var/lib/sluice"), func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			os.Lchown(p, uid, gid)
		}
		return nil
	})
}
