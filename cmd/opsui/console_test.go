package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeConfig puts a config file where the console looks for it.
func writeConfig(t *testing.T, doc string) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	path := filepath.Join(dir, "opsui", "config.yaml")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConsoleConfigFileAndFlags(t *testing.T) {
	writeConfig(t, "theme: light\nrefresh: 9s\nkeys:\n  follow: F\n")
	c := &cli{}
	root := newRootCmd(c)
	if err := root.ParseFlags([]string{"--theme", "high-contrast"}); err != nil {
		t.Fatal(err)
	}
	keys, err := c.consoleConfig(root)
	if err != nil {
		t.Fatal(err)
	}
	if c.theme != "high-contrast" || c.refresh != 9*time.Second {
		t.Errorf("theme %q (the flag wins), refresh %v (the file's)", c.theme, c.refresh)
	}
	if keys.Follow.Help().Key != "F" {
		t.Errorf("follow key %q", keys.Follow.Help().Key)
	}
}

func TestConsoleRefusesABadConfigFile(t *testing.T) {
	path := writeConfig(t, "keys:\n  follow: f\n  frobnicate: d\n")
	db := filepath.Join(t.TempDir(), "opsui.db")
	out, err := opsuiCmd(t, db, "")
	if err == nil || !strings.Contains(err.Error(), path+`:3: unknown action "frobnicate"`) {
		t.Fatalf("error %v\n%s", err, out)
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("the store was opened before the config was read")
	}
}
