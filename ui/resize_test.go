package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/themes"
	runview "github.com/opsui/opsui/ui/run"
)

// everyView returns the console in each of its views, the footer text
// each must end with, after a resize to w x h.
func everyView(t *testing.T, w, h int) map[string]App {
	t.Helper()
	f := sampleFleet(t)
	for i := range 30 { // enough hosts for the run list
		f.Hosts = append(f.Hosts, inventory.Host{Name: fmt.Sprintf("app-with-a-long-name-%02d.eu-west-1.example.com", i),
			Address: "10.9.0.1", Env: "production", Roles: []string{"web"}})
	}
	list, load := recordedStore()
	codes := map[string]int{"web2": 3}
	opts := Options{Theme: themes.Dark().WithoutColor(), LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil },
		Exec: func(ctx context.Context, hosts []inventory.Host, cmd string, emit func(remote.Event)) (remote.Result, error) {
			for _, h := range hosts {
				emit(remote.Event{Host: h.Name, Kind: remote.EventStage, Line: "a stage with a rather long name indeed", Step: 4, Steps: 12})
				emit(remote.Event{Host: h.Name, Kind: remote.EventProgress, Bytes: 1 << 30, Total: 3 << 30})
				emit(remote.Event{Host: h.Name, Kind: remote.EventStdout, Line: strings.Repeat("wide output ", 40)})
			}
			return scriptedExec(codes, 2)(ctx, hosts, cmd, emit)
		},
		ListRuns: list, LoadRun: load}
	// Each view starts from a console of its own: copies share the selection.
	fresh := func() App {
		a := New(opts)
		return send(t, a, a.Init()(), tea.WindowSizeMsg{Width: w, Height: h})
	}
	base := fresh()
	views := map[string]App{"fleet": base}
	views["help"] = press(t, base, "?")
	views["filter"] = press(t, base, "/", "web")
	views["detail"] = press(t, base, "enter")
	views["command"] = press(t, base, "x", "uname -n")
	views["notice"] = send(t, base, func() App { b := base; b.notice = strings.Repeat("a long notice ", 20); return b }())
	views["toast"] = send(t, base, runDoneMsg{err: errors.New(strings.Repeat("the store is on fire ", 10))})
	// Production's hosts: its name typed before the command runs.
	views["protected command"] = press(t, fresh(), "/", "production", "enter", "a", "x", "uname -n", "enter")
	views["grid run"] = press(t, fresh(), "/", "eu-west", "enter", "a", "x", "uname -n", "enter", "production", "enter")
	views["grouped run"] = press(t, fresh(), "/", "production", "enter", "a", "x", "uname -n", "enter", "production", "enter")
	views["list run"] = press(t, views["grouped run"], "t") // t: per-host panes
	views["cancel question"] = func() App {
		// The question is asked of a live run: the list run's again, not
		// finished.
		a := views["list run"]
		a.run = runview.New(a.ctx, a.keys.runKeys(), runview.NewFeed(a.run.Feed().ID(), a.run.Feed().Command(), a.run.Feed().Hosts()))
		a.layout()
		return press(t, a, "c")
	}()
	views["past runs"] = press(t, base, "P")
	views["replay"] = press(t, base, "P", "enter")
	d, _ := newQuestionDialog(&question{hostKey: &remote.HostKeyPrompt{Host: "web1", Addr: "10.0.0.1:22", KeyType: "ssh-ed25519",
		Fingerprint: "SHA256:" + strings.Repeat("x", 43)}})
	withDialog := base
	withDialog.dialogs.queue = []dialog{d}
	views["dialog"] = withDialog
	return views
}

// TestEveryViewFitsTheTerminal renders each view at 80x24 and 200x60: no
// line is wider than the terminal, the screen has exactly its height,
// and the footer is on the last line.
func TestEveryViewFitsTheTerminal(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {200, 60}} {
		w, h := size[0], size[1]
		for name, a := range everyView(t, w, h) {
			t.Run(fmt.Sprintf("%dx%d %s", w, h, name), func(t *testing.T) { checkFits(t, a, w, h) })
		}
	}
}

// checkFits checks that a's screen is w x h at most wide, h high, with
// the footer of its mode on the last line.
func checkFits(t *testing.T, a App, w, h int) {
	t.Helper()
	screen := viewText(a)
	lines := strings.Split(screen, "\n")
	if len(lines) != h {
		t.Errorf("%d lines, want %d:\n%s", len(lines), h, screen)
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw > w {
			t.Errorf("line %d is %d wide: %q", i, lw, l)
		}
	}
	footer := lines[len(lines)-1]
	var want []string
	switch {
	case a.mode == modeCommand && a.cmdline.confirm.active:
		want = []string{"enter run once the name is typed"}
	case a.mode == modeCommand:
		want = []string{"command> uname -n"}
	case a.mode == modeFlow:
		b := a.flows.cur.KeyMap()[0].Help()
		want = []string{b.Key + " " + b.Desc}
	case a.notice != "":
		want = []string{"a long notice"}
	case a.mode == modeRun:
		want = []string{"↑/k up", "n next failed"}
	case a.mode == modeRuns:
		want = []string{"↑/k up", "enter open the run"}
	default:
		want = []string{"/ filter", "space select"}
	}
	for _, s := range want {
		if !strings.Contains(footer, s) {
			t.Errorf("the last line is not the footer (%q): %q\n%s", s, footer, screen)
		}
	}
}

// flowViews are the guided flows' views: each reached by its own walk
// (a flow's state is shared by copies of the App) at w x h. A walk waits
// for what it reads to be on the screen: a step's keys act at once, its
// reading (refs, a plan, a run) ends when the view no longer says it reads.
func flowViews(t *testing.T, w, h int) map[string]func(d *driver) {
	t.Helper()
	read := func(d *driver, what string) {
		d.t.Helper()
		d.until("the end of "+what, func(v string) bool { return !strings.Contains(v, what) })
	}
	toRun := func(d *driver) {
		toStaging(d)
		d.press("enter")
		read(d, "reading the repository…")
		d.press("enter")
		read(d, "reading what would change")
		d.press("enter", "right", "right", "enter", "y")
		d.see("y continue")
	}
	toSummary := func(d *driver) {
		toRun(d)
		d.press("y")
		d.see("release R1")
	}
	rollbackTo := func(done string, keys ...string) func(d *driver) {
		return func(d *driver) {
			toSummary(d)
			d.press("r")
			read(d, "reading the plan…")
			d.press(keys...)
			if done != "" {
				d.see(done)
			}
		}
	}
	opFlowTo := func(open, env, done string, keys ...string) func(d *driver) {
		return func(d *driver) {
			d.press(open)
			pickEnv(t, d, env)
			d.press("enter")
			read(d, "reading the plan…")
			d.press(keys...)
			if done != "" {
				d.see(done)
			}
		}
	}
	releases := func(keys ...string) func(d *driver) {
		return func(d *driver) {
			d.press("R", "enter")
			read(d, "reading the releases…")
			d.press(keys...)
		}
	}
	views := map[string]func(d *driver){
		"wizard target": func(d *driver) { toStaging(d) },
		"wizard ref": func(d *driver) {
			toStaging(d)
			d.press("enter")
			read(d, "reading the repository…")
		},
		"wizard run":        toRun,
		"wizard summary":    toSummary,
		"quit question":     func(d *driver) { toRun(d); d.press("q") },
		"rollback plan":     rollbackTo(""),
		"rollback strategy": rollbackTo("", "enter"),
		"rollback confirm":  rollbackTo("", "enter", "enter"),
		"rollback done":     rollbackTo("release R0", "enter", "enter", "y"),
		"migrate plan":      opFlowTo("m", "staging", ""),
		"migrate confirm":   opFlowTo("m", "staging", "", "enter"),
		"migrate done":      opFlowTo("m", "staging", "migrations applied", "enter", "y"),
		"flush plan":        opFlowTo("F", "production", ""),
		"flush confirm":     opFlowTo("F", "production", "", "enter"),
		"flush done":        opFlowTo("F", "staging", "cache1", "enter", "y"),
		"releases list":     releases(),
	}
	views["wizard preview"] = func(d *driver) {
		toStaging(d)
		d.press("enter")
		read(d, "reading the repository…")
		d.press("enter")
		read(d, "reading what would change")
	}
	views["wizard strategy"] = func(d *driver) {
		views["wizard preview"](d)
		d.press("enter", "right", "right")
	}
	views["release forensics"] = func(d *driver) {
		releases("enter")(d)
		read(d, "reading run ")
	}
	views["compare"] = func(d *driver) {
		releases("down", "space", "down", "space", "c")(d)
		read(d, "reading the repository and the runs…")
	}
	views["wizard confirm"] = func(d *driver) {
		views["wizard strategy"](d)
		d.press("enter")
	}
	return views
}

// pickEnv moves an open flow's picker to env.
func pickEnv(t *testing.T, d *driver, env string) {
	t.Helper()
	for range 8 {
		if chosenIs(d, env) {
			return
		}
		d.press("down")
	}
	t.Fatalf("no %s in the picker:\n%s", env, viewText(d.a))
}

// TestEveryFlowViewFitsTheTerminal renders each step of every guided flow
// at 80x24 and 200x60 as TestEveryViewFitsTheTerminal does.
func TestEveryFlowViewFitsTheTerminal(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {200, 60}} {
		w, h := size[0], size[1]
		for name, walk := range flowViews(t, w, h) {
			t.Run(fmt.Sprintf("%dx%d %s", w, h, name), func(t *testing.T) {
				ff := newFakeFlows(sampleFleet(t))
				load := func(_ context.Context, id int64) (ops.RecordedRun, error) {
					return recorded(store.Run{ID: id, Kind: "deploy", Command: strings.Repeat("a long command ", 20)},
						hostOut(store.RunHost{Host: "stg-web1", Status: "ok"}, []ops.OutputChunk{chunk("stdout", strings.Repeat("wide ", 80)+"\n")})), nil
				}
				d := newFlowDriver(t, ff.fns(), load)
				d.send(tea.WindowSizeMsg{Width: w, Height: h})
				walk(d)
				d.settle()
				if d.a.mode != modeFlow {
					t.Fatalf("not in a flow: mode %v", d.a.mode)
				}
				checkFits(t, d.a, w, h)
			})
		}
	}
}

// A resize while a run is shown keeps the focus and redraws at the new size.
func TestResizeDuringARun(t *testing.T) {
	a := everyView(t, 200, 60)["list run"]
	from := a.run.Focus() // the failed host the groups' cursor was on
	a = press(t, a, "j", "j")
	a = send(t, a, tea.WindowSizeMsg{Width: 80, Height: 24})
	if w, h := a.run.Size(); a.run.Focus() != from+2 || w != 80 || h != 22 {
		t.Errorf("after resize: focus %d size %dx%d", a.run.Focus(), w, h)
	}
}
