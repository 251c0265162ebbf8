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
	logsview "github.com/opsui/opsui/ui/logs"
)

// openTestLogs opens the console's logs view on the focused host, without
// running the follow.
func openTestLogs(t *testing.T) App {
	t.Helper()
	f := sampleFleet(t)
	fn := func(ctx context.Context, _ *inventory.Fleet, _ []inventory.Host, _ func(logs.Line)) error {
		<-ctx.Done()
		return ctx.Err()
	}
	a := New(Options{Theme: themes.Dark().WithoutColor(), Logs: fn,
		LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil }})
	a = send(t, a, a.Init()(), tea.WindowSizeMsg{Width: 120, Height: 30})
	next, _ := a.Update(keys("L")[0])
	a = next.(App)
	if a.logs.view == nil {
		t.Fatal("L did not open the logs view")
	}
	t.Cleanup(a.stopLogs)
	return a
}

// typeLogs sends key presses and returns the last command.
func typeLogs(t *testing.T, a App, msgs ...tea.Msg) (App, tea.Cmd) {
	t.Helper()
	var cmd tea.Cmd
	for _, m := range msgs {
		var next tea.Model
		next, cmd = a.Update(m)
		a = next.(App)
	}
	return a, cmd
}

func footerText(a App) string {
	s := viewText(a)
	return s[strings.LastIndex(s, "\n")+1:]
}

func TestLogsSaveFromTheConsole(t *testing.T) {
	a := openTestLogs(t)
	v := a.logs.view
	for i, s := range []string{"GET / 200", "ERROR boom"} {
		v.Add(logs.Line{Host: "web1", File: "/var/log/app.log", Time: logsT0.Add(time.Duration(i) * time.Second), Text: s})
	}
	v.Add(logs.Line{Host: "web1", File: "/var/log/app.log", Time: logsT0.Add(2 * time.Second), Text: "reconnected", Kind: logs.KindReconnected})
	a = send(t, a, logsview.TickMsg{ID: v.ID()})
	dir := t.TempDir()
	path := filepath.Join(dir, "out.log")
	clearLine := tea.KeyPressMsg(tea.Key{Code: 'u', Mod: tea.ModCtrl})

	// S proposes a path (the ? help names it); esc cancels.
	if a, _ = typeLogs(t, a, keys("?")...); !strings.Contains(squeezeSpaces(viewText(a)), "S save to a file") {
		t.Errorf("help lacks the save key:\n%s", viewText(a))
	}
	a, _ = typeLogs(t, a, keys("?")...)
	a, _ = typeLogs(t, a, keys("S")...)
	if got := footerText(a); !strings.Contains(got, "save all lines to> ./opsui-logs-") || !strings.Contains(got, ".log") {
		t.Errorf("save prompt: %q", got)
	}
	if a, _ = typeLogs(t, a, keys("esc")...); v.Typing() || a.mode != modeLogs {
		t.Errorf("esc: typing %v mode %d", v.Typing(), a.mode)
	}

	// enter saves in a command: the merged stream, with times and host.
	a, cmd := typeLogs(t, a, append(append(keys("S"), clearLine), keys(path, "enter")...)...)
	if cmd == nil {
		t.Fatal("enter gave no command")
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("the file was written in Update")
	}
	a = send(t, a, cmd())
	want := "2026-11-23T10:00:00.000Z web1 | GET / 200\n2026-11-23T10:00:01.000Z web1 | ERROR boom\n2026-11-23T10:00:02.000Z web1 | -- reconnected --\n"
	if got, err := os.ReadFile(path); err != nil || string(got) != want {
		t.Errorf("saved %q %v, want %q", got, err, want)
	}
	if got := viewText(a); !strings.Contains(got, "saved 3 lines to "+path) {
		t.Errorf("no toast:\n%s", got)
	}

	// An existing file: asked, No by default.
	v.Add(logs.Line{Host: "web1", File: "/var/log/app.log", Time: logsT0.Add(3 * time.Second), Text: "later"})
	a, cmd = typeLogs(t, a, append(append(keys("S"), clearLine), keys(path, "enter")...)...)
	a = send(t, a, cmd())
	if got := footerText(a); !strings.Contains(got, path+" exists: overwrite it? y/N") {
		t.Errorf("no overwrite question: %q", got)
	}
	if a, cmd = typeLogs(t, a, keys("enter")...); cmd != nil || v.Typing() || !strings.Contains(viewText(a), "not saved") {
		t.Errorf("enter did not decline (typing %v)", v.Typing())
	}
	if got, _ := os.ReadFile(path); string(got) != want {
		t.Errorf("declined, yet the file changed: %q", got)
	}
	a, cmd = typeLogs(t, a, append(append(keys("S"), clearLine), keys(path, "enter")...)...)
	a = send(t, a, cmd())
	a, cmd = typeLogs(t, a, keys("y")...)
	a = send(t, a, cmd())
	if got, _ := os.ReadFile(path); !strings.HasSuffix(string(got), "web1 | later\n") {
		t.Errorf("y did not overwrite: %q", got)
	}

	// A failure says why.
	a, cmd = typeLogs(t, a, append(append(keys("S"), clearLine), keys(filepath.Join(dir, "no", "such.log"), "enter")...)...)
	a = send(t, a, cmd())
	if got := a.toasts.items[len(a.toasts.items)-1].text; !strings.HasPrefix(got, "logs not saved: open ") || !strings.Contains(got, "no such file") {
		t.Errorf("failure toast %q", got)
	}
}

func squeezeSpaces(s string) string { return strings.Join(strings.Fields(s), " ") }
