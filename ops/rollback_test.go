package ops

import (
	"errors"
	"strings"
	"testing"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
)

// TestRollbackRunsThePreviewedPlanOrRefuses: the preview names the
// release to go back from and to, what it undoes and the commits that go
// away. A host is added between the preview and the confirmation: the
// rollback is refused with the change listed, nothing recorded, no host
// switched (it used to choose again and run on the new inventory).
// Previewed again, it runs in the strategy chosen.
func TestRollbackRunsThePreviewedPlanOrRefuses(t *testing.T) {
	t.Parallel()
	e := newDeployEnv(t, 2)
	ctx := t.Context()
	r1 := e.deployed(t).ReleaseID
	e.commit(t, "second", "v2")
	r2 := e.deployed(t).ReleaseID

	pv, err := e.svc.PreviewRollback(ctx, "app", "test", "")
	if err != nil {
		t.Fatal(err)
	}
	names := e.Fleet.Hosts[0].Name + "," + e.Fleet.Hosts[1].Name
	if pv.From.ReleaseID != r2 || pv.Target.ReleaseID != r1 || strings.Join(pv.Hosts, ",") != names ||
		len(pv.Candidates) != 1 || pv.Candidates[0].ReleaseID != r1 || len(pv.Undone) != 1 || len(pv.Migrated) != 0 ||
		len(pv.Commits) != 1 || pv.Commits[0].Subject != "second" ||
		pv.Plan == nil || pv.Plan.Choice.Target.ReleaseID != r1 || pv.Plan.Plan.ReleaseID != r1 || len(pv.Plan.Plan.Hosts) != 2 {
		t.Fatalf("preview %+v", pv)
	}
	rolling := func(pv RollbackPreview) *deploy.RollbackPlan {
		t.Helper()
		rp, err := pv.Plan.WithStrategy(deploy.Strategy{Kind: deploy.StrategyRolling})
		if err != nil {
			t.Fatal(err)
		}
		return rp
	}

	restore := e.editFleet(t, func(f *inventory.Fleet) {
		f.Hosts = append(f.Hosts, inventory.Host{Name: "web-new", Address: "127.0.0.1", Env: "test", Roles: []string{"web"}})
	})
	out, err := e.svc.Rollback(ctx, rolling(pv), IO{})
	var fc *deploy.FleetChangedError
	if out != nil || !errors.As(err, &fc) || !strings.Contains(err.Error(), "host web-new was added") {
		t.Fatalf("rollback after the inventory changed: %+v, %v; want it refused", out, err)
	}
	if rs, err := e.svc.Store.ListReleases(ctx, "app", "test", 0); err != nil || len(rs) != 2 {
		t.Errorf("releases recorded: %+v %v", rs, err)
	}
	for i := range e.Fleet.Hosts {
		if rel := e.current(t, i); rel != r2 {
			t.Errorf("host %d runs %s, want %s (untouched)", i, rel, r2)
		}
	}

	restore()
	if pv, err = e.svc.PreviewRollback(ctx, "app", "test", ""); err != nil {
		t.Fatal(err)
	}
	out, err = e.svc.Rollback(ctx, rolling(pv), IO{})
	if err != nil || out.Result != store.ReleaseSuccess {
		t.Fatalf("rollback: %+v %v", out, err)
	}
	rs, err := e.svc.Store.ListReleases(ctx, "app", "test", 1)
	if err != nil || len(rs) != 1 || rs[0].Kind != store.KindRollback || rs[0].ReleaseID != r1 || rs[0].Strategy != "rolling" ||
		rs[0].Operator != "alice" || strings.Join(rs[0].HostList(), ",") != names {
		t.Fatalf("the rollback's record: %+v %v", rs, err)
	}
	for i := range e.Fleet.Hosts {
		if rel := e.current(t, i); rel != r1 {
			t.Errorf("host %d runs %s, want %s", i, rel, r1)
		}
	}
}
