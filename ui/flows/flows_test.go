package flows

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/cache"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
)

// pickEnv moves an open flow's picker to env.
func pickEnv(t *testing.T, d *driver, env string) {
	t.Helper()
	f := opStepsOf(d.cur)
	for range len(f.pick.items) {
		if it, _ := f.pick.chosen(); it.env.Name == env {
			return
		}
		d.press("down")
	}
	t.Fatalf("no %s in the picker", env)
}

func TestRollbackFlowChoosesAReleaseAndSaysWhatStays(t *testing.T) {
	ff := newFakeFlows(sampleFleet(t))
	d := newFlowDriver(t, ff.fns(), nil)
	d.press("r")
	d.see("roll back", "where?")
	pickEnv(t, d, "staging")
	d.press("enter")
	d.see("back to R0", "what goes away: 1 commit", "Migrations are NOT reversed: releases R1")
	d.press("down") // the older release: read again
	d.see("back to Rm1")
	d.press("shift+tab")
	d.see("where?")
	d.press("esc")
	if d.settle(); d.cur != nil || ff.Changes() != 0 {
		t.Fatalf("esc: flow %T, %d changes", d.cur, ff.Changes())
	}
}

func TestMigrateFlowShowsThePlanAndRunsOnce(t *testing.T) {
	ff := newFakeFlows(sampleFleet(t))
	d := newFlowDriver(t, ff.fns(), nil)
	d.press("m")
	pickEnv(t, d, "staging")
	d.press("enter")
	d.see("1 of 3 migrations pending", "shop.0003_orders", "runs \"./manage.py migrate\" once on stg-web1")
	d.press("enter")
	d.see("Run \"./manage.py migrate\" on stg-web1 (staging)?")
	d.press("enter")
	d.see("enter does not confirm")
	if d.settle(); ff.Count("migrate") != 0 {
		t.Fatal("enter migrated")
	}
	d.press("y")
	d.see("migrations applied", "release R1: success")
	d.press("esc")
	if d.settle(); d.cur != nil || ff.Count("migrate") != 1 {
		t.Errorf("flow %T, %d migrates", d.cur, ff.Count("migrate"))
	}
}

func TestFlushFlowChoosesHostsAndProductionNeedsItsName(t *testing.T) {
	ff := newFakeFlows(sampleFleet(t))
	d := newFlowDriver(t, ff.fns(), nil)
	d.press("F")
	pickEnv(t, d, "production")
	d.press("enter")
	d.see("[x] cache1", "[x] cache2")
	d.press("down", "space")
	d.see("[ ] cache2")
	d.press("enter")
	d.see("Flush 1 cache of production?", "type production to confirm")
	d.press("y", "enter")
	d.see("the name did not match")
	opStepsOf(d.cur).confirm.input.SetValue("production")
	d.press("enter")
	v := d.see("KEYS BEFORE → AFTER", "cache1", "1200 → 0")
	if strings.Contains(v, "cache2 ") {
		t.Errorf("flushed a host left out:\n%s", v)
	}
	if len(ff.Flushed) != 1 || strings.Join(ff.Flushed[0], ",") != "cache1" {
		t.Errorf("flushed %v", ff.Flushed)
	}
}

func TestReleasesViewFiltersOpensAndCompares(t *testing.T) {
	ff := newFakeFlows(sampleFleet(t))
	opened := 0
	load := func(_ context.Context, id int64) (ops.RecordedRun, error) {
		opened++
		return recorded(store.Run{ID: id, Kind: "deploy"}, hostOut(store.RunHost{Host: "stg-web1", Status: "ok"},
			[]ops.OutputChunk{chunk("meta", "== upload\n"), chunk("stdout", "reloaded R1\n")})), nil
	}
	d := newFlowDriver(t, ff.fns(), load)
	d.press("R")
	d.see("which app, in which environment?")
	d.press("enter")
	v := d.see("R2", "R1", "R0", "alice", "add checkout", "RELEASE", "OPERATOR")
	if strings.Index(v, "R2 ") > strings.Index(v, "R0 ") {
		t.Errorf("not newest first:\n%s", v)
	}
	// Filter by operator.
	d.press("/", "alice", "enter")
	v = d.see("/alice")
	if strings.Contains(v, "R0 ") || !strings.Contains(v, "R1 ") {
		t.Errorf("filter alice:\n%s", v)
	}
	// Forensics: open the release's recorded run.
	d.press("enter")
	d.see("stg-web1", "reloaded R1")
	d.press("esc")
	d.see("/alice")
	d.press("esc") // clears the filter
	d.see("R0 ")
	// c without two marks says so; mark R1 and R0, compare.
	d.press("c")
	d.see("mark two releases")
	d.press("down", "space", "down", "space", "c")
	d.see("compare R0 with R1", "A (older)", "commits between them (1", "add checkout", "shop/views.py", "0002_cart.py",
		"hosts whose outcome differed", "failed at health")
	if ff.Count("compare:R0,R1") != 1 {
		t.Errorf("compare calls %v", ff.Calls)
	}
	d.press("esc", "esc")
	if d.settle(); d.cur != nil {
		t.Errorf("flow %T", d.cur)
	}
}

func TestRollbackFlowStrategyStep(t *testing.T) {
	ff := newFakeFlows(sampleFleet(t))
	d := newFlowDriver(t, ff.fns(), nil)
	// Production's default is its own: rolling, in batches of 2.
	d.press("r")
	pickEnv(t, d, "production")
	d.press("enter")
	d.see("back to R0")
	d.press("enter")
	d.see("how are the hosts switched?", "[rolling]", "batch sizes", "batch 1: web1, web2")
	if v := d.viewText(); strings.Contains(v, "canary") || strings.Contains(v, "auto-rollback") {
		t.Errorf("a rollback offers a canary or auto-rollback:\n%s", v)
	}
	// Invalid input stays on the step; batches of one show two batches.
	d.press("down")
	opStepsOf(d.cur).strategy.batches.SetValue("") // as backspaces would
	d.press("x")
	d.see("invalid")
	d.press("enter")
	if d.settle(); opStepsOf(d.cur).step != opStrategy {
		t.Fatal("an invalid batch size left the strategy step")
	}
	opStepsOf(d.cur).strategy.batches.SetValue("")
	d.press("1")
	d.see("batch 1: web1", "batch 2: web2")
	// Back to the plan and forth keeps the choice.
	d.press("shift+tab")
	d.see("releases to go back to")
	d.press("enter")
	d.see("[rolling]", "batch 2: web2")
	d.press("esc")
	if d.settle(); d.cur != nil || ff.Changes() != 0 {
		t.Fatalf("esc at the strategy: flow %T, %d changes", d.cur, ff.Changes())
	}

	// Staging's is all at once; the strategy chosen is the rollback's.
	d.press("r")
	pickEnv(t, d, "staging")
	d.press("enter")
	d.see("back to R0")
	d.press("enter")
	d.see("how are the hosts switched?", "[all]", "batch 1: stg-web1")
	d.press("right")
	d.see("[rolling]")
	d.press("enter")
	d.see("Roll shop on staging back from R1 to R0")
	d.press("shift+tab")
	d.see("how are the hosts switched?", "[rolling]")
	d.press("enter", "y")
	d.see("release R0: success")
	if len(ff.RollStrategy) != 1 || ff.RollStrategy[0].Kind != "rolling" {
		t.Errorf("rolled back with %+v", ff.RollStrategy)
	}
}

// TestRollbackFlowRunsThePlanPreviewed: what the rollback flow runs is the
// plan its preview made, batched in the strategy chosen: the very object
// confirmed, with the preview's choice, inventory and hosts; not one
// looked up again by app and environment.
func TestRollbackFlowRunsThePlanPreviewed(t *testing.T) {
	ff := newFakeFlows(sampleFleet(t))
	d := newFlowDriver(t, ff.fns(), nil)
	d.press("r")
	pickEnv(t, d, "staging")
	d.press("enter")
	d.see("back to R0")
	d.press("down") // the older release: previewed again
	d.see("back to Rm1")
	d.press("enter")
	d.see("how are the hosts switched?", "[all]")
	d.press("right")
	d.see("[rolling]")
	d.press("enter")
	d.see("Roll shop on staging back from R1 to Rm1")
	d.press("y")
	d.see("release Rm1: success")
	if len(ff.RollPreviews) != 2 || len(ff.RolledBack) != 1 {
		t.Fatalf("%d previews, %d rollbacks run", len(ff.RollPreviews), len(ff.RolledBack))
	}
	rb, shown := ff.RolledBack[0], ff.RollPreviews[1]
	if confirmed := d.cur.(*opFlow[ops.RollbackPreview, *deploy.Outcome]).planned; rb != confirmed.Plan {
		t.Error("the rollback run is not the plan confirmed")
	}
	if rb.Plan.Fleet != shown.Plan.Fleet || rb.Choice.Target.ReleaseID != "Rm1" || rb.Plan.ReleaseID != "Rm1" ||
		len(rb.Plan.Hosts) == 0 || &rb.Plan.Hosts[0] != &shown.Plan.Hosts[0] {
		t.Errorf("the rollback run is not the one previewed: %+v", rb)
	}
	if rb.Plan.Strategy.Kind != deploy.StrategyRolling || shown.Plan.Strategy.Kind != deploy.StrategyAll {
		t.Errorf("strategies: run %s, previewed %s; want rolling, the preview left as it was", rb.Plan.Strategy.Kind, shown.Plan.Strategy.Kind)
	}
}

// TestMigrateFlowRunsThePlanPreviewed: what the migrate flow runs is the
// very plan its preview made.
func TestMigrateFlowRunsThePlanPreviewed(t *testing.T) {
	ff := newFakeFlows(sampleFleet(t))
	d := newFlowDriver(t, ff.fns(), nil)
	d.press("m")
	pickEnv(t, d, "staging")
	d.press("enter")
	d.see("1 of 3 migrations pending")
	d.press("enter")
	d.see("Run \"./manage.py migrate\" on stg-web1 (staging)?")
	d.press("y")
	d.see("migrations applied", "release R1: success")
	if len(ff.MigPreviews) != 1 || len(ff.Migrated) != 1 || ff.Migrated[0] != ff.MigPreviews[0] {
		t.Errorf("previewed %v, ran %v: want the very plan previewed", ff.MigPreviews, ff.Migrated)
	}
}

// TestRollbackAndMigrateConfirmAsThePlansInventorySays: the console's
// fleet says staging is not protected, but the inventory the previews
// were made from says it is: the confirmation asks for its name, as the
// plan that runs was decided under (as the wizard's does).
func TestRollbackAndMigrateConfirmAsThePlansInventorySays(t *testing.T) {
	fl := sampleFleet(t)
	for i, e := range fl.Environments {
		if e.Name == "staging" {
			fl.Environments[i].Protected = true
		}
	}
	ff := newFakeFlows(fl)
	d := newFlowDriver(t, ff.fns(), nil)
	d.press("r")
	pickEnv(t, d, "staging")
	d.press("enter")
	d.see("back to R0")
	d.press("enter")
	d.see("how are the hosts switched?")
	d.press("enter")
	d.see("Roll shop on staging back from R1 to R0", "type staging to confirm")
	d.press("esc")
	d.settle()

	d.press("m")
	pickEnv(t, d, "staging")
	d.press("enter")
	d.see("1 of 3 migrations pending")
	d.press("enter")
	d.see("Run \"./manage.py migrate\" on stg-web1 (staging)?", "type staging to confirm")
	d.press("y")
	if d.settle(); ff.Changes() != 0 {
		t.Fatalf("y alone ran a change in a protected environment: %v", ff.Calls)
	}
}

// A plan that could not be read is no plan: enter says so and stays, and
// choosing the target again reads it again. Before the machine was typed,
// the failed read's empty plan let enter go on to the confirmation.
func TestFlowWithAFailedPlanDoesNotGoOn(t *testing.T) {
	ff := newFakeFlows(sampleFleet(t))
	fns := ff.fns()
	reads := 0
	flushPlan := fns.FlushPlan
	fns.FlushPlan = func(ctx context.Context, env string) ([]cache.Spec, error) {
		if reads++; reads == 1 {
			return nil, errors.New("cache hosts unreadable")
		}
		return flushPlan(ctx, env)
	}
	d := newFlowDriver(t, fns, nil)
	d.press("F")
	pickEnv(t, d, "staging")
	d.press("enter")
	d.see("flush caches staging: cache hosts unreadable")
	d.press("enter")
	d.see("no plan: shift+tab to choose again, esc to leave")
	if s := opStepsOf(d.cur); s.step != opPlan {
		t.Fatalf("enter on a failed plan went to step %d", s.step)
	}
	d.press("shift+tab", "enter")
	d.see("cache hosts", "[x]")
	d.press("enter")
	d.see("Flush", "Every key in them is lost.")
	if ff.Changes() != 0 {
		t.Errorf("%d changes before any confirmation", ff.Changes())
	}
}
