package ui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/themes"
	fleetview "github.com/opsui/opsui/ui/fleet"
)

// recordedStore stands in for the store: two runs, the newest a deploy
// with stage markers and a failed host.
func recordedStore() (func(context.Context, int) ([]store.Run, error), func(context.Context, int64) (ops.RecordedRun, error)) {
	at := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	runs := []store.Run{
		ranAt(store.Run{ID: 8, Kind: "deploy", Operator: "alice", Result: "partial", Summary: "1 failed (1 command-failed), 1 ok"}, at, 95*time.Second),
		ranAt(store.Run{ID: 7, Kind: "exec", Command: "uname -n", Operator: "bob", Result: "ok", Summary: "2 ok"}, at.Add(-time.Hour), time.Second),
	}
	one, two := 0, 2
	recordedRuns := map[int64]ops.RecordedRun{
		8: recorded(runs[0],
			hostOut(store.RunHost{Host: "web1", Status: "ok", Stage: "cleanup", ExitCode: &one, DurationMS: ms(90 * time.Second)}, []ops.OutputChunk{
				chunk("meta", "== unpack\n"), chunk("stdout", "unpacked 120 files\n"), chunk("meta", "== cleanup\n")}),
			hostOut(store.RunHost{Host: "web2", Status: "failed", Stage: "migrate", ExitCode: &two, ErrorClass: "command-failed", Error: "exit status 2",
				DurationMS: ms(95 * time.Second)}, []ops.OutputChunk{chunk("meta", "== migrate\n"),
				chunk("stderr", "progress 10%\rprogress 100%\r\nNo migrations to apply\n")}),
		),
		7: recorded(runs[1], hostOut(store.RunHost{Host: "web1", Status: "ok", ExitCode: &one}, []ops.OutputChunk{chunk("stdout", "web1\n")})),
	}
	list := func(_ context.Context, limit int) ([]store.Run, error) { return runs[:min(limit, len(runs))], nil }
	load := func(_ context.Context, id int64) (ops.RecordedRun, error) {
		r, ok := recordedRuns[id]
		if !ok {
			return ops.RecordedRun{}, errors.New("no such run")
		}
		return r, nil
	}
	return list, load
}

func newPastRunsApp(t *testing.T, w, h int) App {
	t.Helper()
	f := sampleFleet(t)
	list, load := recordedStore()
	a := New(Options{Theme: themes.Dark().WithoutColor(), LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil },
		ListRuns: list, LoadRun: load})
	a = send(t, a, a.Init()(), tea.WindowSizeMsg{Width: w, Height: h})
	return a
}

// press sends key presses, running the commands they return, except
// while text is typed: those are the input's cursor blinking.
func press(t *testing.T, a App, names ...string) App {
	t.Helper()
	for _, m := range keys(names...) {
		next, cmd := a.Update(m)
		a = next.(App)
		if a.mode != modeCommand && !a.fleet.Filtering() {
			a = runCmds(t, a, cmd)
		}
	}
	return a
}

func TestPastRunsReplayInTheRunView(t *testing.T) {
	a := newPastRunsApp(t, 140, 30)
	a = press(t, a, "P")
	if a.mode != modeRuns {
		t.Fatalf("P did not open the past runs (mode %d)", a.mode)
	}
	view := viewText(a)
	for _, want := range []string{"past runs", "run 8", "deploy", "partial", "1m35s", "alice", "run 7", "uname -n · 2 ok · bob"} {
		if !strings.Contains(view, want) {
			t.Errorf("the list lacks %q:\n%s", want, view)
		}
	}
	a = press(t, a, "enter")
	if a.mode != modeRun || !a.replaying {
		t.Fatalf("enter did not replay run 8 (mode %d)", a.mode)
	}
	view = viewText(a)
	for _, want := range []string{"run 8 (recorded", "done: 1 failed (1 command-failed), 1 ok", "elapsed 1m35s",
		"web1 · ok 1m30s · cleanup", "== unpack", "unpacked 120 files",
		"web2 · failed at migrate (exit 2)", "== migrate", "progress 100%", "No migrations to apply"} {
		if !strings.Contains(view, want) {
			t.Errorf("the replay lacks %q:\n%s", want, view)
		}
	}
	if strings.Contains(view, "progress 10%") {
		t.Error("a \\r-rewritten line shows its first state")
	}
	// esc goes back to the list, which opens the next run; esc again to the fleet.
	a = press(t, a, "esc")
	if a.mode != modeRuns {
		t.Fatalf("esc from a replay went to mode %d, want the list", a.mode)
	}
	a = press(t, a, "j", "enter")
	if view := viewText(a); !strings.Contains(view, "run 7") || !strings.Contains(view, "web1 · ok") {
		t.Errorf("run 7:\n%s", view)
	}
	a = press(t, a, "esc", "esc")
	if a.mode != modeFleet {
		t.Errorf("esc esc: mode %d", a.mode)
	}
	if a = press(t, a, "o"); a.mode != modeFleet {
		t.Error("o opened a run though none ran in this session")
	}
}

func TestPastRunsErrorsAndStaleAnswers(t *testing.T) {
	f := sampleFleet(t)
	a := New(Options{Theme: themes.Dark().WithoutColor(), LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil },
		ListRuns: func(context.Context, int) ([]store.Run, error) { return nil, errors.New("database is locked") },
		LoadRun:  func(context.Context, int64) (ops.RecordedRun, error) { return ops.RecordedRun{}, nil }})
	a = send(t, a, a.Init()(), tea.WindowSizeMsg{Width: 100, Height: 20})
	a = press(t, a, "P")
	if view := viewText(a); !strings.Contains(view, "list past runs: database is locked") {
		t.Errorf("the list's error:\n%s", view)
	}
	// Without a store the key says so.
	b := newTestApp(t, 100, 20)
	b = press(t, b, "P")
	if b.mode != modeFleet || !strings.Contains(viewText(b), "past runs are not available here") {
		t.Errorf("P without a store:\n%s", viewText(b))
	}
}

func TestMouseInTheFleetAndTheList(t *testing.T) {
	a := newPastRunsApp(t, 100, 30)
	// Screen: header, column header, "staging · lb · 1", stg-lb1, "staging · web · 1", stg-web1.
	a = send(t, a, tea.MouseClickMsg{X: 5, Y: 5, Button: tea.MouseLeft})
	if got := a.fleet.Focused().Name; got != "stg-web1" {
		t.Errorf("click on stg-web1's row focused %q", got)
	}
	a = send(t, a, tea.MouseClickMsg{X: 5, Y: 4, Button: tea.MouseLeft}) // a group heading
	if got := a.fleet.Focused().Name; got != "stg-web1" {
		t.Errorf("click on a heading moved the focus to %q", got)
	}
	a = send(t, a, tea.MouseWheelMsg{X: 5, Y: 10, Button: tea.MouseWheelDown})
	if got := a.fleet.Focused().Name; got != "stg-db1" {
		t.Errorf("wheel down focused %q", got)
	}
	a = press(t, a, "P")
	a = send(t, a, tea.MouseClickMsg{X: 5, Y: 3, Button: tea.MouseLeft}) // header, title, #8, #7
	if a.past.Cursor() != 1 {
		t.Errorf("click on run 7: cursor %d", a.past.Cursor())
	}
	a = send(t, a, tea.MouseWheelMsg{X: 5, Y: 3, Button: tea.MouseWheelUp})
	if a.past.Cursor() != 0 {
		t.Errorf("wheel up: cursor %d", a.past.Cursor())
	}
	if v := a.View(); v.MouseMode != tea.MouseModeCellMotion {
		t.Error("the view does not ask for the mouse")
	}
}

func TestToastsShowAndExpireWithoutTakingKeys(t *testing.T) {
	a := newTestApp(t, 100, 20)
	next, cmd := a.Update(runDoneMsg{id: 1, err: errors.New("run 1: record run 4: database is locked")})
	a = next.(App)
	if cmd == nil {
		t.Fatal("a toast without a timer")
	}
	lines := strings.Split(viewText(a), "\n")
	last := lines[len(lines)-2] // the body's last line, above the footer
	if !strings.HasSuffix(strings.TrimRight(last, " "), "run 1: record run 4: database is locked") {
		t.Errorf("toast not at the bottom right:\n%s", viewText(a))
	}
	if !strings.Contains(lines[len(lines)-1], "/ filter") {
		t.Errorf("the toast hid the footer: %q", lines[len(lines)-1])
	}
	a = send(t, a, keys("j")...)
	if got := a.fleet.Focused().Name; got != "stg-web1" {
		t.Errorf("a key under a toast did not reach the list: focus %q", got)
	}
	// A probe round chunk that came back empty is a toast too.
	a = send(t, a, fleetview.RoundMsg{Round: 0, Asked: []string{"web1", "web2"}})
	if !strings.Contains(viewText(a), "status probe round failed for 2 hosts: web1, web2") {
		t.Errorf("no toast for a failed probe round:\n%s", viewText(a))
	}
	a = send(t, a, toastExpiredMsg{id: 1}, toastExpiredMsg{id: 2})
	if strings.Contains(viewText(a), "database is locked") || strings.Contains(viewText(a), "probe round failed") {
		t.Errorf("the toasts did not expire:\n%s", viewText(a))
	}
}
