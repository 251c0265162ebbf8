package deploy

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/opsui/opsui/store"
)

// storeFleet saves tb's inventory (its hosts with their settings) in the
// store, as an import does, so that previews read it from there.
func (tb *testbed) storeFleet(ctx context.Context, protected bool) {
	tb.t.Helper()
	inv := cloneFleet(tb.t.(*testing.T), tb.inv)
	inv.Hosts = tb.hosts()
	inv.Apps[0] = tb.app
	inv.Environments[0].Protected = protected
	if err := tb.st.SaveFleet(ctx, inv); err != nil {
		tb.t.Fatal(err)
	}
}

// TestExecuteRollbackRunsThePreviewOrRefuses previews a rollback of real
// hosts from the stored inventory and runs it after the inventory, then
// the releases, changed: ExecuteRollback refuses it each time, listing
// the change, with nothing recorded and no host switched (before, the
// release was chosen again when it ran). Previewed again and re-batched,
// it runs as previewed.
func TestExecuteRollbackRunsThePreviewOrRefuses(t *testing.T) {
	tb := newTestbed(t, 2)
	ctx := context.Background()
	tb.storeFleet(ctx, false)
	v1 := tb.deploy("main", Strategy{Kind: StrategyAll, AutoRollback: true})
	tb.commit("second", map[string]string{"index.html": "v2\n"})
	v2 := tb.deploy("main", Strategy{Kind: StrategyAll, AutoRollback: true})
	preview := func() *RollbackPlan {
		t.Helper()
		f, err := tb.st.LoadFleet(ctx)
		if err != nil {
			t.Fatal(err)
		}
		app, _ := f.App("app")
		env, _ := f.Environment("test")
		rp, err := PreviewRollback(ctx, tb.st, RollbackRequest{Fleet: f, App: app, Env: env, Hosts: SelectHosts(f, "test", HostSelection{})})
		if err != nil {
			t.Fatal(err)
		}
		return rp
	}
	rp := preview()
	c := rp.Choice
	if c.From.ReleaseID != v2.ReleaseID || c.Target.ReleaseID != v1.ReleaseID || len(c.Undone) != 1 || c.Undone[0].ReleaseID != v2.ReleaseID {
		t.Fatalf("choice: from %s to %s undoing %d, want %s to %s", c.From.ReleaseID, c.Target.ReleaseID, len(c.Undone), v2.ReleaseID, v1.ReleaseID)
	}
	p := rp.Plan
	if p.ReleaseID != v1.ReleaseID || p.Source.Commit != c.Target.Commit || p.Strategy.Kind != StrategyAll || len(p.Hosts) != 2 ||
		p.LastRelease != v2.ReleaseID || len(rp.Candidates) != 1 || rp.Candidates[0].ReleaseID != v1.ReleaseID {
		t.Fatalf("plan: release %s, commit %s, strategy %s, %d hosts, last %s, %d candidates", p.ReleaseID, p.Source.Commit,
			p.Strategy.Kind, len(p.Hosts), p.LastRelease, len(rp.Candidates))
	}
	rolling, err := rp.WithStrategy(Strategy{Kind: StrategyRolling})
	if err != nil || len(rolling.Plan.Batches) != 2 || rolling.Choice.Target.ID != c.Target.ID || len(rp.Plan.Batches) != 1 {
		t.Fatalf("re-batched: %+v %v", rolling, err)
	}
	unchanged := func(what string, releases int) {
		t.Helper()
		if rs, err := tb.st.ListReleases(ctx, "app", "test", 0); err != nil || len(rs) != releases || rs[0].Kind != store.KindDeploy {
			t.Errorf("%s: releases %+v %v", what, rs, err)
		}
		for i := range tb.fleet.Hosts {
			if rel, _ := tb.current(i); rel == v1.ReleaseID {
				t.Errorf("%s: host %d was rolled back", what, i)
			}
		}
	}

	// The environment becomes protected while the operator reads the
	// preview: the rollback is refused.
	tb.storeFleet(ctx, true)
	out, err := tb.deployer().ExecuteRollback(ctx, rolling)
	var fc *FleetChangedError
	if out != nil || !errors.As(err, &fc) || !strings.Contains(err.Error(), "environment test: protected false → true") {
		t.Fatalf("ExecuteRollback after the inventory changed: %+v, %v; want a FleetChangedError", out, err)
	}
	unchanged("inventory changed", 2)

	// Back to the inventory previewed, but a deploy finished since: the
	// rollback previewed (from v2) is refused, not re-chosen.
	tb.storeFleet(ctx, false)
	tb.commit("third", map[string]string{"index.html": "v3\n"})
	v3 := tb.deploy("main", Strategy{Kind: StrategyAll, AutoRollback: true})
	out, err = tb.deployer().ExecuteRollback(ctx, rolling)
	if out != nil || !errors.As(err, &fc) || !strings.Contains(err.Error(), "release "+v3.ReleaseID+" (deploy of ") {
		t.Fatalf("ExecuteRollback after a deploy: %+v, %v; want a FleetChangedError", out, err)
	}
	unchanged("a release recorded", 3)

	// Previewed again (from v3, back to v2) and re-batched, it runs.
	rp, err = preview().WithStrategy(Strategy{Kind: StrategyRolling})
	if err != nil {
		t.Fatal(err)
	}
	if rp.Choice.Target.ReleaseID != v2.ReleaseID {
		t.Fatalf("the second preview goes to %s, want %s", rp.Choice.Target.ReleaseID, v2.ReleaseID)
	}
	out, err = tb.deployer().ExecuteRollback(ctx, rp)
	if err != nil || out.Result != store.ReleaseSuccess || out.Kind != store.KindRollback {
		t.Fatalf("the rollback previewed again: %+v %v", out, err)
	}
	for i := range tb.fleet.Hosts {
		if rel, _ := tb.current(i); rel != v2.ReleaseID {
			t.Errorf("host %d runs %s, want %s", i, rel, v2.ReleaseID)
		}
	}
	rs, err := tb.st.ListReleases(ctx, "app", "test", 1)
	if err != nil || len(rs) != 1 || rs[0].Kind != store.KindRollback || rs[0].ReleaseID != v2.ReleaseID || rs[0].Strategy != string(StrategyRolling) {
		t.Errorf("the rollback's record: %+v %v", rs, err)
	}
}

// TestExecuteMigrateRunsThePreviewOrRefuses previews a migrate in the
// current release; a deploy finishes before it runs: ExecuteMigrate
// refuses it (before, it ran in the new release, unseen). Previewed
// again, it runs once on the migration host and marks that release.
func TestExecuteMigrateRunsThePreviewOrRefuses(t *testing.T) {
	tb := newTestbed(t, 2)
	ctx := context.Background()
	tb.app.Migrate = "echo '  Applying shop.0002_order... OK'"
	tb.app.MigratePlan = `printf '[X]  shop.0001_initial\n[ ]  shop.0002_order\n'`
	tb.storeFleet(ctx, false)
	v1 := tb.deploy("main", Strategy{Kind: StrategyAll, AutoRollback: true})
	preview := func() *MigratePlan {
		t.Helper()
		f, err := tb.st.LoadFleet(ctx)
		if err != nil {
			t.Fatal(err)
		}
		app, _ := f.App("app")
		env, _ := f.Environment("test")
		mp, err := PreviewMigrate(ctx, tb.st, MigrateRequest{Fleet: f, App: app, Env: env, Hosts: SelectHosts(f, "test", HostSelection{})})
		if err != nil {
			t.Fatal(err)
		}
		return mp
	}
	mp := preview()
	if mp.Current.ReleaseID != v1.ReleaseID || mp.Host.Name != tb.fleet.Hosts[0].Name || mp.Plan.ReleaseID != v1.ReleaseID || mp.Plan.LastRelease != v1.ReleaseID {
		t.Fatalf("migrate plan: current %s on %s, plan %s (last %s)", mp.Current.ReleaseID, mp.Host.Name, mp.Plan.ReleaseID, mp.Plan.LastRelease)
	}
	if res, err := tb.deployer().MigrationPlan(ctx, mp.Plan); err != nil || len(Pending(res.Plan)) != 1 {
		t.Fatalf("pending: %+v %v", res, err)
	}

	tb.commit("second", map[string]string{"index.html": "v2\n"})
	v2 := tb.deploy("main", Strategy{Kind: StrategyAll, AutoRollback: true})
	res, err := tb.deployer().ExecuteMigrate(ctx, mp)
	var fc *FleetChangedError
	if res.Outcome != nil || !errors.As(err, &fc) || !strings.Contains(err.Error(), "release "+v2.ReleaseID+" (deploy of ") {
		t.Fatalf("ExecuteMigrate after a deploy: %+v, %v; want a FleetChangedError", res, err)
	}
	runs, err := tb.st.ListRuns(ctx, store.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if r.Kind == store.KindMigrate {
			t.Errorf("a refused migrate ran: run %+v", r)
		}
	}

	mp = preview()
	res, err = tb.deployer().ExecuteMigrate(ctx, mp)
	if err != nil || !res.Applied || res.Outcome == nil || res.Outcome.Result != store.ReleaseSuccess || res.Host != tb.fleet.Hosts[0].Name {
		t.Fatalf("the migrate previewed again: %+v %v", res, err)
	}
	if r, err := tb.st.ReleaseNamed(ctx, "app", "test", v2.ReleaseID); err != nil || !r.MigrationsApplied {
		t.Errorf("release %s after the migrate: %+v %v", v2.ReleaseID, r, err)
	}
}
