package ui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ops/remote"

	flowsview "github.com/opsui/opsui/ui/flows"
)

// esc during a deploy's canary pause goes back to the fleet with the
// deploy still running: the header says it waits, a flow key is refused,
// o brings it back; out of sight again it ends with a toast, and o shows
// its summary (issue 18, item 17).
func TestRunningFlowGoesOutOfSightAndBack(t *testing.T) {
	d := newFlowDriver(t, newFakeFlows(sampleFleet(t)).fns(), nil)
	toCanaryPause(d)
	if f := lastLine(d.a); !strings.Contains(f, "esc look around") {
		t.Errorf("the running flow's footer lacks esc: %q", f)
	}
	d.press("esc")
	if d.a.mode != modeFleet || !d.a.flowsBG || !flowsview.Running(d.a.flows.cur) {
		t.Fatalf("esc: mode %d, out of sight %v", d.a.mode, d.a.flowsBG)
	}
	v := d.see("HOST", "waits for you · o")
	header := strings.SplitN(v, "\n", 2)[0]
	if !strings.Contains(header, "deploy ") || !strings.Contains(header, "to staging") {
		t.Errorf("header: %q", header)
	}
	d.press("d")
	if d.a.mode != modeFleet || !strings.Contains(d.a.notice, "a deploy runs out of sight: o returns to it") {
		t.Errorf("d under a running deploy: mode %d notice %q", d.a.mode, d.a.notice)
	}
	d.press("j", "k") // looking around works
	d.press("o")
	d.see("y continue")
	if d.a.mode != modeFlow || d.a.flowsBG {
		t.Fatalf("o: mode %d", d.a.mode)
	}
	d.press("y", "esc")
	if d.a.mode != modeFleet && flowsview.Running(d.a.flows.cur) {
		t.Fatalf("esc after y: mode %d", d.a.mode)
	}
	v = d.see("finished · o shows it")
	if d.a.mode != modeFleet {
		t.Errorf("the end of the deploy took the screen: mode %d\n%s", d.a.mode, v)
	}
	d.press("o")
	if d.a.mode != modeFlow || d.a.flowsBG {
		t.Errorf("o after the end: mode %d", d.a.mode)
	}
	d.press("esc")
	if d.a.mode != modeFleet || d.a.flows.cur != nil {
		t.Errorf("esc on the summary: mode %d", d.a.mode)
	}
}

// q at the fleet with a deploy out of sight brings it back and asks, as
// in front of it.
func TestQuitUnderAFlowOutOfSightAsks(t *testing.T) {
	ff := newFakeFlows(sampleFleet(t))
	fns, ended := endedWith(ff.fns())
	d := newFlowDriver(t, fns, nil)
	toCanaryPause(d)
	d.press("esc")
	d.see("waits for you")
	d.press("q")
	d.see("a flow is running: quit and abort it?")
	d.press("n")
	d.settle()
	if !flowsview.Running(d.a.flows.cur) {
		t.Fatal("n stopped the deploy")
	}
	d.press("esc", "ctrl+c")
	d.see("a flow is running: quit and abort it?")
	d.press("y")
	d.untilQuit()
	if err := <-ended; err == nil {
		t.Error("the deploy was not aborted")
	}
}

// esc under a dialog is the dialog's (it refuses a host key), not a way
// to put the running flow out of sight.
func TestEscUnderADialogStaysWithTheFlow(t *testing.T) {
	d := newFlowDriver(t, newFakeFlows(sampleFleet(t)).fns(), nil)
	toCanaryPause(d)
	dlg, _ := newQuestionDialog(&question{hostKey: &remote.HostKeyPrompt{Host: "web1", Addr: "10.0.0.1:22", KeyType: "ssh-ed25519",
		Fingerprint: "SHA256:" + strings.Repeat("x", 43)}})
	d.a.dialogs.queue = []dialog{dlg}
	if next, ok := d.a.toBackground(keys("esc")[0].(tea.KeyPressMsg)); ok || next.flowsBG {
		t.Error("esc under a dialog put the flow out of sight")
	}
}
