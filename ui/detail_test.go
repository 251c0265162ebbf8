package ui

import (
	"context"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/themes"
)

// After a run, the detail pane shows the focused host's last lines under
// the run's number, and reads the host's runs again: the run is in its
// history now, so what the pane had read before is forgotten.
func TestDetailShowsTheLastRunAndReadsRunsAgain(t *testing.T) {
	f := &inventory.Fleet{Hosts: []inventory.Host{{Name: "web1", Address: "10.0.0.1"}, {Name: "web2", Address: "10.0.0.2"}}}
	reads := 0
	lastRuns := func(context.Context, string) ([]ops.HostRun, error) { reads++; return nil, nil }
	a := New(Options{Theme: themes.Dark().WithoutColor(), LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil },
		Exec: scriptedExec(nil, 3), LastRuns: lastRuns})
	next, cmd := a.Update(a.Init()())
	a = runCmds(t, next.(App), cmd)
	a = send(t, a, tea.WindowSizeMsg{Width: 130, Height: 30}) // wide: the pane is always shown
	next, cmd = a.Update(keys("j")[0])
	a = runCmds(t, next.(App), cmd)
	if view := viewText(a); reads != 1 || !strings.Contains(view, "none recorded") || strings.Contains(view, "output of run") {
		t.Fatalf("before the run: %d reads of the last runs\n%s", reads, view)
	}
	a = send(t, a, keys("a", "x", "true")...)
	next, cmd = a.Update(keys("enter")[0])
	a = runCmds(t, next.(App), cmd)
	next, cmd = a.Update(keys("esc")[0])
	a = runCmds(t, next.(App), cmd)
	for _, k := range []string{"k", "j"} { // web1, then web2 again
		next, cmd = a.Update(keys(k)[0])
		a = runCmds(t, next.(App), cmd)
	}
	view := viewText(a)
	if !strings.Contains(view, "output of run 1") || !strings.Contains(view, "web2 line 2") || strings.Contains(view, "web1 line") {
		t.Errorf("the pane after the run does not show web2's output:\n%s", view)
	}
	if reads != 3 {
		t.Errorf("%d reads of the last runs, want 3: web2's before the run, web1's and web2's again after", reads)
	}
}
