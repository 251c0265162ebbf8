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
	"github.com/opsui/opsui/ops/logs"
	"github.com/opsui/opsui/themes"
)

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
	for _, want := range []string{"!/X run", "H past runs", "f1 help"} {
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

// The logs view's keys are actions of the config file too, checked for
// conflicts in the logs view, and shown by its footer and help.
func TestLogsKeysFromTheConfig(t *testing.T) {
	cfg, err := parseConfig("config.yaml", []byte("keys:\n  logs_split: v\n  logs_pause: [p, space]\n  logs_wrap: W\n  up: [up, i]\n  help: f1\n"))
	if err != nil {
		t.Fatal(err)
	}
	km, err := cfg.KeyMap()
	if err != nil {
		t.Fatal(err)
	}
	lk := km.logsKeys()
	if lk.Layout.Help().Key != "v" || lk.Follow.Help().Key != "p/space" || lk.Up.Help().Key != "up/i" || lk.Up.Help().Desc != "up" {
		t.Errorf("logs keys: layout %+v follow %+v up %+v", lk.Layout.Help(), lk.Follow.Help(), lk.Up.Help())
	}
	// Conflicts are checked in the logs view only.
	for _, tc := range []struct{ doc, want string }{
		{"keys:\n  logs_wrap: e\n", `config.yaml:2: key "e" is bound to both logs_wrap and logs_errors (its default; rebind logs_errors too)`},
		{"keys:\n  logs_split: j\n", `config.yaml:2: key "j" is bound to both down and logs_split (its default; rebind down too)`},
		{"keys:\n  logs_search: f1\n  help: f1\n", `config.yaml:3: key "f1" is bound to both help and logs_search`},
	} {
		if _, err := parseConfig("config.yaml", []byte(tc.doc)); err == nil || err.Error() != tc.want {
			t.Errorf("%q: error %v, want %q", tc.doc, err, tc.want)
		}
	}
	if _, err := parseConfig("config.yaml", []byte("keys:\n  logs_split: x\n  logs_filter: d\n")); err != nil {
		t.Errorf("keys of other views are free in the logs view: %v", err)
	}

	// The console with these keys: the view obeys them, and says so.
	f := sampleFleet(t)
	fn := func(ctx context.Context, _ *inventory.Fleet, hosts []inventory.Host, emit func(logs.Line)) error {
		<-ctx.Done()
		return ctx.Err()
	}
	a := New(Options{Theme: themes.Dark().WithoutColor(), Keys: &km, Logs: fn,
		LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil }})
	a = send(t, a, a.Init()(), tea.WindowSizeMsg{Width: 160, Height: 30})
	next, _ := a.Update(keys("L")[0])
	a = next.(App)
	defer a.stopLogs()
	footer := viewText(a)[strings.LastIndex(viewText(a), "\n")+1:]
	for _, want := range []string{"p/space follow/pause", "v merged/split", "W wrap", "f1 help"} {
		if !strings.Contains(footer, want) {
			t.Errorf("footer lacks %q: %q", want, footer)
		}
	}
	if a = press(t, a, "s"); strings.Contains(viewText(a), " · split") {
		t.Error("s still switches the layout")
	}
	if a = press(t, a, "v"); !strings.Contains(viewText(a), " · split") {
		t.Error("v does not switch the layout")
	}
	if a = press(t, a, "f"); strings.Contains(viewText(a), "PAUSED") {
		t.Error("f still pauses")
	}
	if a = press(t, a, "p"); !strings.Contains(viewText(a), "PAUSED") {
		t.Error("p does not pause")
	}
	a = send(t, a, tea.KeyPressMsg(tea.Key{Code: tea.KeyF1}))
	if !a.showHelp || !strings.Contains(viewText(a), "up/i") || !strings.Contains(viewText(a), "v merged/split") {
		t.Errorf("help overlay:\n%s", viewText(a))
	}
}
