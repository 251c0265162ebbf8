package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/ui"
)

// consoleFor opens the console's session on e's store, as `opsui` does.
func consoleFor(t *testing.T, e *deployEnv) (*consoleSession, *store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), e.db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cs, err := newConsoleSession(st, ui.NewAsker())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cs.close)
	return cs, st
}

var quietIO = ui.FlowIO{Emit: func(remote.Event) {}, Say: func(string) {}}

// TestConsoleDeployRunsThePreviewedPlanOrRefuses goes through the
// console's real wiring (its flows, session pool and store) on real
// hosts: the inventory changes between the wizard's preview and its
// confirmation, and the deploy is refused with the changes listed, no
// host touched, nothing recorded. Previewed again, the same Deploy runs,
// and so does the CLI's, through the same builder: their records agree.
func TestConsoleDeployRunsThePreviewedPlanOrRefuses(t *testing.T) {
	e := newDeployEnv(t, 2, "")
	cs, st := consoleFor(t, e)
	fns := cs.flows()
	ctx := context.Background()

	pv, err := fns.Preview(ctx, "app", "test", "main")
	if err != nil {
		t.Fatal(err)
	}
	if pv.Plan == nil || len(pv.Plan.Hosts) != 2 || pv.Plan.Source.Branch != "main" || len(pv.Hosts) != 2 || !pv.Hosts[0].Reachable {
		t.Fatalf("preview %+v", pv)
	}
	plan, err := pv.Plan.WithStrategy(deploy.Strategy{Kind: deploy.StrategyRolling, AutoRollback: true})
	if err != nil {
		t.Fatal(err)
	}

	// The fleet file changes and is imported while the wizard waits: one
	// host moves to another deploy_to, and a host is added.
	file := filepath.Join(t.TempDir(), "fleet.yaml")
	mustRun(t, e.db, "inventory", "export", "-o", file)
	doc, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	h1 := e.fleet.Hosts[1]
	moved := e.deployTo(h1.Name) + "-moved"
	changed := strings.Replace(string(doc), "deploy_to: "+e.deployTo(h1.Name), "deploy_to: "+moved, 1)
	changed += "  - name: web-new\n    address: 127.0.0.1\n    env: test\n    roles: [web]\n"
	if !strings.Contains(changed, "deploy_to: "+moved) {
		t.Fatalf("the fleet file did not change:\n%s", doc)
	}
	if err := os.WriteFile(file, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, e.db, "inventory", "import", file)

	out, err := fns.Deploy(ctx, plan, quietIO)
	var fc *deploy.FleetChangedError
	if out != nil || !errors.As(err, &fc) {
		t.Fatalf("deploy after the inventory changed: %+v, %v; want it refused", out, err)
	}
	for _, want := range []string{"host " + h1.Name + ": deploy_to " + e.deployTo(h1.Name) + " → " + moved, "host web-new was added", "preview again"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal lacks %q: %v", want, err)
		}
	}
	if rs, err := st.ListReleases(ctx, "app", "test", 10); err != nil || len(rs) != 0 {
		t.Errorf("releases recorded: %+v %v", rs, err)
	}
	for i, h := range e.fleet.Hosts {
		if got := sshOutput(t, h.Address(), e.cfg, "ls -A "+e.deployTo(h.Name)+" "+moved+" 2>/dev/null; true"); strings.TrimSpace(got) != "" {
			t.Errorf("host %d was touched: %s", i, got)
		}
	}

	// Back to the fleet the preview saw: previewed again, it deploys.
	if err := os.WriteFile(file, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, e.db, "inventory", "import", file)
	pv, err = fns.Preview(ctx, "app", "test", "main")
	if err != nil {
		t.Fatal(err)
	}
	out, err = fns.Deploy(ctx, pv.Plan, quietIO)
	if err != nil || out.Result != store.ReleaseSuccess {
		t.Fatalf("console deploy: %+v %v", out, err)
	}
	e.commit(t, "second", "index.html", "v2")
	cliOut := mustRun(t, e.db, "deploy", "--env", "test", "--yes")
	rs, err := st.ListReleases(ctx, "app", "test", 10)
	if err != nil || len(rs) != 2 {
		t.Fatalf("releases %+v %v\n%s", rs, err, cliOut)
	}
	cli, console := rs[0], rs[1]
	if console.ReleaseID != out.ReleaseID || cli.ReleaseID != releaseOf(t, cliOut) {
		t.Errorf("records %s and %s, deploys %s and %s", console.ReleaseID, cli.ReleaseID, out.ReleaseID, releaseOf(t, cliOut))
	}
	for _, r := range rs {
		if r.Kind != store.KindDeploy || r.Result != store.ReleaseSuccess || r.Strategy != "all" || r.Branch != "main" ||
			strings.Join(r.HostList(), ",") != e.fleet.Hosts[0].Name+","+e.fleet.Hosts[1].Name {
			t.Errorf("record %+v", r)
		}
	}
	for i := range e.fleet.Hosts {
		if rel, _ := e.current(t, i); rel != cli.ReleaseID {
			t.Errorf("host %d runs %s, want %s", i, rel, cli.ReleaseID)
		}
	}
}

// TestDeployStrategyFlagsParsedWithTheFlags: --strategy, --batch and
// --max-fail are parsed once, with the flags, into typed values: a bad
// one is a usage error before the inventory is even read.
func TestDeployStrategyFlagsParsedWithTheFlags(t *testing.T) {
	db := filepath.Join(t.TempDir(), "opsui.db")
	for _, tc := range []struct{ flag, value, want string }{
		{"--max-fail", "lots", `max-fail "lots"`},
		{"--batch", "1,,2", `batch sizes "1,,2"`},
		{"--strategy", "blue-green", "unknown strategy"},
	} {
		_, err := opsuiCmd(t, db, "", "deploy", "--env", "test", "--dry-run", tc.flag, tc.value)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: %v; want a usage error saying %s", tc.flag, tc.value, err, tc.want)
		}
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("a bad flag opened the store")
	}
}

// TestConsoleMigrateRunsThePreviewedPlanOrRefuses goes through the
// console's migrate wiring on real hosts: the preview carries its plan
// (deploy.PreviewMigrate), and the run takes that plan, as it is. A deploy
// recorded between the preview and the run makes it refuse, saying so,
// no migrate run started (it would migrate a release nobody saw); the
// plan previewed again runs once on the migration host, in the release it
// names.
func TestConsoleMigrateRunsThePreviewedPlanOrRefuses(t *testing.T) {
	e := newDeployEnv(t, 2, "",
		`migrate: "echo '  Applying shop.0002_order... OK'"`,
		`migrate_plan: "printf '[X]  shop.0001_initial\\n[ ]  shop.0002_order\\n'"`)
	ctx := context.Background()
	r1 := releaseOf(t, mustRun(t, e.db, "deploy", "--env", "test", "--yes"))
	cs, st := consoleFor(t, e)
	fns := cs.flows()
	mp, err := fns.MigrationPlan(ctx, "app", "test")
	web1 := e.fleet.Hosts[0].Name
	if err != nil || mp.Plan == nil || mp.Plan.Current.ReleaseID != r1 || mp.Plan.Host.Name != web1 || mp.Host != web1 ||
		mp.Release != r1 || mp.Total != 2 || strings.Join(mp.Pending, ",") != "shop.0002_order" {
		t.Fatalf("console migrate preview %+v %v", mp, err)
	}

	// A deploy lands while the flow waits.
	e.commit(t, "second", "index.html", "v2")
	r2 := releaseOf(t, mustRun(t, e.db, "deploy", "--env", "test", "--yes"))
	res, err := fns.Migrate(ctx, mp.Plan, quietIO)
	var fc *deploy.FleetChangedError
	if res.Outcome != nil || !errors.As(err, &fc) || !strings.Contains(err.Error(), "release "+r2+" (deploy") {
		t.Fatalf("migrate after a deploy: %+v, %v; want it refused naming %s", res, err, r2)
	}
	if runs, err := st.ListRuns(ctx, store.RunFilter{Kind: store.KindMigrate}); err != nil || len(runs) != 0 {
		t.Fatalf("migrate runs after the refusal: %+v %v", runs, err)
	}

	// Previewed again, it runs once, on web1, in r2.
	if mp, err = fns.MigrationPlan(ctx, "app", "test"); err != nil || mp.Plan == nil || mp.Release != r2 {
		t.Fatalf("console migrate preview again: %+v %v", mp, err)
	}
	res, err = fns.Migrate(ctx, mp.Plan, quietIO)
	if err != nil || res.Outcome == nil || res.Outcome.Result != store.ReleaseSuccess || res.Host != web1 || !res.Applied {
		t.Fatalf("console migrate: %+v %v", res, err)
	}
	runs, err := st.ListRuns(ctx, store.RunFilter{Kind: store.KindMigrate})
	if err != nil || len(runs) != 1 {
		t.Fatalf("migrate runs: %+v %v", runs, err)
	}
	hosts, err := st.RunHosts(ctx, runs[0].ID)
	if err != nil || len(hosts) != 1 || hosts[0].Host != web1 {
		t.Errorf("the migrate ran on %+v %v; want %s alone", hosts, err, web1)
	}
}
