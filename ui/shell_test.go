package ui

import (
	"context"
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
