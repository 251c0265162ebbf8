package ui

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/themes"
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

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	missing, err := LoadConfig(filepath.Join(dir, "none.yaml"))
	if err != nil || missing.Theme != "" || len(missing.Keys) != 0 {
		t.Errorf("a missing file: %+v %v", missing, err)
	}
	path := filepath.Join(dir, "config.yaml")
	doc := "# mine\ntheme: light\nrefresh: 10s\nkeys:\n  follow: F\n  next_failed: [n, \"]\"]\n  quit: [ctrl+q]\n"
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Theme != "light" || cfg.Refresh != 10*time.Second {
		t.Errorf("theme %q refresh %v", cfg.Theme, cfg.Refresh)
	}
	km, err := cfg.KeyMap()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(km.NextFailed.Keys(), " "); got != "n ]" || km.NextFailed.Help().Key != "n/]" {
		t.Errorf("next_failed: keys %q help %q", got, km.NextFailed.Help().Key)
	}
	if km.Follow.Help().Key != "F" || km.Follow.Help().Desc != "follow output on/off" {
		t.Errorf("follow help %+v", km.Follow.Help())
	}
}

func TestConfigErrorsNameTheFileAndLine(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"malformed", "theme: dark\nkeys:\n\tquit: q\n", ":3: found character that cannot start any token"},
		{"unknown action", "keys:\n  up: k\n  launch: l\n", `:3: unknown action "launch" (known: up, down,`},
		{"key bound twice", "keys:\n  follow: f\n  next_failed: f\n", `:3: key "f" is bound to both next_failed and follow`},
		{"bound to a default", "keys:\n  follow: n\n", `:2: key "n" is bound to both next_failed and follow (its default; rebind next_failed too)`},
		{"unknown setting", "theme: dark\ncolour: red\n", `:2: unknown setting "colour"`},
		{"bad theme", "theme: neon\n", `:1: theme: "neon" is not one of dark, light, high-contrast`},
		{"bad refresh", "refresh: soon\n", `:1: refresh: want a positive duration`},
		{"not a mapping", "- theme\n", `:1: the config is not a mapping`},
		{"empty key", "keys:\n  help: \"\"\n", `:2: help: "" is not a key`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, []byte(tc.doc), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadConfig(path)
			if err == nil || !strings.Contains(err.Error(), path+tc.want) {
				t.Errorf("error %v, want %q", err, path+tc.want)
			}
		})
	}
}

func TestDefaultKeysHaveNoConflict(t *testing.T) {
	km := DefaultKeyMap()
	if c := km.conflicts(); len(c) > 0 {
		t.Errorf("default conflicts: %v", c)
	}
}

// The keys of the config file drive the console, its footer and its help.
func TestOverriddenKeysInFooterAndHelp(t *testing.T) {
	cfg, err := parseConfig("config.yaml", []byte("keys:\n  past_runs: H\n  exec: [\"!\", X]\n  help: f1\n"))
	if err != nil {
		t.Fatal(err)
	}
	km, err := cfg.KeyMap()
	if err != nil {
		t.Fatal(err)
	}
	f := sampleFleet(t)
	list, load := recordedStore()
	a := New(Options{Theme: themes.Dark().WithoutColor(), Keys: &km, ListRuns: list, LoadRun: load,
		LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil }, Exec: scriptedExec(nil, 1)})
	a = send(t, a, a.Init()(), tea.WindowSizeMsg{Width: 160, Height: 30})
	footer := viewText(a)[strings.LastIndex(viewText(a), "\n")+1:]
	for _, want := range []string{"!/X run a command", "H past runs", "f1 help"} {
		if !strings.Contains(footer, want) {
			t.Errorf("footer lacks %q: %q", want, footer)
		}
	}
	if a = press(t, a, "x"); a.mode != modeFleet {
		t.Error("x still runs a command")
	}
	if a = press(t, a, "X"); a.mode != modeCommand {
		t.Error("X does not run a command")
	}
	a = press(t, a, "esc")
	a = send(t, a, tea.KeyPressMsg(tea.Key{Code: tea.KeyF1}))
	if !a.showHelp || !strings.Contains(viewText(a), "H") || !strings.Contains(viewText(a), "!/X") {
		t.Errorf("help overlay:\n%s", viewText(a))
	}
	a = send(t, a, keys("esc")...)
	if a = press(t, a, "H"); a.mode != modeRuns {
		t.Error("H does not open the past runs")
	}
}
