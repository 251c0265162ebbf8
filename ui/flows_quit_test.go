package ui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
	flowsview "github.com/opsui/opsui/ui/flows"
)

// endedWith wraps fns.Deploy to report, on the channel, the error the
// deploy returned with (the fake's canary blocks until ctx ends).
func endedWith(fns flowsview.Flows) (flowsview.Flows, chan error) {
	ended := make(chan error, 1)
	deployFn := fns.Deploy
	fns.Deploy = func(ctx context.Context, p *deploy.Plan, io ops.IO) (*deploy.Outcome, error) {
		out, err := deployFn(ctx, p, io)
		ended <- err
		return out, err
	}
	return fns, ended
}

// untilQuit feeds messages until the program is told to quit.
func (d *driver) untilQuit() {
	d.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case msg := <-d.msgs:
			switch m := msg.(type) {
			case tea.QuitMsg:
				return
			case tea.BatchMsg:
				for _, c := range m {
					d.do(c)
				}
			case nil:
			default:
				d.send(m)
			}
		case <-deadline:
			d.t.Fatalf("the console did not quit; screen:\n%s", viewText(d.a))
		}
	}
}

func TestQuitDuringADeployAsksThenAbortsItBeforeQuitting(t *testing.T) {
	ff := newFakeFlows(sampleFleet(t))
	fns, ended := endedWith(ff.fns())
	d := newFlowDriver(t, fns, nil)
	toCanaryPause(d)

	// q asks; anything but y, Enter included, goes on.
	for _, k := range []string{"q", "ctrl+c"} {
		d.press(k)
		d.see("a flow is running: quit and abort it?")
		d.press("enter")
		v := d.settle()
		if strings.Contains(v, "quit and abort it?") || d.a.flows.quit.aborting || !flowsview.Running(d.a.flows.cur) {
			t.Fatalf("%s then enter did not go on:\n%s", k, v)
		}
	}
	select {
	case err := <-ended:
		t.Fatalf("the deploy ended while the question was asked: %v", err)
	default:
	}
	// y aborts the deploy, which ends, then the console quits.
	d.press("q", "y")
	d.see("aborting: waiting for the hosts to stop")
	d.press("x") // keys do nothing meanwhile
	if d.a.mode != modeFlow || !d.a.flows.quit.aborting {
		t.Fatalf("a key while aborting: mode %v", d.a.mode)
	}
	d.untilQuit()
	select {
	case err := <-ended:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the deploy ended with %v, want it cancelled", err)
		}
	default:
		t.Fatal("the console quit before the deploy ended")
	}
	if len(ff.CanaryAns) != 0 {
		t.Errorf("the quit's y answered the canary: %v", ff.CanaryAns)
	}
}

func TestQuitInAFlowThatDoesNotRun(t *testing.T) {
	ff := newFakeFlows(sampleFleet(t))
	d := newFlowDriver(t, ff.fns(), nil)
	toStaging(d)
	d.press("enter")
	d.see("ref>")
	// q is text in the ref filter; ctrl+c quits without asking.
	d.press("q")
	if v := d.settle(); strings.Contains(v, "quit and abort") || !strings.Contains(v, "ref> q") {
		t.Fatalf("q in the ref filter:\n%s", v)
	}
	_, cmd := d.a.Update(keys("ctrl+c")[0])
	if cmd == nil || cmd() != tea.Quit() {
		t.Fatal("ctrl+c before the run does not quit")
	}
	if ff.Changes() != 0 {
		t.Errorf("%d changes", ff.Changes())
	}
}

// However the program ends, Run cancels the flows' works and waits for
// them; none starts after.
func TestCloseFlowsCancelsAndWaitsForTheWork(t *testing.T) {
	ff := newFakeFlows(sampleFleet(t))
	fns, ended := endedWith(ff.fns())
	d := newFlowDriver(t, fns, nil)
	life, stop := context.WithCancel(context.Background())
	d.a.flows.life = life
	toCanaryPause(d)
	go func() { // the runner's done message, once the work ends
		for range d.msgs {
		}
	}()
	if err := d.a.closeFlows(stop); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ended:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the deploy ended with %v, want it cancelled", err)
		}
	default:
		t.Fatal("closeFlows returned before the deploy ended")
	}
	if d.a.flows.tracker.Begin() {
		t.Error("a work could start after the console closed")
	}
}

// toCanaryPause runs the wizard up to the canary's question.
func toCanaryPause(d *driver) {
	toStaging(d)
	d.press("enter")
	d.see("main")
	d.press("enter")
	d.see("commits it brings")
	d.press("enter", "right", "right", "enter", "y")
	d.see("y continue")
}
