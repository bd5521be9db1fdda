package e2e

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestMakeInstall runs `make install DESTDIR=...` as README says and
// checks the tree it leaves: a static binary, the man page, the units
// pointing at the installed binary, the configuration (kept when one
// exists), and the contrib files; then `systemd-analyze verify` and
// `security` on every unit as installed.
func TestMakeInstall(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("needs make")
	}
	dest := t.TempDir()
	build := t.TempDir()
	install := func() string {
		t.Helper()
		cmd := exec.Command("make", "-C", "../..", "install", "DESTDIR="+dest, "PREFIX=/usr/local",
			"BIN="+filepath.Join(build, "sluice"), "MAN="+filepath.Join(build, "sluice.1"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make install: %v\n%s", err, out)
		}
		return string(out)
	}
	install()
	for _, f := range []string{
		"usr/local/bin/sluice",
		"usr/local/share/man/man1/sluice.1",
		"etc/sluice/sluice.toml",
		"usr/local/share/doc/sluice/README.md",
		"usr/local/share/doc/sluice/contrib/README.md",
		"usr/local/share/doc/sluice/contrib/sluice.toml",
		"usr/local/share/doc/sluice/contrib/dovecot/90-sluice-imapsieve.conf",
		"usr/local/share/doc/sluice/contrib/exim/acl-spamd.conf",
		"usr/local/share/doc/sluice/contrib/postfix/main.cf",
		"usr/local/share/doc/sluice/contrib/sendmail/sluice.mc",
		"usr/local/share/doc/sluice/contrib/systemd/postfix-chroot.conf",
		"usr/local/lib/systemd/system/sluice.service",
		"usr/local/lib/systemd/system/sluice-milter.service",
		"usr/local/lib/systemd/system/sluice-learner.service",
	} {
		if _, err := os.Stat(filepath.Join(dest, f)); err != nil {
			t.Errorf("make install did not install %s: %v", f, err)
		}
	}
	for _, f := range []string{"usr/local/bin/sluice", "usr/local/share/doc/sluice/contrib/dovecot/sluice-learn-spam.sh"} {
		if fi, err := os.Stat(filepath.Join(dest, f)); err == nil && fi.Mode().Perm()&0o111 == 0 {
			t.Errorf("%s is not executable: %v", f, fi.Mode())
		}
	}

	bin := filepath.Join(dest, "usr/local/bin/sluice")
	ef, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the installed binary has an ELF interpreter: it is dynamically linked")
		}
	}
	if libs, _ := ef.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the installed binary needs shared libraries %v", libs)
	}
	ef.Close()
	if out, err := exec.Command(bin, "help").CombinedOutput(); err != nil {
		t.Errorf("installed sluice help: %v\n%s", err, out)
	}

	man, _ := os.ReadFile(filepath.Join(dest, "usr/local/share/man/man1/sluice.1"))
	for _, want := range []string{".TH SLUICE 1", ".SS learn", ".SS milter", `\-\-config`} {
		if !strings.Contains(string(man), want) {
			t.Errorf("man page lacks %q", want)
		}
	}
	if groff, err := exec.LookPath("groff"); err == nil {
		if out, err := exec.Command(groff, "-man", "-ww", "-z", filepath.Join(dest, "usr/local/share/man/man1/sluice.1")).CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("groff -ww on the man page: %v\n%s", err, out)
		}
	}

	units, _ := filepath.Glob(filepath.Join(dest, "usr/local/lib/systemd/system/*.service"))
	for _, u := range units {
		b, _ := os.ReadFile(u)
		if !strings.Contains(string(b), "ExecStart=/usr/local/bin/sluice ") || !strings.Contains(string(b), "--config /etc/sluice/sluice.toml") {
			t.Errorf("%s does not run /usr/local/bin/sluice with /etc/sluice/sluice.toml", u)
		}
		if strings.Contains(string(b), "later release") {
			t.Errorf("%s still speaks of a later release", u)
		}
	}

	// An existing configuration is the admin's: a second install keeps it.
	conf := filepath.Join(dest, "etc/sluice/sluice.toml")
	if err := os.WriteFile(conf, []byte("# the admin's\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	install()
	if b, _ := os.ReadFile(conf); string(b) != "# the admin's\n" {
		t.Errorf("make install overwrote an existing /etc/sluice/sluice.toml:\n%s", b)
	}

	checkUnits(t, dest, units)
	checkRuntimeDirs(t, filepath.Join(dest, "usr/local/lib/systemd/system"), filepath.Join(dest, "usr/local/share/doc/sluice/contrib/sluice.toml"))
}

// checkRuntimeDirs: the split units own disjoint runtime directories (so
// stopping one never removes the other's sockets), sluice.service owns
// them all, and every /run path of the shipped configuration lies in a
// runtime directory of the units that create it.
func checkRuntimeDirs(t *testing.T, unitDir, config string) {
	t.Helper()
	dirs := func(unit string) map[string]bool {
		b, err := os.ReadFile(filepath.Join(unitDir, unit))
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]bool{}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "RuntimeDirectory="); ok {
				for _, d := range strings.Fields(v) {
					m[d] = true
				}
			}
		}
		return m
	}
	milter, learner, serve := dirs("sluice-milter.service"), dirs("sluice-learner.service"), dirs("sluice.service")
	for d := range milter {
		if learner[d] {
			t.Errorf("sluice-milter and sluice-learner share RuntimeDirectory=%s: stopping one deletes the other's sockets", d)
		}
	}
	for _, m := range []map[string]bool{milter, learner} {
		for d := range m {
			if !serve[d] {
				t.Errorf("sluice.service lacks RuntimeDirectory=%s", d)
			}
		}
	}
	b, _ := os.ReadFile(config)
	paths := regexp.MustCompile(`"(?:unix:)?/run/([^/"]+)/[^"]*"`).FindAllStringSubmatch(string(b), -1)
	if len(paths) < 4 { // learner and feed sockets, Sendmail's and Exim's
		t.Errorf("sluice.toml names %d paths in /run, want at least 4: %q", len(paths), paths)
	}
	for _, p := range paths {
		if !serve[p[1]] || !(milter[p[1]] || learner[p[1]] || p[1] == "sluice-spamd") {
			t.Errorf("sluice.toml's %s is in no unit's runtime directory", p[0])
		}
	}
}

// checkUnits runs systemd-analyze verify and security (offline) on the
// installed units, with ExecStart pointing at the installed binary:
// verify must say nothing, and no unit may score above 4.0 exposure.
func checkUnits(t *testing.T, dest string, units []string) {
	t.Helper()
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("SLUICE_E2E") == "1" {
			t.Fatal("needs systemd-analyze (apt-get install systemd); SLUICE_E2E=1 requires it")
		}
		t.Skip("needs systemd-analyze (apt-get install systemd)")
	}
	dir := t.TempDir()
	exposure := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`)
	for _, u := range units {
		b, _ := os.ReadFile(u)
		// verify checks that ExecStart's program exists: the installed one.
		s := strings.ReplaceAll(string(b), "/usr/local/bin/sluice", filepath.Join(dest, "usr/local/bin/sluice"))
		path := filepath.Join(dir, filepath.Base(u))
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(sa, "verify", "--man=no", path).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "" {
			t.Errorf("systemd-analyze verify %s: %v\n%s", filepath.Base(u), err, out)
		}
		out, _ = exec.Command(sa, "security", "--offline=true", path).CombinedOutput()
		m := exposure.FindSubmatch(out)
		if m == nil {
			t.Errorf("systemd-analyze security %s: no exposure level\n%s", filepath.Base(u), out)
			continue
		}
		score, _ := strconv.ParseFloat(string(m[1]), 64)
		if score > 4.0 {
			t.Errorf("systemd-analyze security %s: exposure %.1f, above 4.0\n%s", filepath.Base(u), score, out)
		}
		t.Logf("systemd-analyze security %s: %.1f", filepath.Base(u), score)
	}
	// The drop-ins, where their comments say they go, loaded as systemd
	// would load them (from the unit path).
	doc := filepath.Join(dest, "usr/local/share/doc/sluice/contrib/systemd")
	for unit, dropins := range map[string][]string{
		"sluice-milter.service": {"postfix-chroot.conf"},
		"sluice.service":        {"postfix-chroot.conf", "exim-socket.conf"},
	} {
		d := filepath.Join(dir, unit+".d")
		os.MkdirAll(d, 0o755)
		for _, f := range dropins {
			b, err := os.ReadFile(filepath.Join(doc, f))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(d, f), b, 0o644)
		}
		cmd := exec.Command(sa, "verify", "--man=no", unit)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "SYSTEMD_UNIT_PATH="+dir+":")
		if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "" {
			t.Errorf("systemd-analyze verify %s with %v: %v\n%s", unit, dropins, err, out)
		}
	}
}

// TestMakeDeb builds the Debian package (make deb, dpkg-deb only) and
// checks its control fields, its conffile, and that its tree is the
// install with PREFIX=/usr: the units run /usr/bin/sluice, the Dovecot
// scripts call it, the binary is static.
func TestMakeDeb(t *testing.T) {
	for _, b := range []string{"make", "dpkg-deb"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("needs %s", b)
		}
	}
	dir := t.TempDir()
	deb := filepath.Join(dir, "sluice.deb")
	out, err := exec.Command("make", "-C", "../..", "deb", "DEBROOT="+filepath.Join(dir, "root"), "DEB="+deb,
		"BIN="+filepath.Join(dir, "sluice"), "MAN="+filepath.Join(dir, "sluice.1")).CombinedOutput()
	if err != nil {
		t.Fatalf("make deb: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "dpkg-deb: warning") {
		t.Errorf("dpkg-deb warned:\n%s", out)
	}
	field := func(name string) string {
		b, err := exec.Command("dpkg-deb", "-f", deb, name).Output()
		if err != nil {
			t.Fatalf("dpkg-deb -f %s: %v", name, err)
		}
		return strings.TrimSpace(string(b))
	}
	if field("Package") != "sluice" || !regexp.MustCompile(`^[0-9]`).MatchString(field("Version")) || field("Maintainer") == "" || field("Architecture") == "" {
		t.Errorf("control fields: Package %q Version %q Maintainer %q Architecture %q", field("Package"), field("Version"), field("Maintainer"), field("Architecture"))
	}
	ctl := filepath.Join(dir, "control")
	if out, err := exec.Command("dpkg-deb", "-e", deb, ctl).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -e: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(ctl, "conffiles")); strings.TrimSpace(string(b)) != "/etc/sluice/sluice.toml" {
		t.Errorf("conffiles: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(ctl, "postinst")); !strings.Contains(string(b), "groupadd --system sluice-learn") || !strings.Contains(string(b), "useradd --system") {
		t.Errorf("postinst does not create the user and group:\n%s", b)
	}
	tree := filepath.Join(dir, "tree")
	if out, err := exec.Command("dpkg-deb", "-x", deb, tree).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -x: %v\n%s", err, out)
	}
	for _, f := range []string{"usr/bin/sluice", "usr/share/man/man1/sluice.1", "etc/sluice/sluice.toml",
		"lib/systemd/system/sluice.service", "usr/share/doc/sluice/contrib/systemd/postfix-chroot.conf"} {
		if _, err := os.Stat(filepath.Join(tree, f)); err != nil {
			t.Errorf("the package lacks /%s", f)
		}
	}
	if _, err := os.Stat(filepath.Join(tree, "usr/share/doc/sluice/contrib/deb")); err == nil {
		t.Error("the packaging files are installed as documentation")
	}
	unit, _ := os.ReadFile(filepath.Join(tree, "lib/systemd/system/sluice.service"))
	script, _ := os.ReadFile(filepath.Join(tree, "usr/share/doc/sluice/contrib/dovecot/sluice-learn-spam.sh"))
	if !strings.Contains(string(unit), "ExecStart=/usr/bin/sluice serve") || !strings.Contains(string(script), "SLUICE=/usr/bin/sluice\n") {
		t.Errorf("the package's unit or Dovecot script does not call /usr/bin/sluice")
	}
	ef, err := elf.Open(filepath.Join(tree, "usr/bin/sluice"))
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the packaged binary is dynamically linked")
		}
	}
}
