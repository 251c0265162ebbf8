package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigPath(t *testing.T) {
	env := map[string]string{"XDG_CONFIG_HOME": "/x", "HOME": "/home/op"}
	p, err := ConfigPath(func(k string) string { return env[k] })
	if err != nil || p != "/x/opsui/config.yaml" {
		t.Errorf("with XDG_CONFIG_HOME: %q %v", p, err)
	}
	delete(env, "XDG_CONFIG_HOME")
	if p, _ := ConfigPath(func(k string) string { return env[k] }); p != "/home/op/.config/opsui/config.yaml" {
		t.Errorf("default: %q", p)
	}
}

// Headless commands read only the output: section: a console-only setting
// they do not know is not theirs to refuse, a mistake in output: is, with
// its line.
func TestLoadOutputPolicy(t *testing.T) {
	dir := t.TempDir()
	if p, err := LoadOutputPolicy(filepath.Join(dir, "none.yaml")); err != nil || p != (OutputPolicy{}) {
		t.Errorf("a missing file: %+v %v", p, err)
	}
	write := func(doc string) string {
		path := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	p, err := LoadOutputPolicy(write("theme: light\nkeys:\n  follow: F\noutput:\n  record_limit: 1MiB\n  keep: 7d\n  max_size: none\n"))
	if err != nil || p.RecordLimit != 1<<20 || p.KeepFor != 7*24*time.Hour {
		t.Errorf("policy %+v, %v", p, err)
	}
	for doc, want := range map[string]string{
		"output:\n  record_limit: lots\n": "config.yaml:2: output.record_limit",
		"output:\n  keep_for: 7d\n":       `config.yaml:2: unknown output setting "keep_for"`,
		"output: 5\n":                     "config.yaml:1: output: want a mapping",
		"- a\n- b\n":                      "config.yaml:1: the config is not a mapping",
		"output: [\n":                     "config.yaml:",
	} {
		if _, err := LoadOutputPolicy(write(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", doc, err, want)
		}
	}
}

// The database is the flag's, else OPSUI_DB's, else the config file's db:,
// else the default file; a db: opsui cannot use is refused with its line.
func TestResolvePath(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("XDG_DATA_HOME", filepath.Join(dir, "data"))
	t.Setenv("HOME", filepath.Join(dir, "home"))
	t.Setenv("OPSUI_DB", "")
	cfg := filepath.Join(dir, "opsui", "config.yaml")
	if err := os.MkdirAll(filepath.Dir(cfg), 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(doc string) {
		if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	check := func(flag, want string) {
		t.Helper()
		if got, err := ResolvePath(flag); err != nil || got != want {
			t.Errorf("ResolvePath(%q) = %q, %v; want %q", flag, got, err, want)
		}
	}
	check("", filepath.Join(dir, "data", "opsui", "opsui.db"))
	write("theme: dark\ndb: postgres://alice@db.example/opsui?sslmode=require\n")
	check("", "postgres://alice@db.example/opsui?sslmode=require")
	write("db: ~/team.db\n")
	check("", filepath.Join(dir, "home", "team.db"))
	t.Setenv("OPSUI_DB", "postgresql://bob@db2/opsui")
	check("", "postgresql://bob@db2/opsui")
	check("/tmp/mine.db", "/tmp/mine.db")
	t.Setenv("OPSUI_DB", "")
	for doc, want := range map[string]string{
		"theme: dark\ndb: postgres:opsui\n": "config.yaml:2: db: database \"postgres:opsui\": a PostgreSQL URL starts with postgres://",
		"db: mysql://db/opsui\n":            "config.yaml:1: db: database \"mysql://db/opsui\": opsui stores in a SQLite file",
		"db: [a]\n":                         "config.yaml:1: db: want a file path or a postgres:// URL",
	} {
		write(doc)
		if _, err := ResolvePath(""); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", doc, err, want)
		}
	}
}
