package ui

import (
	"context"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/themes"
	flowsview "github.com/opsui/opsui/ui/flows"
)

// newKeyedFlowDriver is newFlowDriver with the bindings of a config file.
func newKeyedFlowDriver(t *testing.T, fns flowsview.Flows, config string, readOnly bool) *driver {
	t.Helper()
	cfg, err := parseConfig("config.yaml", []byte(config))
	if err != nil {
		t.Fatal(err)
	}
	km, err := cfg.KeyMap()
	if err != nil {
		t.Fatal(err)
	}
	fl := sampleFleet(t)
	a := New(Options{Theme: themes.Dark().WithoutColor(), LoadFleet: func(context.Context) (*inventory.Fleet, error) { return fl, nil },
		Flows: fns, Keys: &km, ReadOnly: readOnly})
	a = send(t, a, a.Init()(), tea.WindowSizeMsg{Width: 140, Height: 40})
	return &driver{t: t, a: a, msgs: make(chan tea.Msg, 256)}
}

// ctrlKey is ctrl+r pressed.
func ctrlKey(r rune) tea.KeyPressMsg { return tea.KeyPressMsg(tea.Key{Code: r, Mod: tea.ModCtrl}) }

// flowKeysConfig rebinds every key the flows and the wizard used to match
// as a literal.
const flowKeysConfig = `keys:
  field_up: ctrl+p
  field_down: ctrl+n
  choice_prev: "<"
  choice_next: ">"
  toggle: t
  apply: ctrl+s
  back: ctrl+b
  close_help: ctrl+x
  confirm: Y
`

// The flows' and the wizard's keys are the key table's, so the config
// file rebinds them: before, they were literals (and the form keys could
// not be rebound), so the defaults kept acting and the new keys did not.
// The flows' own test (ui/flows TestFlowKeysAreTheKeyMaps) walks every
// rebound key of a flow; this one, the config reaching them.
func TestFlowKeysFollowTheConfig(t *testing.T) {
	ff := newFakeFlows(sampleFleet(t))
	d := newKeyedFlowDriver(t, ff.fns(), flowKeysConfig, false)
	toStaging(d)

	// close_help closes the help over a flow; esc no longer does.
	d.press("?", "esc")
	if !d.a.showHelp {
		t.Fatal("esc closed the help; close_help is ctrl+x")
	}
	d.send(ctrlKey('x'))
	if d.a.showHelp {
		t.Fatal("ctrl+x (close_help) left the help shown")
	}

	// The ref list moves with field_up/field_down.
	d.press("enter")
	d.see("main", "v1.0")
	d.send(ctrlKey('n'))
	d.press("enter")
	d.see("commits it brings", "v1.0")

	// The strategy form: choice_next, choice_prev; the arrows are not them.
	d.press("enter")
	d.see("[all]", "auto-rollback", "ctrl+p/ctrl+n field · < > change · enter/tab next")
	d.press(">", ">", "right")
	d.see("[canary]")
	d.press("<")
	d.see("[rolling]")

	// The confirmation: Y confirms; y and apply do not, apply says so.
	d.press("enter")
	// The hints name the keys as bound.
	d.see("Y confirm · ctrl+b leave")
	d.send(ctrlKey('s'))
	d.see("ctrl+s does not confirm: press Y, or ctrl+b to leave")
	d.press("y", "enter")
	if d.settle(); ff.Count("deploy") != 0 {
		t.Fatal("y or enter deployed; confirm is Y")
	}
	// back leaves before the run; esc no longer does.
	d.press("esc")
	if d.a.mode != modeFlow {
		t.Fatal("esc left the wizard; back is ctrl+b")
	}
	d.send(ctrlKey('b'))
	if d.a.mode != modeFleet || ff.Changes() != 0 {
		t.Fatalf("ctrl+b (back): mode %v, %d changes", d.a.mode, ff.Changes())
	}

	// A protected environment: its name typed, then apply.
	d.press("d")
	for i := 0; i < 3 && !chosenIs(d, "production"); i++ {
		d.press("down")
	}
	d.press("enter")
	d.see("main")
	d.press("enter")
	d.see("commits it brings")
	d.press("enter")
	d.see("auto-rollback")
	d.press("enter")
	d.see("type production to confirm")
	d.press("production", "enter")
	if d.settle(); ff.Count("deploy") != 0 {
		t.Fatal("enter confirmed; apply is ctrl+s")
	}
	d.send(ctrlKey('s'))
	d.see("release R1: success")
	d.send(ctrlKey('b'))

	// A flow's plan: toggle includes or leaves out.
	d.press("F")
	for i := 0; i < 3 && !chosenIs(d, "production"); i++ {
		d.press("down")
	}
	d.press("enter")
	d.see("cache hosts (t leaves one out)", "[x] cache1", "[x] cache2")
	d.press("down", "space")
	d.see("[x] cache2")
	d.press("t")
	d.see("[ ] cache2")
}

// toStaging opens the wizard and puts the cursor on shop → staging.
func toStaging(d *driver) {
	d.press("d")
	d.see("which app, to which environment?", "shop → staging", "shop → production (protected)")
	for i := 0; i < 3 && !chosenIs(d, "staging"); i++ {
		d.press("up")
	}
}

// chosenIs reports whether the flow's picker has its cursor on env.
func chosenIs(d *driver, env string) bool {
	for _, l := range strings.Split(viewText(d.a), "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "> ") && (strings.HasPrefix(l, "> "+env) || strings.Contains(l, "→ "+env)) {
			return true
		}
	}
	return false
}

// The quit question under a running flow is answered by confirm, as
// rebound; anything else goes on.
func TestQuitQuestionFollowsTheConfig(t *testing.T) {
	ff := newFakeFlows(sampleFleet(t))
	fns, ended := endedWith(ff.fns())
	d := newKeyedFlowDriver(t, fns, flowKeysConfig, false)
	toStaging(d)
	d.press("enter")
	d.see("main")
	d.press("enter")
	d.see("commits it brings")
	d.press("enter", ">", ">", "enter", "Y")
	d.see("Y continue")
	d.press("q", "y")
	if v := d.settle(); d.a.flows.quit.aborting || !flowsview.Running(d.a.flows.cur) {
		t.Fatalf("y aborted the run; confirm is Y:\n%s", v)
	}
	d.press("q", "Y")
	d.see("aborting: waiting for the hosts to stop")
	d.untilQuit()
	if err := <-ended; err == nil {
		t.Error("the deploy was not aborted")
	}
}

// The keys that open a flow are root actions: the ? help says why one
// is off, as pressing it does, and under the help they open nothing.
func TestFlowKeysSayWhyTheyAreOff(t *testing.T) {
	const readOnly = "(off: read-only: deploys, rollbacks, migrations and flushes are disabled)"
	d := newKeyedFlowDriver(t, newFakeFlows(sampleFleet(t)).fns(), "keys:\n  deploy: D\n", true)
	d.a.ctx.Width, d.a.ctx.Height = 200, 60
	d.press("?")
	v := viewText(d.a)
	for _, want := range []string{"deploy wizard " + readOnly, "roll back " + readOnly, "run migrations " + readOnly, "flush caches " + readOnly} {
		if !strings.Contains(v, want) {
			t.Errorf("help lacks %q:\n%s", want, v)
		}
	}
	if !strings.Contains(v, "release history") || strings.Contains(v, "release history (off") {
		t.Errorf("release history is on in read-only mode:\n%s", v)
	}
	// Under the help, R opens nothing; once it is closed, it does.
	d.press("R")
	if d.a.mode != modeFleet {
		t.Fatalf("R under the help opened a flow: mode %v", d.a.mode)
	}
	d.press("esc", "D")
	if d.a.mode != modeFleet || d.a.notice != flowReadOnlyNotice {
		t.Errorf("D (deploy) in read-only mode: mode %v, notice %q", d.a.mode, d.a.notice)
	}
	d.press("R")
	d.see("which app, in which environment?")

	// No engine for the flows: each says so.
	d = newKeyedFlowDriver(t, flowsview.Flows{}, "keys:\n  deploy: D\n", false)
	d.a.ctx.Width, d.a.ctx.Height = 200, 60
	d.press("?")
	if v := viewText(d.a); !strings.Contains(v, "deploy wizard (off: "+flowMissingNotice+")") || !strings.Contains(v, "release history (off: "+flowMissingNotice+")") {
		t.Errorf("help without flows:\n%s", v)
	}
	d.press("esc", "d")
	if d.a.notice != "" {
		t.Errorf("d, not deploy's key any more, says %q", d.a.notice)
	}
	d.press("D")
	if d.a.mode != modeFleet || d.a.notice != flowMissingNotice {
		t.Errorf("D without flows: mode %v, notice %q", d.a.mode, d.a.notice)
	}
}
