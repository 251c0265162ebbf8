package ui

// Whole-program flows: the App runs in a real tea.Program (teatest), keys
// go in as the terminal would send them and the test reads what the program
// wrote. The engine, the flows and the SSH questions are fakes; the real
// thing is tested end to end in cmd/opsui.

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/themes"
)

// startProgram runs the console on the sample fleet at 120x30, without
// colour, opts' callbacks added.
func startProgram(t *testing.T, opts Options) *teatest.TestModel {
	t.Helper()
	f := sampleFleet(t)
	opts.Theme = themes.Dark().WithoutColor()
	opts.LoadFleet = func(context.Context) (*inventory.Fleet, error) { return f, nil }
	tm := teatest.NewTestModel(t, New(opts), teatest.WithInitialTermSize(120, 30))
	// A test that stops early leaves no program running (a no-op when
	// it quit).
	t.Cleanup(func() { tm.Quit() })
	return tm
}

// waitScreen waits until the screen shows every one of want. The renderer
// only writes the cells that changed, so a text already on screen is not
// written again: each check that fails asks for a full repaint
// (tea.ClearScreen), and the checks look at everything written since the
// wait began, escape sequences stripped.
func waitScreen(t *testing.T, tm *teatest.TestModel, want ...string) {
	t.Helper()
	tb := &screenTB{TB: t, want: want}
	tm.Send(tea.ClearScreen())
	teatest.WaitFor(tb, tm.Output(), func(b []byte) bool {
		if i := bytes.LastIndex(b, []byte(clearSeq)); i >= 0 {
			tb.last = ansi.Strip(string(b[i:]))
		}
		text := ansi.Strip(string(b))
		for _, w := range want {
			if !strings.Contains(text, w) {
				tm.Send(tea.ClearScreen())
				return false
			}
		}
		return true
	}, teatest.WithDuration(3*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
}

// clearSeq starts a full repaint.
const clearSeq = "\x1b[2J"

// screenTB keeps WaitFor's failure short: the last full repaint as text
// rather than every byte written during the wait.
type screenTB struct {
	testing.TB
	want []string
	last string
}

func (s *screenTB) Fatal(...any) {
	s.TB.Helper()
	s.TB.Fatalf("the screen never showed all of %q; the last repaint:\n%s", s.want, s.last)
}

// pressKeys sends special keys by name, or text as its characters.
func pressKeys(tm *teatest.TestModel, names ...string) {
	for _, m := range keys(names...) {
		tm.Send(m)
	}
}

// finalApp quits with q (the caller is where q quits) and returns the
// program's last model.
func finalApp(t *testing.T, tm *teatest.TestModel) App {
	t.Helper()
	pressKeys(tm, "q")
	m := tm.FinalModel(t, teatest.WithFinalTimeout(3*time.Second))
	a, ok := m.(App)
	if !ok {
		t.Fatalf("final model is %T", m)
	}
	return a
}

func TestProgramFilterSelectAndRunACommand(t *testing.T) {
	tm := startProgram(t, Options{Exec: scriptedExec(map[string]int{}, 2)})
	waitScreen(t, tm, "10 hosts · 2 environments", "stg-web1", "bastion")

	pressKeys(tm, "/", "web", "enter")
	waitScreen(t, tm, "web1.prod.example.com")
	pressKeys(tm, "a")
	waitScreen(t, tm, "3 selected")
	pressKeys(tm, "x")
	waitScreen(t, tm, "command>")
	pressKeys(tm, "uname -n", "enter")
	// web1 and web2 are production's: its name is asked for.
	waitScreen(t, tm, "Run on 3 hosts?", "type production to confirm")
	pressKeys(tm, "production", "enter")
	waitScreen(t, tm, "run 1 · uname -n · done: 3 ok", "stg-web1 · ok 42ms", "web2 line 1")

	// q is not a key of the run view; esc goes back to the fleet, where it
	// quits.
	pressKeys(tm, "esc")
	waitScreen(t, tm, "HOST")
	a := finalApp(t, tm)
	if got := strings.Join(names(a.fleet.Selected()), ","); got != "stg-web1,web1,web2" {
		t.Errorf("selected %s, want the three web hosts", got)
	}
	if a.run.Feed() == nil {
		t.Fatal("no run")
	}
	res, done := a.run.Feed().Outcome()
	if !done || res.OK != 3 || res.Failed != 0 || a.run.Feed().Command() != "uname -n" {
		t.Errorf("run: done %v, %d ok, %d failed, command %q", done, res.OK, res.Failed, a.run.Feed().Command())
	}
	if ran := a.run.Feed().Hosts(); strings.Join(ran, ",") != "stg-web1,web1,web2" {
		t.Errorf("ran on %v", ran)
	}
}

func TestProgramDeployWizardToTheSummary(t *testing.T) {
	ff := newFakeFlows(sampleFleet(t))
	tm := startProgram(t, Options{Flows: ff.fns()})
	waitScreen(t, tm, "stg-web1")

	pressKeys(tm, "d")
	waitScreen(t, tm, "which app, to which environment?", "> shop → staging")
	pressKeys(tm, "enter")
	waitScreen(t, tm, "ref>", "v1.0")
	pressKeys(tm, "enter") // main, the first ref
	waitScreen(t, tm, "commits it brings (1)", "add checkout")
	pressKeys(tm, "enter")
	waitScreen(t, tm, "auto-rollback", "[all]")
	pressKeys(tm, "enter")
	waitScreen(t, tm, "Deploy shop c2c2c2c2c2c2 (add checkout) to staging", "y confirm")
	pressKeys(tm, "y")
	waitScreen(t, tm, "summary", "release R1: success in 3.0s", "run 42")
	pressKeys(tm, "esc")
	waitScreen(t, tm, "HOST")

	a := finalApp(t, tm)
	if a.mode != modeFleet || a.flows.cur != nil {
		t.Errorf("after esc: mode %v, flow %T", a.mode, a.flows.cur)
	}
	if ff.Count("deploy") != 1 {
		t.Fatalf("deploy called %d times", ff.Count("deploy"))
	}
	// What runs is the preview's plan: its inventory, hosts and commit.
	p := ff.Deployed[0]
	if p.App.Name != "shop" || p.Env.Name != "staging" || p.Source.Branch != "main" || p.Source.Commit != "c2c2c2c2c2c2c2c2" ||
		p.Strategy.Kind != deploy.StrategyAll || len(p.Hosts) != 1 || p.Hosts[0].Name != "stg-web1" || p.Fleet != ff.Previewed[0].Fleet {
		t.Errorf("deployed plan %+v", p)
	}
}

func TestProgramDeployWizardEscLeavesWithoutACall(t *testing.T) {
	ff := newFakeFlows(sampleFleet(t))
	tm := startProgram(t, Options{Flows: ff.fns()})
	waitScreen(t, tm, "stg-web1")

	pressKeys(tm, "d", "enter")
	waitScreen(t, tm, "ref>")
	pressKeys(tm, "enter")
	waitScreen(t, tm, "commits it brings (1)")
	pressKeys(tm, "enter")
	waitScreen(t, tm, "auto-rollback")
	pressKeys(tm, "esc")
	waitScreen(t, tm, "HOST", "10 hosts")

	a := finalApp(t, tm)
	if a.mode != modeFleet || a.flows.cur != nil {
		t.Errorf("esc did not leave the wizard: mode %v, flow %T", a.mode, a.flows.cur)
	}
	if ff.Count("preview") != 1 {
		t.Errorf("the wizard did not reach its preview: %v", ff.Calls)
	}
	if n := ff.Changes(); n != 0 {
		t.Errorf("%d calls that change hosts: %v", n, ff.Calls)
	}
}

func TestProgramHostKeyDialog(t *testing.T) {
	asker := newTestAsker()
	tm := startProgram(t, Options{Asker: asker})
	waitScreen(t, tm, "stg-web1")

	ask := func(p remote.HostKeyPrompt) chan bool {
		ch := make(chan bool, 1)
		go func() {
			ok, err := asker.AcceptHostKey(context.Background(), p)
			if err != nil {
				t.Errorf("AcceptHostKey: %v", err)
			}
			ch <- ok
		}()
		return ch
	}
	answer := func(ch chan bool) bool {
		t.Helper()
		select {
		case ok := <-ch:
			return ok
		case <-time.After(3 * time.Second):
			t.Fatal("the question was not answered")
		}
		return false
	}

	first := remote.HostKeyPrompt{Host: "web1", Addr: "10.0.0.1:22", KeyType: "ssh-ed25519", Fingerprint: "SHA256:refusedrefused"}
	got := ask(first)
	waitScreen(t, tm, "Unknown host key", "SHA256:refusedrefused", "refuse (default)")
	pressKeys(tm, "enter")
	if answer(got) {
		t.Fatal("Enter accepted the key")
	}
	waitScreen(t, tm, "HOST")

	second := remote.HostKeyPrompt{Host: "web2", Addr: "10.0.0.2:22", KeyType: "ssh-ed25519", Fingerprint: "SHA256:acceptedaccepted"}
	got = ask(second)
	waitScreen(t, tm, "Unknown host key", "SHA256:acceptedaccepted")
	pressKeys(tm, "y")
	if !answer(got) {
		t.Fatal("y did not accept the key")
	}
	waitScreen(t, tm, "HOST")

	a := finalApp(t, tm)
	if len(a.dialogs.queue) != 0 {
		t.Errorf("%d dialogs left open", len(a.dialogs.queue))
	}
	// The answers hold for the session: asked again, nothing is shown.
	if ok, err := asker.AcceptHostKey(context.Background(), first); ok || err != nil {
		t.Errorf("refused key asked again: %v %v", ok, err)
	}
	if ok, err := asker.AcceptHostKey(context.Background(), second); !ok || err != nil {
		t.Errorf("accepted key asked again: %v %v", ok, err)
	}
}

func TestProgramQuit(t *testing.T) {
	tm := startProgram(t, Options{})
	waitScreen(t, tm, "stg-web1")
	// q typed in the filter is text: the program goes on.
	pressKeys(tm, "/", "q")
	waitScreen(t, tm, "no hosts match the filter")
	pressKeys(tm, "esc")
	waitScreen(t, tm, "stg-web1")
	a := finalApp(t, tm) // q quits
	if a.fleet.Filtering() || a.fleet.FilterValue() != "" || a.mode != modeFleet {
		t.Errorf("final state: filtering %v, filter %q, mode %v", a.fleet.Filtering(), a.fleet.FilterValue(), a.mode)
	}
}
