package main

import (
	"context"
	"strings"
	"testing"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
)

// TestRollbackPreviewSharedByCLIAndConsole drives one rollback preview
// (ops.Service.PlanRollback) through the CLI and the console's wiring on
// real hosts: both name the same release to go back from and to. The
// console's rollback runs in the strategy chosen; and the CLI's rollback
// goes where the console's preview says.
func TestRollbackPreviewSharedByCLIAndConsole(t *testing.T) {
	e := newDeployEnv(t, 2, "")
	ctx := context.Background()
	r1 := releaseOf(t, mustRun(t, e.db, "deploy", "--env", "test", "--yes"))
	e.commit(t, "second", "index.html", "v2")
	r2 := releaseOf(t, mustRun(t, e.db, "deploy", "--env", "test", "--yes"))

	// Without a terminal the CLI says what it would do and refuses.
	cliSaid, err := opsuiCmd(t, e.db, "", "rollback", "--env", "test")
	if err == nil || !strings.Contains(cliSaid, "back from release "+r2+" (") || !strings.Contains(cliSaid, ") to "+r1+" (") {
		t.Fatalf("rollback without a terminal: %v\n%s", err, cliSaid)
	}
	cs, st := consoleFor(t, e)
	fns := cs.flows()
	pv, err := fns.RollbackPreview(ctx, "app", "test", "")
	if err != nil {
		t.Fatal(err)
	}
	names := e.fleet.Hosts[0].Name + "," + e.fleet.Hosts[1].Name
	if pv.From.ReleaseID != r2 || pv.Target.ReleaseID != r1 || strings.Join(pv.Hosts, ",") != names ||
		len(pv.Candidates) != 1 || pv.Candidates[0].ReleaseID != r1 || len(pv.Undone) != 1 || len(pv.Commits) != 1 ||
		pv.Plan == nil || pv.Plan.Choice.Target.ReleaseID != r1 || pv.Plan.Plan.ReleaseID != r1 || len(pv.Plan.Plan.Hosts) != 2 {
		t.Fatalf("console preview %+v", pv)
	}
	// The flow runs the preview's plan re-batched for the strategy chosen.
	rolling := func(pv ops.RollbackPreview) *deploy.RollbackPlan {
		t.Helper()
		rp, err := pv.Plan.WithStrategy(deploy.Strategy{Kind: deploy.StrategyRolling})
		if err != nil {
			t.Fatal(err)
		}
		return rp
	}

	// The console's flow runs it, rolling (ops.TestRollbackRunsThePreviewedPlanOrRefuses
	// changes the inventory before the run).
	out, err := fns.Rollback(ctx, rolling(pv), quietIO)
	if err != nil || out.Result != store.ReleaseSuccess {
		t.Fatalf("console rollback: %+v %v", out, err)
	}
	rs, err := st.ListReleases(ctx, "app", "test", 1)
	if err != nil || len(rs) != 1 || rs[0].Kind != store.KindRollback || rs[0].ReleaseID != r1 || rs[0].Strategy != "rolling" ||
		strings.Join(rs[0].HostList(), ",") != names {
		t.Fatalf("the console's rollback record: %+v %v", rs, err)
	}
	for i := range e.fleet.Hosts {
		if rel, _ := e.current(t, i); rel != r1 {
			t.Errorf("host %d runs %s, want %s", i, rel, r1)
		}
	}

	// A third deploy, at once: its release id follows the highest recorded
	// (r2), not the newest record (the rollback's, which names r1). Then the
	// CLI rolls back to where the console's preview goes.
	e.commit(t, "third", "index.html", "v3")
	r3 := releaseOf(t, mustRun(t, e.db, "deploy", "--env", "test", "--yes"))
	if pv, err = fns.RollbackPreview(ctx, "app", "test", ""); err != nil || pv.From.ReleaseID != r3 || pv.Target.ReleaseID != r1 {
		t.Fatalf("console preview after %s: from %s to %s, %v", r3, pv.From.ReleaseID, pv.Target.ReleaseID, err)
	}
	cliOut := mustRun(t, e.db, "rollback", "--env", "test", "--yes")
	if !strings.Contains(cliOut, "back from release "+r3+" (") || !strings.Contains(cliOut, "release "+pv.Target.ReleaseID+": success") {
		t.Errorf("the CLI's rollback:\n%s", cliOut)
	}
}
