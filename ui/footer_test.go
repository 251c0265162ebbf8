package ui

import (
	"context"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/logs"
	"github.com/opsui/opsui/themes"
	runview "github.com/opsui/opsui/ui/run"
)

// footerApp is a console with every action wired, at width w.
func footerApp(t *testing.T, w int, readOnly bool) App {
	t.Helper()
	f := sampleFleet(t)
	list, load := recordedStore()
	follow := func(ctx context.Context, _ *inventory.Fleet, _ []inventory.Host, _ func(logs.Line)) error {
		<-ctx.Done()
		return ctx.Err()
	}
	a := New(Options{Theme: themes.Dark().WithoutColor(), ReadOnly: readOnly, Exec: scriptedExec(nil, 1), Logs: follow,
		ListRuns: list, LoadRun: load, Flows: newFakeFlows(f).fns(),
		LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil }})
	return send(t, a, a.Init()(), tea.WindowSizeMsg{Width: w, Height: 24})
}

func lastLine(a App) string {
	v := viewText(a)
	return strings.TrimRight(v[strings.LastIndex(v, "\n")+1:], " ")
}

// The fleet's footer names the main actions, drops the least important
// first as the terminal narrows, and never drops ? (issue 18, item 14).
func TestFleetFooterShortensByRank(t *testing.T) {
	for _, c := range []struct {
		w         int
		want, not []string
	}{
		{200, []string{"d deploy", "r rollback", "L logs", "R releases", "x run", "/ filter", "P past runs", "? help", "q quit"}, nil},
		{80, []string{"d deploy", "r rollback", "L logs", "R releases", "x run", "? help", "q quit"}, []string{"enter detail"}},
		{50, []string{"d deploy", "r rollback", "x run", "? help", "q quit"}, []string{"R releases", "/ filter"}},
		{30, []string{"d deploy", "? help", "q quit"}, []string{"r rollback"}},
		{12, []string{"? help"}, []string{"q quit"}},
	} {
		footer := lastLine(footerApp(t, c.w, false))
		for _, s := range c.want {
			if !strings.Contains(footer, s) {
				t.Errorf("%d columns: the footer lacks %q: %q", c.w, s, footer)
			}
		}
		for _, s := range c.not {
			if strings.Contains(footer, s) {
				t.Errorf("%d columns: the footer keeps %q over more important keys: %q", c.w, s, footer)
			}
		}
		if len([]rune(footer)) > c.w {
			t.Errorf("%d columns: the footer is %d wide", c.w, len([]rune(footer)))
		}
	}
	// The order is the footer's, whatever the rank.
	footer := lastLine(footerApp(t, 200, false))
	if d, q := strings.Index(footer, "d deploy"), strings.Index(footer, "q quit"); d < 0 || q < d {
		t.Errorf("order: %q", footer)
	}
}

// Only keys that work now: read-only leaves out what changes hosts.
func TestFleetFooterOffersOnlyKeysThatWork(t *testing.T) {
	footer := lastLine(footerApp(t, 200, true))
	for _, s := range []string{"d deploy", "r rollback", "x run"} {
		if strings.Contains(footer, s) {
			t.Errorf("read-only footer offers %q: %q", s, footer)
		}
	}
	for _, s := range []string{"L logs", "R releases", "? help", "q quit"} {
		if !strings.Contains(footer, s) {
			t.Errorf("read-only footer lacks %q: %q", s, footer)
		}
	}
	// Nothing wired: no flow keys.
	if footer := lastLine(newTestApp(t, 200, 24)); strings.Contains(footer, "deploy") || !strings.Contains(footer, "? help") {
		t.Errorf("footer without flows: %q", footer)
	}
}

// A run's footer offers c cancel while it runs, not once it is over nor
// in a replay (issue 18, item 9).
func TestRunFooterDropsCancelOnceOver(t *testing.T) {
	a := press(t, footerApp(t, 200, false), "x", "uptime", "enter")
	if a.mode != modeRun || !a.run.Feed().Done() {
		t.Fatalf("mode %d", a.mode)
	}
	if f := lastLine(liveRun(a)); !strings.Contains(f, "c cancel") {
		t.Errorf("a live run's footer lacks cancel: %q", f)
	}
	if f := lastLine(a); strings.Contains(f, "c cancel") || !strings.Contains(f, "? help") {
		t.Errorf("a finished run's footer: %q", f)
	}
	a = press(t, a, "?")
	v := viewText(a)
	if !strings.Contains(v, "keys: run 1: summary") || !strings.Contains(v, "cancel the run (off: the run is over)") {
		t.Errorf("help of a finished run:\n%s", v)
	}
	r := press(t, footerApp(t, 200, false), "P", "enter")
	if r.mode != modeRun || !r.replaying {
		t.Fatalf("no replay: mode %d", r.mode)
	}
	if f := lastLine(r); strings.Contains(f, "c cancel") {
		t.Errorf("a replay's footer offers cancel: %q", f)
	}
}

// ? names its view and lists its keys under headings; q closes the help
// and quits from nowhere but the fleet (issue 18, item 9).
func TestHelpIsPerViewAndQClosesIt(t *testing.T) {
	base := footerApp(t, 200, false)
	views := map[string]App{
		"fleet":      base,
		"run view":   liveRun(press(t, base, "x", "uptime", "enter")),
		"past runs":  press(t, base, "P"),
		"replay":     press(t, base, "P", "enter"),
		"logs":       send(t, base, keys("L")...),
		"releases":   send(t, base, keys("R")...),
		"flow":       send(t, base, keys("m")...),
		"run 1: sum": press(t, base, "x", "uptime", "enter"),
	}
	titles := map[string]string{"fleet": "keys: fleet", "run view": "keys: run view", "past runs": "keys: past runs",
		"replay": "keys: replay of a past run", "logs": "keys: logs", "releases": "keys: releases", "flow": "keys: flow",
		"run 1: sum": "keys: run 1: summary"}
	for name, a := range views {
		t.Run(name, func(t *testing.T) {
			t.Cleanup(a.stopLogs)
			mode := a.mode
			a = press(t, a, "?")
			v := viewText(a)
			if !a.showHelp || !strings.Contains(v, titles[name]) || !strings.Contains(v, "move") || !strings.Contains(v, "general") {
				t.Fatalf("help:\n%s", v)
			}
			next, cmd := a.Update(keys("q")[0])
			a = next.(App)
			if cmd != nil {
				if _, quit := cmd().(tea.QuitMsg); quit {
					t.Fatal("q in the help quits")
				}
			}
			if a.showHelp || a.mode != mode {
				t.Errorf("q in the help: help %v, mode %d want %d", a.showHelp, a.mode, mode)
			}
			if name == "fleet" {
				return
			}
			// q outside the help quits nowhere but the fleet.
			if _, cmd := a.Update(keys("q")[0]); cmd != nil {
				if _, quit := cmd().(tea.QuitMsg); quit {
					t.Errorf("q quits from %s", name)
				}
			}
		})
	}
}

// liveRun is a's run view on a run like its last one that has not ended.
func liveRun(a App) App {
	f := a.run.Feed()
	a.run = runview.New(a.ctx, a.keys.runKeys(), runview.NewFeed(f.ID(), f.Command(), f.Hosts()))
	a.layout()
	return a
}
