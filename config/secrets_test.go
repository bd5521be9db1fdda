package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPasswordFileValidation(t *testing.T) {
	for _, tc := range []struct {
		name, toml, wantErr string
	}{
		{"file alone", "[learner]\nhttp_listen = 'inet:192.0.2.1:11334'\npassword_file = '/etc/sluice/learner.password'\n", ""},
		{"both", "[learner]\npassword = 'x'\npassword_file = '/etc/sluice/learner.password'\n", "learner.password_file: set password or password_file, not both"},
		{"relative", "[spamd]\npassword_file = 'spamd.password'\n", `spamd.password_file: "spamd.password" is not an absolute path`},
		{"spamd off loopback with file", "[spamd]\nlisten = 'inet:192.0.2.1:11333'\nallow_learn = true\npassword_file = '/etc/sluice/spamd.password'\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("sluice.toml", []byte(tc.toml))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Parse error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestReadSecrets(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, file, want, wantErr string
	}{
		{"first line", write("ok", "s3cret\r\nignored\n"), "s3cret", ""},
		{"no newline", write("bare", "s3cret"), "s3cret", ""},
		{"empty", write("empty", "\nx\n"), "", "learner.password_file: " + filepath.Join(dir, "empty") + ": the first line is empty"},
		{"too big", write("big", strings.Repeat("x", maxSecretFile+1)), "", "not a password file"},
		{"missing", filepath.Join(dir, "missing"), "", "learner.password_file: read the password: open " + filepath.Join(dir, "missing")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Default()
			cfg.Learner.PasswordFile = tc.file
			err := cfg.ReadSecrets()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ReadSecrets error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Learner.Password != tc.want {
				t.Fatalf("password %q, want %q", cfg.Learner.Password, tc.want)
			}
		})
	}
	cfg := Default()
	if err := cfg.ReadSecrets(); err != nil || cfg.Learner.Password != "" || cfg.Spamd.Password != "" {
		t.Fatalf("no files: err %v, passwords %q %q", err, cfg.Learner.Password, cfg.Spamd.Password)
	}
}
