package deploy

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/demoapp"
	"github.com/opsui/opsui/internal/webtest"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/store"
)

// TestDjangoRollingDeployAndRollbackDropNoRequest deploys the demo Django
// app with the django preset to two web hosts running real gunicorn behind
// a real nginx, while a load generator sends requests through nginx the
// whole time: a rolling deploy and a rollback must not fail one request,
// and afterwards REVISION, current, what each host serves and the store
// agree.
func TestDjangoRollingDeployAndRollbackDropNoRequest(t *testing.T) {
	webtest.RequireNginx(t)
	webtest.RequireDjango(t)
	webtest.RequireGunicorn(t)
	tb := newTestbed(t, 2)
	ctx := context.Background()
	repo := tb.useDemoShop()
	tb.app.MigratePlan = "./venv/bin/python manage.py showmigrations --plan"
	tb.inv.Apps = []inventory.App{tb.app}
	var backends []string
	for _, h := range tb.fleet.Hosts {
		backends = append(backends, net.JoinHostPort(h.Addr, "8000"))
	}
	tb.settings = func(h inventory.Host) map[string]inventory.RoleSettings {
		return map[string]inventory.RoleSettings{"web": {HealthURL: "http://" + h.Address + ":8000/health/",
			Options: map[string]string{"bind": h.Address + ":8000", "workers": "2"}}}
	}

	first := tb.deploy(repo.Hash(demoapp.CommitAddOrder), Strategy{Kind: "all", AutoRollback: true})
	if first.Result != store.ReleaseSuccess {
		tb.logf(first)
		t.Fatalf("first deploy: %s", first.Result)
	}
	if rel, err := tb.st.ReleaseNamed(ctx, "app", "test", first.ReleaseID); err != nil || !rel.MigrationsApplied {
		t.Errorf("the first release applied shop's migrations but its record says %v (%v)", rel.MigrationsApplied, err)
	}
	lb := webtest.StartNginx(t, "127.0.0.1:0", backends)
	load := webtest.StartLoad(ctx, lb.URL(demoapp.HealthPath), 8, webtest.KeyFields("release"))
	time.Sleep(300 * time.Millisecond)

	second := tb.deploy(repo.Hash(demoapp.CommitGreeting), Strategy{Kind: "rolling", Batches: Batches{{N: 1}}, AutoRollback: true})
	if second.Result != store.ReleaseSuccess {
		load.Stop()
		tb.logf(second)
		t.Fatalf("rolling deploy: %s", second.Result)
	}
	for i := range tb.fleet.Hosts {
		if rel, rev := tb.current(i); rel != second.ReleaseID || rev != repo.Hash(demoapp.CommitGreeting) {
			t.Errorf("host %d: current %s (%s), want %s", i, rel, rev, second.ReleaseID)
		}
	}
	if rel, err := tb.st.ReleaseNamed(ctx, "app", "test", second.ReleaseID); err != nil || rel.MigrationsApplied {
		t.Errorf("the second release had no migration to apply but its record says %v (%v)", rel.MigrationsApplied, err)
	}
	plan, err := tb.deployer().MigrationPlan(ctx, tb.plan("main", Strategy{}))
	if err != nil || len(plan.Plan) < 2 || len(Pending(plan.Plan)) != 0 {
		t.Errorf("migration plan: %+v, %v", plan, err)
	}
	choice, err := ChooseRollback(ctx, tb.st, "app", "test", "")
	if err != nil {
		t.Fatal(err)
	}
	p := tb.plan(choice.Target.Commit, Strategy{Kind: "rolling", Batches: Batches{{N: 1}}})
	p.ReleaseID, p.Source = choice.Target.ReleaseID, Source{Commit: choice.Target.Commit}
	back, err := tb.deployer().Rollback(ctx, p, choice)
	if err != nil || back.Result != store.ReleaseSuccess {
		tb.logf(back)
		t.Fatalf("rollback: %v %v", back.Result, err)
	}
	time.Sleep(300 * time.Millisecond)
	res := load.Stop()
	t.Logf("load through nginx: %s", res)
	if res.Failed != 0 || res.Total < 50 {
		t.Errorf("%d of %d requests failed during the rolling deploy and rollback", res.Failed, res.Total)
	}
	for _, id := range []string{first.ReleaseID, second.ReleaseID} {
		if _, ok := res.Releases[id]; !ok {
			t.Errorf("no request was answered by release %s (saw %v)", id, res.Keys())
		}
	}
	for i, h := range tb.fleet.Hosts {
		run := func(cmd string) (string, error) { return tb.sh(i, cmd), nil }
		webtest.CheckRelease(t, run, tb.deployTo, first.ReleaseID, repo.Hash(demoapp.CommitAddOrder))
		if body := tb.sh(i, "curl -s http://"+h.Addr+":8000/health/"); !strings.Contains(body, "release="+first.ReleaseID) {
			t.Errorf("%s serves %q after the rollback, want release %s", h.Name, body, first.ReleaseID)
		}
	}
	latest, err := tb.st.LatestRelease(ctx, "app", "test", true)
	if err != nil || latest.ReleaseID != first.ReleaseID || latest.Commit != repo.Hash(demoapp.CommitAddOrder) {
		t.Errorf("store's latest good release = %s %s, %v", latest.ReleaseID, latest.Commit, err)
	}
}
