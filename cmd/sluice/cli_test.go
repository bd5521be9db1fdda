package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/buildinfo"
	"github.com/sluicemail/sluice/config"
)

// The tests run with the embedded defaults, whatever /etc/sluice holds on
// the machine that runs them.
func TestMain(m *testing.M) {
	os.Setenv(config.PathEnv, "")
	os.Exit(m.Run())
}

func writeFile(t *testing.T, path, data string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Flags go anywhere on the line: after the class and the paths too, and
// nothing is created in the current directory.
func TestFlagsAnywhere(t *testing.T) {
	cwd, dir := t.TempDir(), t.TempDir()
	msg := writeFile(t, filepath.Join(t.TempDir(), "m.eml"), sample(t))
	t.Chdir(cwd)
	code, out, errs := sluice(t, "", "learn", "spam", "--data-dir", dir, msg, "--json")
	if code != 0 || !strings.Contains(out, `"learned":1`) {
		t.Fatalf("learn spam --data-dir D msg --json: exit %d: %s / %s", code, out, errs)
	}
	code, plain, _ := sluice(t, "", "scan", msg, "--data-dir", dir)
	code2, out, errs := sluice(t, "", "scan", msg, "--explain", "--data-dir", dir)
	if code != 0 || code2 != 0 || !strings.Contains(out, "bayes silent") || strings.Contains(plain, "bayes silent") {
		t.Fatalf("scan FILE --explain: exit %d: %s / %s", code2, out, errs)
	}
	if entries, _ := os.ReadDir(cwd); len(entries) != 0 {
		t.Fatalf("the current directory got %v", entries)
	}
	// "--" ends the flags: what follows is a path, even "--json".
	code, _, errs = sluice(t, "", "learn", "spam", "--data-dir", dir, "--", "--json")
	if code == 0 || !strings.Contains(errs, "--json") {
		t.Fatalf("learn spam -- --json: exit %d: %s", code, errs)
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		code, out, errs := sluice(t, "", args...)
		if code != 0 || !strings.HasPrefix(out, "sluice ") || !strings.Contains(out, runtime.Version()) {
			t.Errorf("%v: exit %d: %q / %q", args, code, out, errs)
		}
	}
	code, out, _ := sluice(t, "", "version", "--json")
	var b buildinfo.Info
	if err := json.Unmarshal([]byte(out), &b); code != 0 || err != nil || b.GoVersion != runtime.Version() || b.Version == "" {
		t.Fatalf("version --json: exit %d, %v: %s", code, err, out)
	}
}

// Every command's help is clean: no "(default NaN)", no default said twice.
func TestHelpText(t *testing.T) {
	for _, c := range commands {
		code, _, errs := sluice(t, "", c.name, "--help")
		if code != 0 || !strings.Contains(errs, "usage: sluice "+c.name) {
			t.Errorf("%s --help: exit %d: %s", c.name, code, errs)
		}
		twice := regexp.MustCompile(`\(default[ :][^)]*\).*\(default`)
		if strings.Contains(errs, "NaN") || twice.MatchString(errs) {
			t.Errorf("%s --help is not clean:\n%s", c.name, errs)
		}
	}
}

// Configuration errors reach the admin once prefixed, with file and line,
// without Go type names; the process exits 78 (EX_CONFIG).
func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ toml, want string }{
		{"[milter]\nidle_timeout = 300\n", `bad.toml:2: milter.idle_timeout: 300 has no unit: write a duration such as "300s"`},
		{"[actions]\nreject = \"high\"\n", `bad.toml:2: actions.reject: "high" is not a number`},
		{"[actions]\nadd_header = 20\nreject = 10\n", `bad.toml:3: actions.reject: actions.add_header = 20 must be below actions.reject = 10`},
	} {
		path := writeFile(t, filepath.Join(dir, "bad.toml"), tt.toml)
		code, _, errs := sluice(t, "", "config", "--config", path)
		if code != 78 || !strings.Contains(errs, tt.want) || strings.Contains(errs, "config: config") ||
			strings.Contains(errs, "float64") || strings.Count(errs, "sluice config:") != 1 {
			t.Errorf("%q: exit %d: %s", tt.toml, code, errs)
		}
	}
}

// One configuration for every caller: $SLUICE_CONFIG (standing in for
// /etc/sluice/sluice.toml) names data_dir, and `sluice learn` with no
// flags learns there.
func TestDefaultConfigFile(t *testing.T) {
	dir, msg := t.TempDir(), sample(t)
	t.Chdir(t.TempDir())
	cfgPath := writeFile(t, filepath.Join(t.TempDir(), "sluice.toml"), "data_dir = \""+dir+"\"\n")
	t.Setenv(config.PathEnv, cfgPath)
	code, out, errs := sluice(t, msg, "learn", "spam")
	if code != 0 || !strings.Contains(out, "1 learned") || !strings.Contains(out, "via direct") {
		t.Fatalf("learn: exit %d: %s / %s", code, out, errs)
	}
	if tot := totalsOf(t, dir); tot.Spam != 1 {
		t.Fatalf("totals in the configured data_dir: %+v", tot)
	}
}

// `sluice learn` never creates a data directory: none there, no learner,
// no spool it may use: exit 75 and nothing left behind.
func TestLearnCreatesNoDataDir(t *testing.T) {
	cwd, msg := t.TempDir(), sample(t)
	t.Chdir(cwd)
	code, out, errs := sluice(t, msg, "learn", "spam")
	// A real failure is an error on stderr, what Dovecot logs.
	if code != exitTempFail || !strings.Contains(errs, "not learned and not spooled") {
		t.Fatalf("exit %d, want %d: %s / %s", code, exitTempFail, out, errs)
	}
	if entries, _ := os.ReadDir(cwd); len(entries) != 0 {
		t.Fatalf("sluice learn left %v in the current directory", entries)
	}
	// No data directory, but a configured spool elsewhere (writable by
	// the mail users' group): the message is queued there.
	spool := filepath.Join(t.TempDir(), "spool")
	if err := os.Mkdir(spool, 0o770); err != nil {
		t.Fatal(err)
	}
	cfgPath := writeFile(t, filepath.Join(t.TempDir(), "sluice.toml"), "data_dir = \"/nonexistent/sluice\"\n[learner]\nspool_dir = \""+spool+"\"\n")
	code, out, errs = sluice(t, msg, "learn", "--config", cfgPath, "spam")
	if queued, _ := os.ReadDir(spool); code != 0 || !strings.Contains(out, "1 spooled in "+spool) || errs != "" || len(queued) != 1 {
		t.Fatalf("spool without a data directory: exit %d, %d queued: %s%s", code, len(queued), out, errs)
	}
	if _, err := os.Stat("/nonexistent/sluice"); err == nil {
		t.Fatal("the data directory was created")
	}
	// The configured data directory exists but the statfile may not be
	// written there (another user's): the spool takes it.
	if os.Geteuid() == 0 {
		return // root writes anywhere
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "spool"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	code, out, errs = sluice(t, msg, "learn", "spam", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "1 spooled in ") || errs != "" {
		t.Fatalf("read-only data directory: exit %d: %s%s", code, out, errs)
	}
}

// Every --json output has snake_case keys (stat --json had PascalCase).
func TestJSONSnakeCase(t *testing.T) {
	dir, lists := t.TempDir(), t.TempDir()
	writeEvalLists(t, lists, 12)
	msg := writeFile(t, filepath.Join(t.TempDir(), "m.eml"), sample(t))
	outputs := map[string]string{}
	for _, args := range [][]string{
		{"learn", "--data-dir", dir, "spam", msg},
		{"stat", "--data-dir", dir},
		{"scan", "--data-dir", dir, "--explain", msg},
		{"tokens", msg},
		{"version"},
		{"eval", "--train", filepath.Join(lists, "train.list"), "--test", filepath.Join(lists, "test.list")},
	} {
		code, out, errs := sluice(t, "", append(args, "--json")...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		outputs[args[0]] = out
	}
	snake := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	symbol := regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`) // symbol names are data: BAYES_SPAM
	for cmd, out := range outputs {
		var tree any
		if err := json.Unmarshal([]byte(out), &tree); err != nil {
			t.Fatalf("%s: %v: %s", cmd, err, out)
		}
		var check func(any)
		check = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				for k, e := range v {
					if !snake.MatchString(k) && !symbol.MatchString(k) {
						t.Errorf("%s --json: key %q is not snake_case", cmd, k)
					}
					check(e)
				}
			case []any:
				for _, e := range v {
					check(e)
				}
			}
		}
		check(tree)
	}
	for _, want := range []string{`"bytes_per_token"`, `"applied_seq"`, `"shared":{"ham":0,"spam":1}`} {
		if !strings.Contains(outputs["stat"], want) {
			t.Errorf("stat --json lacks %s: %s", want, outputs["stat"])
		}
	}
}

// learn refuses what is not mail (/etc/passwd was learned as spam), names
// every file it refused, follows symlinks, and learns only the Maildir
// folder it is given unless --recursive.
func TestLearnInputs(t *testing.T) {
	in := t.TempDir()
	msg := sample(t)
	other := strings.Replace(msg, "Subject:", "Subject: another", 1)
	writeFile(t, filepath.Join(in, "Maildir", "cur", "1.eml"), msg)
	writeFile(t, filepath.Join(in, "Maildir", "new", "2.eml"), other)
	writeFile(t, filepath.Join(in, "Maildir", ".Junk", "cur", "3.eml"), strings.Replace(msg, "Subject:", "Subject: junk", 1))
	passwd := writeFile(t, filepath.Join(in, "passwd"), "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")
	notes := writeFile(t, filepath.Join(in, "notes.txt"), "shopping list\n- eggs\n")
	link := filepath.Join(in, "link.eml")
	if err := os.Symlink(filepath.Join(in, "Maildir", "cur", "1.eml"), link); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	code, out, errs := sluice(t, "", "learn", "--data-dir", dir, "--json", "ham", filepath.Join(in, "Maildir"))
	var s learnSummary
	if err := json.Unmarshal([]byte(out), &s); code != 0 || err != nil || s.Learned != 2 || !strings.Contains(errs, "1 subfolders not learned") {
		t.Fatalf("Maildir: exit %d, %+v: %s", code, s, errs)
	}
	code, out, _ = sluice(t, "", "learn", "--data-dir", dir, "--json", "--recursive", "ham", filepath.Join(in, "Maildir"))
	if err := json.Unmarshal([]byte(out), &s); code != 0 || err != nil || s.Learned != 1 || s.AlreadyLearned != 2 {
		t.Fatalf("Maildir --recursive: exit %d, %+v", code, s)
	}
	code, out, _ = sluice(t, "", "learn", "--data-dir", dir, "--json", "ham", link)
	if err := json.Unmarshal([]byte(out), &s); code != 0 || err != nil || s.AlreadyLearned != 1 {
		t.Fatalf("symlink: exit %d, %+v", code, s)
	}

	code, out, errs = sluice(t, "", "learn", "--data-dir", dir, "--json", "spam", passwd, notes, link)
	if err := json.Unmarshal([]byte(out), &s); code != exitDataErr || err != nil || s.NotMessages != 2 || s.Relearned != 1 {
		t.Fatalf("passwd, notes, link: exit %d, %+v: %s", code, s, errs)
	}
	for _, want := range []string{passwd + ": not a mail message", notes + ": not a mail message", "2 inputs refused"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	code, _, errs = sluice(t, "root:x:0:0:root:/root:/bin/bash\n", "learn", "--data-dir", dir, "spam")
	if code != exitDataErr || !strings.Contains(errs, "not a mail message") {
		t.Fatalf("passwd on stdin: exit %d: %s", code, errs)
	}
}
