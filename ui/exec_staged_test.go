package ui

import (
	"context"
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/themes"
)

var tabKey = tea.KeyPressMsg(tea.Key{Code: tea.KeyTab})

// stepCmds runs cmd once (a batch's commands each, ticks dropped) and
// hands its messages to the console; the commands those return are
// returned, not run, so a test walks a staged run one answer at a time
// (and never waits on a toast's timer).
func stepCmds(t *testing.T, a App, cmd tea.Cmd) (App, tea.Cmd) {
	t.Helper()
	if cmd == nil {
		return a, nil
	}
	var msgs []tea.Msg
	switch m := cmd().(type) {
	case tea.BatchMsg:
		for _, c := range m {
			if c != nil {
				msgs = append(msgs, c())
			}
		}
	default:
		msgs = append(msgs, m)
	}
	var next []tea.Cmd
	for _, m := range msgs {
		if _, tick := m.(runTickMsg); tick || m == nil {
			continue
		}
		n, c := a.Update(m)
		a, next = n.(App), append(next, c)
	}
	return a, tea.Batch(next...)
}

// stagedConsole is a console of six hosts of no environment whose
// commands print a line each and exit with codes[host].
func stagedConsole(t *testing.T, w, h int, codes map[string]int, ran *[]string) App {
	t.Helper()
	f := &inventory.Fleet{}
	for i := range 6 {
		f.Hosts = append(f.Hosts, inventory.Host{Name: fmt.Sprintf("web%02d", i), Address: "10.0.0.1"})
	}
	run := scriptedExec(codes, 1)
	a := New(Options{Theme: themes.Dark().WithoutColor(), LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil },
		Exec: func(ctx context.Context, hosts []inventory.Host, cmd string, emit func(remote.Event)) (remote.Result, error) {
			for _, h := range hosts {
				*ran = append(*ran, h.Name)
			}
			return run(ctx, hosts, cmd, emit)
		}})
	return send(t, a, a.Init()(), tea.WindowSizeMsg{Width: w, Height: h})
}

// fitsScreen fails when the console draws other than h lines or a line
// wider than w.
func fitsScreen(t *testing.T, a App, w, h int) {
	t.Helper()
	lines := strings.Split(viewText(a), "\n")
	if len(lines) != h {
		t.Errorf("%d lines, want %d:\n%s", len(lines), h, viewText(a))
	}
	for i, l := range lines {
		if lw := lipgloss.Width(l); lw > w {
			t.Errorf("line %d is %d wide, want at most %d: %q", i, lw, w, l)
		}
	}
}

// startStagedKeys selects every host, types the command, chooses one host
// first and runs it: the first host's part is done when it returns.
func startStagedKeys(t *testing.T, a App, command string) App {
	t.Helper()
	a = send(t, a, keys("a", "x", command)...)
	a = send(t, a, tabKey)
	if !strings.Contains(viewText(a), "command (web00 first)> "+command) {
		t.Fatalf("tab did not choose one host first:\n%s", viewText(a))
	}
	next, cmd := a.Update(keys("enter")[0])
	a, _ = stepCmds(t, next.(App), cmd)
	return a
}

// Issue 18, item 19: one host first, its result shown, then the other N
// on y; Enter and the moves answer nothing.
func TestStagedCommandRunsOneHostThenTheOthersOnYes(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {200, 60}} {
		var ran []string
		a := startStagedKeys(t, stagedConsole(t, size[0], size[1], nil, &ran), "df -h /")
		view := viewText(a)
		if strings.Join(ran, ",") != "web00" || a.mode != modeRun {
			t.Fatalf("%dx%d: ran on %v first, mode %v", size[0], size[1], ran, a.mode)
		}
		for _, want := range []string{"web00 ended well. y: run on the other 5 hosts · c: abort, they never run",
			"5 hosts: (no output yet) · waiting", "y run on the other 5"} {
			if !strings.Contains(view, want) {
				t.Errorf("%dx%d: lacks %q:\n%s", size[0], size[1], want, view)
			}
		}
		fitsScreen(t, a, size[0], size[1])
		for _, k := range []string{"enter", "j", "k", "t", "t"} {
			next, cmd := a.Update(keys(k)[0])
			a, _ = stepCmds(t, next.(App), cmd)
		}
		if len(ran) != 1 || a.run.Feed().Done() {
			t.Fatalf("%dx%d: a key other than y went on: ran %v", size[0], size[1], ran)
		}
		next, cmd := a.Update(keys("y")[0])
		a, cmd = stepCmds(t, next.(App), cmd) // the answer
		a, _ = stepCmds(t, a, cmd)            // the other hosts' run
		if strings.Join(ran, ",") != "web00,web01,web02,web03,web04,web05" {
			t.Fatalf("%dx%d: ran %v", size[0], size[1], ran)
		}
		res, done := a.run.Feed().Outcome()
		if !done || res.OK != 6 || !strings.Contains(viewText(a), "done: 6 ok") {
			t.Fatalf("%dx%d: done %v, %+v\n%s", size[0], size[1], done, res, viewText(a))
		}
		fitsScreen(t, a, size[0], size[1])
		// The choice was for that command: the next one runs everywhere.
		a = send(t, a, keys("esc", "x")...)
		if !strings.Contains(viewText(a), "command> ") || strings.Contains(viewText(a), "first)>") {
			t.Errorf("the next command line:\n%s", viewText(a))
		}
	}
}

// A failure on the first host stops there: no question, the others
// never run, and a toast says so.
func TestStagedCommandStopsWhenTheFirstHostFails(t *testing.T) {
	var ran []string
	a := startStagedKeys(t, stagedConsole(t, 80, 24, map[string]int{"web00": 1}, &ran), "apt-get -y upgrade")
	view := viewText(a)
	if strings.Join(ran, ",") != "web00" || !a.run.Feed().Done() || a.run.AskingContinue() {
		t.Fatalf("ran %v, done %v\n%s", ran, a.run.Feed().Done(), view)
	}
	if !strings.Contains(view, "run 1: web00 failed, so the other 5 hosts did not run") ||
		!strings.Contains(view, "5 hosts: (no output) · not reached") || !strings.Contains(view, "run 1 (stopped after web00)") {
		t.Fatalf("the failure:\n%s", view)
	}
	fitsScreen(t, a, 80, 24)
}

// c aborts after the first host: the others never run.
func TestStagedCommandAborts(t *testing.T) {
	var ran []string
	a := startStagedKeys(t, stagedConsole(t, 200, 60, nil, &ran), "systemctl restart app")
	next, cmd := a.Update(keys("c")[0])
	a, _ = stepCmds(t, next.(App), cmd) // the answer; its toast's timer not run
	if strings.Join(ran, ",") != "web00" || !a.run.Feed().Done() {
		t.Fatalf("ran %v, done %v", ran, a.run.Feed().Done())
	}
	if view := viewText(a); !strings.Contains(view, "run 1: aborted after web00; the other 5 hosts did not run") ||
		!strings.Contains(view, "run 1 (aborted after web00) · systemctl restart app · done") {
		t.Fatalf("the abort:\n%s", view)
	}
}

// On a protected environment the typed name comes first, and the
// question says the command goes to one host first.
func TestStagedCommandOnProtectedHosts(t *testing.T) {
	f := sampleFleet(t)
	var ran []string
	a := New(Options{Theme: themes.Dark().WithoutColor(), LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil },
		Exec: countingExec(&ran)})
	a = send(t, a, a.Init()(), tea.WindowSizeMsg{Width: 80, Height: 24})
	a = send(t, a, keys("/", "eu-west", "enter", "a", "x", "uptime")...)
	a = send(t, a, tabKey)
	a = send(t, a, keys("enter")...)
	if view := viewText(a); !strings.Contains(view, "one host first: web1 alone, then the other 1 only once you") || len(ran) != 0 {
		t.Fatalf("ran %v; the confirmation:\n%s", ran, view)
	}
	fitsScreen(t, a, 80, 24)
	a = send(t, a, keys("production")...)
	next, cmd := a.Update(keys("enter")[0])
	a, _ = stepCmds(t, next.(App), cmd)
	if strings.Join(ran, ",") != "web1" || !a.run.AskingContinue() {
		t.Fatalf("ran %v, asking %v\n%s", ran, a.run.AskingContinue(), viewText(a))
	}
}

// "Cancel the run?" asked while the first host ran and answered y once
// it had ended well: the others never run.
func TestStagedCommandCancelledWhileAskedAborts(t *testing.T) {
	var ran []string
	a := stagedConsole(t, 80, 24, nil, &ran)
	a = send(t, a, keys("a", "x", "uptime")...)
	a = send(t, a, tabKey)
	next, start := a.Update(keys("enter")[0])
	a = next.(App)
	a = send(t, a, keys("c")...) // the cancel question, the first host still running
	a, _ = stepCmds(t, a, start)
	if !a.run.AskingContinue() {
		t.Fatalf("no question after the first host:\n%s", viewText(a))
	}
	next, cmd := a.Update(keys("y")[0]) // yes, cancel
	a, _ = stepCmds(t, next.(App), cmd)
	if strings.Join(ran, ",") != "web00" || !a.run.Feed().Done() || a.run.AskingContinue() || a.run.Asking() {
		t.Fatalf("ran %v, done %v\n%s", ran, a.run.Feed().Done(), viewText(a))
	}
	if !strings.Contains(viewText(a), "aborted after web00") {
		t.Fatalf("the abort:\n%s", viewText(a))
	}
}

// The host under the cursor, when selected, goes first: the prompt says
// which before anything runs.
func TestStagedCommandStartsWithTheCursorsHost(t *testing.T) {
	var ran []string
	a := stagedConsole(t, 80, 24, nil, &ran)
	a = send(t, a, keys("a", "j", "j", "j", "x", "uptime")...)
	a = send(t, a, tabKey)
	if !strings.Contains(viewText(a), "command (web03 first)> uptime") {
		t.Fatalf("the prompt:\n%s", viewText(a))
	}
	a = send(t, a, tabKey)
	if !strings.Contains(viewText(a), "command> uptime") {
		t.Fatalf("tab again: all at once:\n%s", viewText(a))
	}
	a = send(t, a, tabKey)
	next, cmd := a.Update(keys("enter")[0])
	a, _ = stepCmds(t, next.(App), cmd)
	if strings.Join(ran, ",") != "web03" || !strings.Contains(viewText(a), "web03 ended well") {
		t.Fatalf("ran %v first\n%s", ran, viewText(a))
	}
	next, cmd = a.Update(keys("y")[0])
	a, cmd = stepCmds(t, next.(App), cmd)
	stepCmds(t, a, cmd)
	if strings.Join(ran, ",") != "web03,web00,web01,web02,web04,web05" {
		t.Fatalf("ran %v", ran)
	}
}
