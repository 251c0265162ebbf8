package ui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	flowsview "github.com/opsui/opsui/ui/flows"
)

// componentStates are consoles with each component in front: the fleet,
// runs live and replayed, the past runs, the logs, and every step of
// every guided flow (the run and result steps included).
func componentStates(t *testing.T) map[string]App {
	t.Helper()
	states := map[string]App{}
	for _, name := range []string{"fleet", "grid run", "list run", "cancel question", "past runs", "replay"} {
		states[name] = everyView(t, 120, 30)[name]
	}
	states["logs"] = openTestLogs(t)
	for name, walk := range flowViews(t, 120, 30) {
		if name == "release forensics" {
			continue // reads a recorded run: TestEveryFlowViewFitsTheTerminal
		}
		d := newFlowDriver(t, newFakeFlows(sampleFleet(t)).fns(), nil)
		d.send(tea.WindowSizeMsg{Width: 120, Height: 30})
		walk(d)
		d.settle()
		states[name] = d.a
	}
	return states
}

// Every component answers the contract on its own, not only through the
// root's layout: sized at 80x24 it draws within 80x24, and it lists its
// keys, each a binding of the key table.
func TestEveryComponentDrawsWithinItsSize(t *testing.T) {
	table := map[string]bool{}
	for _, g := range DefaultKeyMap().inScope(scopeAnywhere) {
		for _, b := range g {
			table[b.Help().Key] = true
		}
	}
	for name, a := range componentStates(t) {
		t.Run(name, func(t *testing.T) {
			c := a.focused()
			c.SetSize(80, 24)
			lines := strings.Split(ansi.Strip(c.View()), "\n")
			if len(lines) > 24 {
				t.Errorf("%d lines at height 24", len(lines))
			}
			for i, l := range lines {
				if w := ansi.StringWidth(l); w > 80 {
					t.Errorf("line %d is %d wide: %q", i, w, l)
				}
			}
			if len(c.KeyMap()) == 0 {
				t.Error("no keys")
			}
			for _, b := range c.KeyMap() {
				if !table[b.Help().Key] {
					t.Errorf("key %q is not in the key table", b.Help().Key)
				}
			}
		})
	}
}

// The root handles ctrl+c whatever component has the keyboard: it quits,
// or, while a flow's work runs, asks first (ui/flows_quit.go).
func TestRootHandlesCtrlCWhereverTheFocusIs(t *testing.T) {
	states := componentStates(t)
	d := newFlowDriver(t, newFakeFlows(sampleFleet(t)).fns(), nil)
	d.press("d", "enter")
	d.see("ref>")
	d.press("q")
	if v := d.settle(); !strings.Contains(v, "ref> q") {
		t.Fatalf("the ref filter does not hold q typed:\n%s", v)
	}
	states["wizard, typing a ref"] = d.a
	for name, a := range states {
		t.Run(name, func(t *testing.T) {
			next, cmd := a.Update(keys("ctrl+c")[0])
			if a.flows.quit.asking { // the root's own question: any key but y goes on
				if next.(App).flows.quit.asking || cmd != nil {
					t.Fatal("ctrl+c does not answer the quit question")
				}
				return
			}
			if a.mode == modeFlow && flowsview.Running(a.flows.cur) {
				if !next.(App).flows.quit.asking {
					t.Fatal("ctrl+c under a running flow does not ask")
				}
				return
			}
			if cmd == nil {
				t.Fatal("ctrl+c does nothing")
			}
			if _, ok := cmd().(tea.QuitMsg); !ok {
				t.Fatalf("ctrl+c in %s does not quit", name)
			}
		})
	}
}
