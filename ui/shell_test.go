package ui

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/themes"
)

// s opens a shell on the host under the cursor through Options.Shell, in
// a command that suspends the console; a failed ssh says so in a toast;
// read-only mode and a console without the hook say why it does nothing
// (issue 18, item 16).
func TestShellKeyOpensAShellOnTheFocusedHost(t *testing.T) {
	f := sampleFleet(t)
	var asked []string
	shell := func(h inventory.Host) (*exec.Cmd, error) {
		asked = append(asked, h.Name)
		return exec.Command("sh", "-c", "exit 255"), nil
	}
	open := func(readOnly bool, sh ShellFunc) App {
		a := New(Options{Theme: themes.Dark().WithoutColor(), ReadOnly: readOnly, Shell: sh,
			LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil }})
		return send(t, a, a.Init()(), tea.WindowSizeMsg{Width: 160, Height: 30})
	}
	a := send(t, open(false, shell), keys("j", "j")...)
	focused := a.fleet.Focused().Name
	if !strings.Contains(lastLine(a), "s shell") {
		t.Errorf("the footer lacks s: %q", lastLine(a))
	}
	next, cmd := a.Update(keys("s")[0])
	a = next.(App)
	if len(asked) != 1 || asked[0] != focused || cmd == nil {
		t.Fatalf("s: shell asked for %v (want %s), cmd %v", asked, focused, cmd != nil)
	}
	err := exec.Command("sh", "-c", "exit 255").Run()
	a = send(t, a, shellDoneMsg{host: focused, err: err})
	if v := viewText(a); !strings.Contains(v, "shell on "+focused+": ssh failed") {
		t.Errorf("no toast for a failed ssh:\n%s", v)
	}
	a = send(t, open(true, shell), keys("s")...)
	if len(asked) != 1 || !strings.Contains(a.notice, "read-only") || strings.Contains(lastLine(open(true, shell)), "s shell") {
		t.Errorf("s in read-only mode: asked %v, notice %q", asked, a.notice)
	}
	a = send(t, open(false, nil), keys("s")...)
	if a.notice != "a shell is not available here" {
		t.Errorf("s without a shell: notice %q", a.notice)
	}
}

// :forward HOST PORT [LOCAL] runs the engine's forward for that host in a
// command that suspends the console; bad words say what is wrong; its end
// is a toast (issue 18, item 16).
func TestPaletteForwardsAPort(t *testing.T) {
	f := sampleFleet(t)
	type call struct {
		host        string
		port, local int
	}
	var calls []call
	fw := func(h inventory.Host, port, local int) (*exec.Cmd, error) {
		calls = append(calls, call{h.Name, port, local})
		return exec.Command("true"), nil
	}
	open := func(fw ForwardFunc) App {
		a := New(Options{Theme: themes.Dark().WithoutColor(), Forward: fw, ReadOnly: true,
			LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil }})
		return send(t, a, a.Init()(), tea.WindowSizeMsg{Width: 160, Height: 30})
	}
	db := f.Hosts[0].Name
	a := open(fw)
	for _, line := range []string{"forward " + db + " 5432", "forward " + db + " 5432 15432"} {
		a = send(t, a, keys(":", line)...)
		next, cmd := a.Update(keys("enter")[0])
		a = next.(App)
		if cmd == nil || a.notice != "" {
			t.Fatalf("%s: no command, notice %q", line, a.notice)
		}
	}
	if len(calls) != 2 || calls[0] != (call{db, 5432, 5432}) || calls[1] != (call{db, 5432, 15432}) {
		t.Errorf("calls %+v", calls)
	}
	for line, want := range map[string]string{
		"forward " + db:                 "forward: say which host and port (:forward db1 5432 [local port])",
		"forward " + db + " 99999":      "forward: 99999 is not a port (1-65535)",
		"forward nosuch 5432":           "no host nosuch",
		"forward " + db + " 5432 1 2 3": "forward: say which host and port (:forward db1 5432 [local port])",
	} {
		a = send(t, a, keys(":", line, "enter")...)
		if a.notice != want {
			t.Errorf("%s: notice %q, want %q", line, a.notice, want)
		}
	}
	a = send(t, a, forwardDoneMsg{what: "forward 127.0.0.1:5432 → " + db + ":5432", err: errors.New("exit status 255")})
	if v := viewText(a); !strings.Contains(v, "forward 127.0.0.1:5432 → "+db+":5432 ended (exit status 255)") {
		t.Errorf("no toast:\n%s", v)
	}
	if a = send(t, open(nil), keys(":", "forward "+db+" 5432", "enter")...); a.notice != "port forwarding is not available here" {
		t.Errorf("without the hook: %q", a.notice)
	}
}
