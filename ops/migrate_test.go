package ops

import (
	"errors"
	"strings"
	"testing"

	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
)

// TestMigrateRunsThePreviewedPlanOrRefuses: the preview carries its plan
// (deploy.PreviewMigrate) and lists the migrations pending on the
// migration host; the run takes that plan, as it is. A deploy recorded
// between the preview and the run makes it refuse, saying so, no migrate
// run started (it would migrate a release nobody saw); the plan previewed
// again runs once on the migration host, in the release it names.
func TestMigrateRunsThePreviewedPlanOrRefuses(t *testing.T) {
	t.Parallel()
	e := newDeployEnv(t, 2,
		`migrate: "echo '  Applying shop.0002_order... OK'"`,
		`migrate_plan: "printf '[X]  shop.0001_initial\\n[ ]  shop.0002_order\\n'"`)
	ctx := t.Context()
	r1 := e.deployed(t).ReleaseID
	mp, err := e.svc.PreviewMigrate(ctx, "app", "test")
	web1 := e.Fleet.Hosts[0].Name
	if err != nil || mp.Plan == nil || mp.Plan.Current.ReleaseID != r1 || mp.Plan.Host.Name != web1 || mp.Host != web1 ||
		mp.Release != r1 || mp.Total != 2 || strings.Join(mp.Pending, ",") != "shop.0002_order" || mp.Command == "" {
		t.Fatalf("migrate preview %+v %v", mp, err)
	}

	// A deploy lands while the flow waits.
	e.commit(t, "second", "v2")
	r2 := e.deployed(t).ReleaseID
	res, err := e.svc.Migrate(ctx, mp.Plan, IO{})
	var fc *deploy.FleetChangedError
	if res.Outcome != nil || !errors.As(err, &fc) || !strings.Contains(err.Error(), "release "+r2+" (deploy") {
		t.Fatalf("migrate after a deploy: %+v, %v; want it refused naming %s", res, err, r2)
	}
	if runs, err := e.svc.Store.ListRuns(ctx, store.RunFilter{Kind: store.KindMigrate}); err != nil || len(runs) != 0 {
		t.Fatalf("migrate runs after the refusal: %+v %v", runs, err)
	}

	// Previewed again, it runs once, on web1, in r2.
	if mp, err = e.svc.PreviewMigrate(ctx, "app", "test"); err != nil || mp.Plan == nil || mp.Release != r2 {
		t.Fatalf("migrate preview again: %+v %v", mp, err)
	}
	res, err = e.svc.Migrate(ctx, mp.Plan, IO{})
	if err != nil || res.Outcome == nil || res.Outcome.Result != store.ReleaseSuccess || res.Host != web1 || !res.Applied {
		t.Fatalf("migrate: %+v %v", res, err)
	}
	runs, err := e.svc.Store.ListRuns(ctx, store.RunFilter{Kind: store.KindMigrate})
	if err != nil || len(runs) != 1 || runs[0].Operator != "alice" {
		t.Fatalf("migrate runs: %+v %v", runs, err)
	}
	hosts, err := e.svc.Store.RunHosts(ctx, runs[0].ID)
	if err != nil || len(hosts) != 1 || hosts[0].Host != web1 {
		t.Errorf("the migrate ran on %+v %v; want %s alone", hosts, err, web1)
	}
	if cur, err := e.svc.Store.LatestRelease(ctx, "app", "test", true); err != nil || cur.ReleaseID != r2 || !cur.MigrationsApplied {
		t.Errorf("release %s is not recorded as migrated: %+v %v", r2, cur, err)
	}
}

// TestPreviewMigrateSaysWhyItCannotList: a plan command that fails is
// said in the preview's output, not returned: the migrate can still run.
func TestPreviewMigrateSaysWhyItCannotList(t *testing.T) {
	t.Parallel()
	e := newDeployEnv(t, 1, `migrate: "true"`, `migrate_plan: "echo broken >&2; exit 3"`)
	e.deployed(t)
	mp, err := e.svc.PreviewMigrate(t.Context(), "app", "test")
	if err != nil || mp.Plan == nil || !strings.HasPrefix(mp.Output, "cannot list the pending migrations: ") || mp.Pending != nil {
		t.Fatalf("preview %+v %v", mp, err)
	}
}
