package ui

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
)

// Issue 22 item 4: ":restart ENV" opens the restart flow on that
// environment: the plan says how each app server restarts and that the
// release stays, the strategy step offers all and rolling, y confirms
// (enter does not), a protected environment wants its name typed, and
// the run's summary says the restart's result. Read-only, it does not
// open.
func TestPaletteRestartFlow(t *testing.T) {
	fl := sampleFleet(t)
	ff := newFakeFlows(fl)
	fns := ff.fns()
	var mu sync.Mutex
	var ran []*deploy.RestartPlan
	fns.RestartPlan = func(_ context.Context, app, env string) (*deploy.RestartPlan, error) {
		a, _ := fl.App(app)
		e, _ := fl.Environment(env)
		hosts := deploy.SelectHosts(fl, env, deploy.HostSelection{Role: "web"})
		p, err := deploy.NewPlan(fl, a, e, hosts, deploy.Source{Commit: "c2c2c2c2c2c2"}, "R1", deploy.DefaultStrategy(e))
		if err != nil {
			return nil, err
		}
		steps, _ := deploy.Steps(a)
		var reload deploy.Step
		for _, s := range steps {
			if s.Slot == inventory.StepReload {
				reload = s
			}
		}
		return &deploy.RestartPlan{Plan: p, Live: store.Release{ReleaseID: "R1", Commit: "c2c2c2c2c2c2"}, Reload: reload}, nil
	}
	fns.Restart = func(_ context.Context, rp *deploy.RestartPlan, _ ops.IO) (*deploy.Outcome, error) {
		mu.Lock()
		ran = append(ran, rp)
		mu.Unlock()
		out := &deploy.Outcome{ReleaseID: "R1", Kind: store.KindRestart, Result: store.ReleaseSuccess}
		for _, h := range rp.Plan.Hosts {
			out.Hosts = append(out.Hosts, deploy.HostOutcome{Host: h.Name, Status: deploy.HostOK, Release: "R1"})
		}
		return out, nil
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(ran)
	}

	d := newFlowDriver(t, fns, nil)
	d.press(":", "restart staging", "enter")
	if d.a.mode != modeFlow {
		t.Fatalf(":restart staging: mode %v, notice %q", d.a.mode, d.a.notice)
	}
	pickEnv(t, d, "staging")
	d.press("enter")
	d.see("restart of shop in staging: the app servers start again on release R1", "graceful re-exec of the gunicorn master")
	d.press("enter")
	d.see("[all]")
	d.press("right")
	d.see("[rolling]")
	d.press("enter")
	d.see("Restart the app servers of shop on staging")
	d.press("enter")
	if d.settle(); count() != 0 {
		t.Fatal("enter confirmed the restart; confirm is y")
	}
	d.press("y")
	d.see("restart", "release R1: success")
	if count() != 1 || ran[0].Plan.Strategy.Kind != deploy.StrategyRolling {
		t.Fatalf("restarts run: %d, want one, rolling", count())
	}
	if names := ran[0].Plan.Hosts; len(names) == 0 || names[0].Env != "staging" {
		t.Errorf("the restart ran on %v, want staging's web hosts", names)
	}

	// A protected environment: its name typed first.
	d = newFlowDriver(t, fns, nil)
	d.press(":", "restart production", "enter")
	pickEnv(t, d, "production")
	d.press("enter")
	d.see("restart of shop in production")
	d.press("enter")
	d.see("[")
	d.press("enter")
	d.see("type production to confirm")
	d.press("y")
	if d.settle(); count() != 1 {
		t.Fatal("y restarted a protected environment without its name typed")
	}

	// Unknown environment, read-only: no flow, a notice that says why.
	d = newFlowDriver(t, fns, nil)
	d.press(":", "restart nowhere", "enter")
	if d.a.mode != modeFleet || d.a.notice != "no environment nowhere" {
		t.Errorf(":restart nowhere: mode %v notice %q", d.a.mode, d.a.notice)
	}
	d.a.ctx.ReadOnly = true
	d.press(":", "restart staging", "enter")
	if d.a.mode != modeFleet || !strings.Contains(d.a.notice, "read-only") {
		t.Errorf(":restart in read-only mode: mode %v notice %q", d.a.mode, d.a.notice)
	}
}
