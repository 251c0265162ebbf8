package flows

import (
	"strings"
	"testing"

	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
)

// toStaging opens the wizard and puts the cursor on shop → staging.
func toStaging(d *driver) {
	d.press("d")
	d.see("which app, to which environment?", "shop → staging", "shop → production (protected)")
	for i := 0; i < 3 && !chosenIs(d.cur, "staging"); i++ {
		d.press("up")
	}
}

func chosenIs(f Flow, env string) bool {
	it, ok := f.(*wizard).pick.chosen()
	return ok && it.env.Name == env
}

func TestWizardDeploysWithACanaryAndSummarises(t *testing.T) {
	ff := newFakeFlows(sampleFleet(t))
	d := newFlowDriver(t, ff.fns(), nil)
	toStaging(d)
	d.press("enter")
	// The whole placeholder, not its first letter (which read as a typed "f").
	d.see("ref>", "filter branches, tags, commits", "branch", "main", "v1.0", "first release", "running now on staging", "stg-web1")

	// The filter narrows the refs; back and forth keeps it.
	d.press("v1")
	v := d.see("v1.0")
	if strings.Contains(v, "add checkout") {
		t.Errorf("filter v1 still lists main:\n%s", v)
	}
	d.press("shift+tab")
	d.see("which app, to which environment?")
	d.press("enter")
	d.see("ref> v1")
	refStepOf(d.cur).filter.SetValue("") // as backspaces would
	d.press("enter")                     // main, the first ref

	// The preview: hosts with drift, commits, diffstat, migrations,
	// requirements, and every warning.
	v = d.see("commits it brings (1)", "add checkout")
	for _, want := range []string{"DRIFT", "shop/views.py | 12", "shop/migrations/0002_cart.py", "requirements change: requirements.txt",
		"env changes (1) in shared/.env", "API_KEY=‹secret api› changed on stg-web1",
		"deploy lock held on stg-web1 (carol@laptop)", "uncommitted changes", "unreachable: ghost", "rollback in disguise",
		"commits it takes away (1)", "hotfix only in prod", "! alice@lap deployed shop → staging 4 min ago"} {
		if !strings.Contains(v, want) {
			t.Errorf("preview lacks %q:\n%s", want, v)
		}
	}
	// Strategy: canary, its plan of batches shown.
	d.press("enter")
	d.see("strategy", "[all]", "auto-rollback", "batch 1: stg-web1")
	d.press("right", "right")
	d.see("[canary]", "canary (pauses for your go-ahead): stg-web1")
	d.press("enter")
	d.see("Deploy shop c2c2c2c2c2c2 (add checkout) to staging", "y confirm")

	// Enter alone does not confirm.
	d.press("enter")
	d.see("enter does not confirm")
	if d.settle(); ff.Count("deploy") != 0 {
		t.Fatal("enter deployed")
	}
	d.press("y")
	d.see("canary web serves release R1", "y continue", "r roll the canary back", "batch 1 of 2")
	// esc during the run does not leave it.
	d.press("esc")
	d.see("the deploy is running")
	d.press("y")
	d.see("summary", "release R1: success in 3.0s", "run 42", "stg-web1", "roll back to the previous release")
	if len(ff.CanaryAns) != 1 || !ff.CanaryAns[0] {
		t.Errorf("canary answers %v, want [true]", ff.CanaryAns)
	}
	// What ran is the plan confirmed, the very object: the preview's, in
	// the strategy chosen.
	p := ff.Deployed[0]
	if p != d.cur.(*wizard).planned.Plan {
		t.Error("the plan run is not the plan confirmed")
	}
	if p.App.Name != "shop" || p.Env.Name != "staging" || p.Source.Commit != "c2c2c2c2c2c2c2c2" || p.Source.Branch != "main" ||
		p.Strategy.Kind != deploy.StrategyCanary || !p.Strategy.AutoRollback || p.Fleet != ff.Previewed[0].Fleet || p.ReleaseID != ff.Previewed[0].ReleaseID {
		t.Errorf("deployed plan %+v", p)
	}
	// tab shows the hosts' panes, and back.
	d.press("tab")
	d.see("stg-web1 · ok")
	d.press("tab")
	d.see("summary")

	// Roll back right there: the previous release, what goes away, plainly.
	d.press("r")
	d.see("roll back · shop → staging", "back to R0", "Migrations are NOT reversed", "add checkout")
	d.press("enter")
	d.see("how are the hosts switched?", "[all]")
	d.press("enter")
	d.see("Roll shop on staging back from R1 to R0")
	d.press("enter")
	if d.settle(); ff.Count("rollback") != 0 {
		t.Fatal("enter rolled back")
	}
	d.press("y")
	d.see("rollback", "release R0: success")
	if ff.RolledTo[0] != "R0" {
		t.Errorf("rolled back to %v", ff.RolledTo)
	}
	d.press("esc")
	d.settle() // back to the fleet
	if d.cur != nil {
		t.Errorf("flow %T after esc", d.cur)
	}
}

func TestWizardEscLeavesEveryStepWithoutSideEffects(t *testing.T) {
	for steps := 0; steps <= 4; steps++ {
		ff := newFakeFlows(sampleFleet(t))
		d := newFlowDriver(t, ff.fns(), nil)
		toStaging(d)
		want := []string{"which app", "v1.0", "commits it brings", "auto-rollback", "y confirm"}
		for i := 0; i < steps; i++ {
			d.see(want[i])
			d.press("enter")
		}
		d.see(want[steps])
		d.press("esc")
		d.settle()
		if d.cur != nil {
			t.Errorf("step %d: esc did not leave (flow %T)", steps, d.cur)
		}
		if n := ff.Changes(); n != 0 {
			t.Errorf("step %d: %d calls that change hosts", steps, n)
		}
	}
}

func TestWizardProtectedEnvironmentNeedsItsNameTyped(t *testing.T) {
	ff := newFakeFlows(sampleFleet(t))
	d := newFlowDriver(t, ff.fns(), nil)
	d.press("d")
	d.see("shop → production (protected)")
	for !chosenIs(d.cur, "production") {
		d.press("down")
	}
	d.press("enter")
	d.see("main")
	d.press("enter")
	d.see("commits it brings")
	d.press("enter")
	d.see("auto-rollback")
	d.press("enter")
	// The footer never offers y where the name must be typed.
	if v := d.see("production is a protected environment", "type production to confirm", "confirm, once production is typed"); strings.Contains(v, "y confirm") {
		t.Errorf("the footer offers y on a protected environment:\n%s", v)
	}
	d.press("y", "enter")
	d.see("the name did not match")
	d.cur.(*wizard).confirm.input.SetValue("")
	d.press("enter")
	d.see("the name did not match")
	d.press("prod", "enter")
	d.see("the name did not match")
	if d.settle(); ff.Count("deploy") != 0 {
		t.Fatal("deployed without the full name")
	}
	d.press("uction", "enter")
	d.see("release R1: success")
	if ff.Count("deploy") != 1 || ff.Deployed[0].Env.Name != "production" {
		t.Errorf("deploys %v", ff.Deployed)
	}
}

func TestWizardInvalidInputStaysOnItsStep(t *testing.T) {
	ff := newFakeFlows(sampleFleet(t))
	d := newFlowDriver(t, ff.fns(), nil)
	toStaging(d)
	d.press("enter")
	d.see("main")
	refStepOf(d.cur).filter.SetValue("zzz-no-such")
	d.press("enter") // a typed ref goes to the preview, which resolves it
	d.see("commits it brings")
	d.press("enter")
	d.see("auto-rollback")
	d.press("right", "down") // rolling, batch sizes
	d.press("abc")
	d.see("invalid:")
	d.press("enter")
	v := d.see("invalid")
	if !strings.Contains(v, "strategy") || d.cur.(*wizard).step != stepStrategy {
		t.Errorf("an invalid batch left the strategy step:\n%s", v)
	}
}

func TestWizardCanaryRefusedAndAbortAsksFirst(t *testing.T) {
	ff := newFakeFlows(sampleFleet(t))
	d := newFlowDriver(t, ff.fns(), nil)
	toCanaryPause(d)
	// c asks; enter keeps going.
	d.press("c")
	d.see("cancel the run on every host?")
	d.press("enter")
	d.settle()
	d.press("r")
	d.see("summary", "release R1: aborted")
	if len(ff.CanaryAns) != 1 || ff.CanaryAns[0] {
		t.Errorf("canary answers %v, want [false]", ff.CanaryAns)
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

// TestWizardRefusedWhenTheFleetChangedSincePreview changes the inventory
// between the preview and the confirmation: the deploy runs the plan
// confirmed, which the engine refuses (as deploy.Execute does), and the
// summary lists what changed instead of applying it.
func TestWizardRefusedWhenTheFleetChangedSincePreview(t *testing.T) {
	ff := newFakeFlows(sampleFleet(t))
	d := newFlowDriver(t, ff.fns(), nil)
	toStaging(d)
	d.press("enter")
	d.see("main")
	d.press("enter")
	d.see("commits it brings")
	d.press("enter")
	d.see("auto-rollback", "batch 1: stg-web1")

	// Someone imports a fleet file: stg-web1 moves, staging becomes protected.
	now := sampleFleet(t)
	for i, h := range now.Hosts {
		if h.Name == "stg-web1" {
			now.Hosts[i].Address = "10.1.0.99"
		}
	}
	for i, e := range now.Environments {
		if e.Name == "staging" {
			now.Environments[i].Protected = true
		}
	}
	ff.SetNow(now)

	d.press("enter")
	d.see("Deploy shop c2c2c2c2c2c2 (add checkout) to staging", "y confirm")
	d.press("y")
	v := d.see("summary", "did not start", "the fleet changed since the preview")
	for _, want := range []string{"  host stg-web1: address 10.1.0.11 → 10.1.0.99", "  environment staging: protected false → true", "no host was touched: preview again"} {
		if !strings.Contains(v, want) {
			t.Errorf("the summary lacks %q:\n%s", want, d.viewText())
		}
	}
	if len(ff.Deployed) != 1 || ff.Deployed[0] != d.cur.(*wizard).planned.Plan || ff.Deployed[0].Hosts[0].Address != "10.1.0.11" {
		t.Errorf("the plan given to the engine is not the one confirmed: %+v", ff.Deployed)
	}
	// Nothing of this release runs anywhere: r must not offer to undo the
	// release that runs now.
	if strings.Contains(v, "roll back to the previous release") {
		t.Errorf("a deploy that did not start offers a rollback:\n%s", v)
	}
	d.press("r")
	d.see("nothing to roll back: this release runs on no host")
	if _, ok := d.cur.(*wizard); !ok {
		t.Errorf("r opened %T after a deploy that did not start", d.cur)
	}
}

// After an automatic rollback (every host switched back) or a deploy that
// switched nothing, the release runs nowhere and the summary does not offer
// r; with one host on it, it does.
func TestWizardOffersRollbackOnlyWhenLive(t *testing.T) {
	for _, c := range []struct {
		name     string
		statuses []store.HostStatus
		want     bool
	}{
		{"no outcome", nil, false},
		{"rolled back", []store.HostStatus{deploy.HostRolledBack, deploy.HostFailed}, false},
		{"cancelled before the switch", []store.HostStatus{deploy.HostSkipped, deploy.HostCancelled}, false},
		{"partly live", []store.HostStatus{deploy.HostOK, deploy.HostFailed}, true},
	} {
		var out *deploy.Outcome
		if c.statuses != nil {
			out = &deploy.Outcome{}
			for _, s := range c.statuses {
				out.Hosts = append(out.Hosts, deploy.HostOutcome{Status: s})
			}
		}
		if got := releaseLive(out); got != c.want {
			t.Errorf("%s: releaseLive %v, want %v", c.name, got, c.want)
		}
	}
}

// refStepOf is the ref step of the wizard shown.
func refStepOf(f Flow) *refStep { return f.(*wizard).spec.(*deploySpec).ref }
