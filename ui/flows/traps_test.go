package flows

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

// Issue 18, trap 3: opened on a production host, a flow that changes hosts
// must not start with production chosen, or `d` then Enter picks it.
func TestFlowsNeverPreselectAProtectedEnvironment(t *testing.T) {
	for name, open := range map[string]func(*Env, string) (Flow, tea.Cmd){
		"deploy": OpenDeploy, "rollback": OpenRollback, "migrate": OpenMigrate, "flush": OpenFlush,
	} {
		t.Run(name, func(t *testing.T) {
			d := newFlowDriver(t, newFakeFlows(sampleFleet(t)).fns(), nil)
			d.show(open(d.env, "production"))
			it, ok := opStepsOf(d.cur).pick.chosen()
			if ok && it.env.Protected {
				t.Fatalf("opened on production, the picker starts on %s", it)
			}
			if !ok || it.env.Name != "staging" {
				t.Errorf("the picker starts on %v (ok %v), want the ordinary staging", it, ok)
			}
		})
	}
}

// With every environment protected, nothing is chosen until the operator
// moves the cursor: Enter alone stays on the first step.
func TestPickerWithOnlyProtectedEnvironmentsChoosesNothing(t *testing.T) {
	f := sampleFleet(t)
	for i := range f.Environments {
		f.Environments[i].Protected = true
	}
	p := newTargetPicker(f, false, "production")
	p.avoidProtected()
	if it, ok := p.chosen(); ok {
		t.Fatalf("chosen %s with nothing picked", it)
	}
	p.key(keys("down")[0].(tea.KeyPressMsg), testKeys())
	if _, ok := p.chosen(); !ok {
		t.Fatal("down chose nothing")
	}
}

// Issue 18, trap 5: the releases table's cursor row has a ">" that
// NO_COLOR keeps.
func TestReleasesCursorIsSeenWithoutColour(t *testing.T) {
	d := newFlowDriver(t, newFakeFlows(sampleFleet(t)).fns(), nil)
	d.press("R")
	d.see("which app, in which environment?")
	d.press("enter")
	v := d.see("R2", "R1", "R0")
	for _, l := range strings.Split(v, "\n") {
		if strings.Contains(l, "R2 ") && !strings.HasPrefix(strings.TrimSpace(l), ">") {
			t.Errorf("the cursor row (the newest release) has no > marker: %q", l)
		}
		if strings.Contains(l, "R1 ") && strings.HasPrefix(strings.TrimSpace(l), ">") {
			t.Errorf("a row off the cursor is marked: %q", l)
		}
	}
}
