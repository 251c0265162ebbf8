package ui

import (
	"context"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/themes"
)

// lineWith is the first line of view that holds s, "" when none does.
func lineWith(view, s string) string {
	for _, l := range strings.Split(view, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// Issue 18, trap 5: with NO_COLOR the cursor is still seen, as text: a ">"
// on the fleet's, the past runs' and the run list's cursor row, and before
// the focused run pane's title (its border colour alone is lost).
func TestNoColorShowsTheCursorAsText(t *testing.T) {
	f := sampleFleet(t)
	list, load := recordedStore()
	a := New(Options{Theme: themes.Dark().WithoutColor(), LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil },
		Exec: scriptedExec(nil, 1), ListRuns: list, LoadRun: load})
	a = send(t, a, a.Init()(), tea.WindowSizeMsg{Width: 120, Height: 30})

	focused := a.fleet.Focused().Name
	if l := hostRow(t, viewText(a), focused); !strings.HasPrefix(l, "> ") {
		t.Errorf("the fleet's cursor row (%s) has no > marker: %q", focused, l)
	}
	a = press(t, a, "j")
	if next := a.fleet.Focused().Name; !strings.HasPrefix(hostRow(t, viewText(a), next), "> ") ||
		strings.HasPrefix(hostRow(t, viewText(a), focused), "> ") {
		t.Errorf("the > marker did not follow the cursor to %s:\n%s", next, viewText(a))
	}

	past := press(t, a, "P")
	if l := lineWith(viewText(past), "run 8 "); !strings.HasPrefix(l, "> run 8") {
		t.Errorf("past runs: the cursor row has no > marker: %q\n%s", l, viewText(past))
	}

	run := press(t, a, "/", "stg", "enter", "a", "x", "uptime", "enter")
	view := viewText(run)
	marked := 0
	for _, l := range strings.Split(view, "\n") {
		if strings.Contains(l, "> stg-") {
			marked++
		}
	}
	if marked == 0 {
		t.Errorf("the run view shows no focused host or pane without colours:\n%s", view)
	}
	if !strings.Contains(view, "┏") {
		t.Errorf("the focused pane's border is not thick:\n%s", view)
	}
}
