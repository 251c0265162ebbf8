package deploy

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/internal/webtest"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/store"
)

// djangoFleet is the fleet file a new user writes for the project of
// webtest.CreateDjangoProject: the preset, the app's environment and the
// site's name for the health check; no migrate:, no wrapper script, no
// settings override. %[1]s is the repository, %[2]s deploy_to, %[3]s the
// database's directory, %[4]s the hosts.
const djangoFleet = `environments:
  - name: test
apps:
  - name: notes
    repo: %[1]s
    deploy_to: %[2]s
    keep_releases: 3
    preset: django
    shared: [logs/]
    env:
      DJANGO_SECRET_KEY: {secret: notes_key}
      DJANGO_DEBUG: "0"
      DATABASE_URL: sqlite:///%[3]s/notes.sqlite3
    secrets:
      notes_key: {env: NOTES_SECRET_KEY}
    health:
      url: http://127.0.0.1:8000/health/
      host: www.notes.test
      expect: release=$RELEASE_ID
      retries: 30
      deadline: 30s
hosts:
%[4]s`

// newDjangoTestbed is a testbed of n hosts deploying the project with
// djangoFleet, each host's gunicorn on its own address.
func newDjangoTestbed(t testing.TB, n int) (*testbed, *webtest.DjangoProject) {
	t.Helper()
	webtest.RequireGunicorn(t)
	tb := newTestbedWith(t, n)
	proj, err := webtest.CreateDjangoProject(context.Background(), filepath.Join(t.TempDir(), "notes"))
	if err != nil {
		t.Fatal(err)
	}
	// One database for every host, as a real site has (the hosts share /tmp).
	dbDir := t.TempDir()
	if err := os.Chmod(dbDir, 0o777); err != nil {
		t.Fatal(err)
	}
	var hosts strings.Builder
	for i, h := range tb.fleet.Hosts {
		roles := "[web]"
		if i == 0 {
			roles = "[web, db-migrate]"
		}
		fmt.Fprintf(&hosts, "  - name: %s\n    address: %s\n    port: %d\n    env: test\n    roles: %s\n    settings:\n      web:\n        health_url: http://%s:8000/health/\n        options: {bind: \"%s\", workers: \"2\"}\n",
			h.Name, h.Addr, h.Port, roles, h.Addr, net.JoinHostPort(h.Addr, "8000"))
	}
	doc := fmt.Sprintf(djangoFleet, proj.Dir, tb.deployTo, dbDir, hosts.String())
	f, err := inventory.DecodeYAML("fleet.yaml", []byte(doc))
	if err != nil {
		t.Fatalf("the fleet file:\n%s\n%v", doc, err)
	}
	if err := inventory.Validate(f); err != nil {
		t.Fatalf("the fleet file:\n%s\n%v", doc, err)
	}
	if f.Apps[0].Migrate != "" || f.Apps[0].MigratePlan != "" {
		t.Fatal("the fleet file sets a migrate command")
	}
	t.Setenv("NOTES_SECRET_KEY", "a-secret-nobody-sees")
	tb.repo, tb.app, tb.inv = proj.Dir, f.Apps[0], f
	tb.settings = func(h inventory.Host) map[string]inventory.RoleSettings { return h.Settings }
	t.Cleanup(func() {
		for i := range tb.fleet.Hosts {
			tb.sh(i, `p=$(cat `+tb.deployTo+`/shared/gunicorn.pid 2>/dev/null) && kill -TERM "$p" 2>/dev/null; true`)
		}
	})
	return tb, proj
}

// TestDjangoProjectDeploysWithThePresetAlone deploys a Django project
// written as real ones are (settings from the environment, explicit
// ALLOWED_HOSTS) with nothing but the preset: the dry run promises the
// migration it runs, the first deploy migrates with the preset's command
// and passes a health check that names the site, gunicorn carries none of
// the deploy's variables, and a second commit with a migration rolls out
// batch by batch under load through nginx with no failed request.
func TestDjangoProjectDeploysWithThePresetAlone(t *testing.T) {
	tb, proj := newDjangoTestbed(t, 2)
	ctx := context.Background()

	var dry bytes.Buffer
	tb.plan(proj.Hashes[webtest.DjangoInitial], Strategy{}).Describe(&dry)
	if !strings.Contains(dry.String(), "OPSUI_MIGRATE='./venv/bin/python manage.py migrate --noinput'") || strings.Contains(dry.String(), "skipped: app") {
		t.Errorf("the dry run does not show the preset's migrate command:\n%s", dry.String())
	}
	if !strings.Contains(dry.String(), "with header Host: www.notes.test") {
		t.Errorf("the dry run does not show the health request's Host header:\n%s", dry.String())
	}

	first := tb.deploy(proj.Hashes[webtest.DjangoInitial], Strategy{Kind: "all", AutoRollback: true})
	if first.Result != store.ReleaseSuccess {
		tb.logf(first)
		t.Fatalf("first deploy: %s", first.Result)
	}
	if rel, err := tb.st.ReleaseNamed(ctx, "notes", "test", first.ReleaseID); err != nil || !rel.MigrationsApplied {
		t.Errorf("the first deploy ran the preset's migrate, but its record says migrated=%v (%v)", rel.MigrationsApplied, err)
	}
	plan, err := tb.deployer().MigrationPlan(ctx, tb.plan("main", Strategy{}))
	if err != nil || len(plan.Plan) < 15 || len(Pending(plan.Plan)) != 0 {
		t.Errorf("the preset's migration plan: %d migrations, %d pending, %v\n%s", len(plan.Plan), len(Pending(plan.Plan)), err, plan.Output)
	}
	for i, h := range tb.fleet.Hosts {
		url := "http://" + net.JoinHostPort(h.Addr, "8000") + "/health/"
		if code := tb.sh(i, "curl -s -o /dev/null -w '%{http_code}' "+url); code != "400" {
			t.Errorf("%s: a request for the address answered %s, want 400 (the project's ALLOWED_HOSTS)", h.Name, code)
		}
		body := tb.sh(i, "curl -s -H 'Host: www.notes.test' "+url)
		if !strings.Contains(body, "release="+first.ReleaseID) || !strings.Contains(body, "debug=False") {
			t.Errorf("%s answers %q, want release %s with DEBUG off", h.Name, body, first.ReleaseID)
		}
		if !strings.Contains(body, "stage_release_id=-") {
			t.Errorf("%s: gunicorn inherited the deploy's RELEASE_ID: %q", h.Name, body)
		}
	}

	var backends []string
	for _, h := range tb.fleet.Hosts {
		backends = append(backends, net.JoinHostPort(h.Addr, "8000"))
	}
	lb := webtest.StartNginx(t, "127.0.0.1:0", backends)
	load := webtest.StartLoad(ctx, lb.URL(webtest.DjangoHealthPath), 8, webtest.WithHost(webtest.DjangoSiteHost))
	time.Sleep(300 * time.Millisecond)
	// notes.0002 adds a NOT NULL column with a Python-side default: the
	// preset's own migrate command is checked, and a rolling deploy needs
	// the operator's word that the old code tolerates it (it only reads
	// /health/ here).
	rolling := Strategy{Kind: "rolling", Batches: Batches{{N: 1}}, AutoRollback: true}
	if pre, ok, err := tb.deployer().PreviewMigrations(ctx, tb.plan(proj.Hashes[webtest.DjangoAddTag], rolling)); err != nil || !ok || pre.Verdict() != VerdictBreaking {
		t.Errorf("the preview of notes.0002 with the preset's migrate: %+v ok %v err %v; want breaking", pre, ok, err)
	}
	second := tb.deployTolerated(proj.Hashes[webtest.DjangoAddTag], rolling)
	time.Sleep(300 * time.Millisecond)
	res := load.Stop()
	t.Logf("load through nginx: %s", res)
	if second.Result != store.ReleaseSuccess {
		tb.logf(second)
		t.Fatalf("rolling deploy: %s", second.Result)
	}
	if res.Failed != 0 || res.Total < 50 {
		t.Errorf("%d of %d requests failed during the rolling deploy", res.Failed, res.Total)
	}
	if _, ok := res.Releases[second.ReleaseID]; !ok {
		t.Errorf("no request was answered by release %s (saw %v)", second.ReleaseID, res.Keys())
	}
	if rel, err := tb.st.ReleaseNamed(ctx, "notes", "test", second.ReleaseID); err != nil || !rel.MigrationsApplied {
		t.Errorf("the second deploy applied notes.0002_note_tag, but its record says migrated=%v (%v)", rel.MigrationsApplied, err)
	}
	for i := range tb.fleet.Hosts {
		run := func(cmd string) (string, error) { return tb.sh(i, cmd), nil }
		webtest.CheckRelease(t, run, tb.deployTo, second.ReleaseID, proj.Hashes[webtest.DjangoAddTag])
	}

	// A changed worker count takes effect with a HUP (the same master),
	// under load, with no failed request.
	masters := map[int]string{}
	for i := range tb.fleet.Hosts {
		masters[i] = tb.sh(i, "cat "+tb.deployTo+"/shared/gunicorn.pid")
	}
	for i := range tb.inv.Hosts {
		web := tb.inv.Hosts[i].Settings["web"]
		web.Options = map[string]string{"bind": web.Options["bind"], "workers": "3"}
		tb.inv.Hosts[i].Settings["web"] = web
	}
	load = webtest.StartLoad(ctx, lb.URL(webtest.DjangoHealthPath), 8, webtest.WithHost(webtest.DjangoSiteHost))
	time.Sleep(300 * time.Millisecond)
	third := tb.deploy(proj.Hashes[webtest.DjangoAddTag], Strategy{Kind: "rolling", Batches: Batches{{N: 1}}, AutoRollback: true})
	time.Sleep(300 * time.Millisecond)
	res = load.Stop()
	t.Logf("load through nginx, workers 2 -> 3: %s", res)
	if third.Result != store.ReleaseSuccess {
		tb.logf(third)
		t.Fatalf("deploy with 3 workers: %s", third.Result)
	}
	if res.Failed != 0 {
		t.Errorf("%d of %d requests failed while the worker count changed", res.Failed, res.Total)
	}
	for i, h := range tb.fleet.Hosts {
		if pid := tb.sh(i, "cat "+tb.deployTo+"/shared/gunicorn.pid"); pid != masters[i] {
			t.Errorf("%s: master %s replaced by %s: a worker count change needs only a HUP", h.Name, masters[i], pid)
		}
		workers := func() string {
			return tb.sh(i, `pid=$(cat `+tb.deployTo+`/shared/gunicorn.pid); n=0
for p in /proc/[0-9]*; do set -- $(cat $p/stat 2>/dev/null); [ "${4-}" = "$pid" ] && n=$((n+1)); done; echo $n`)
		}
		testenv.WaitFor(t, time.Minute, h.Name+" running 3 workers", func() bool { return workers() == "3" })
	}

	// A master started with another command line (an older opsui's) is
	// restarted, not sent a HUP it could not apply.
	tb.sh(0, "echo an-older-command > "+tb.deployTo+"/shared/gunicorn.cmd")
	fourth := tb.deploy(proj.Hashes[webtest.DjangoAddTag], Strategy{Kind: "all", AutoRollback: true})
	if fourth.Result != store.ReleaseSuccess {
		tb.logf(fourth)
		t.Fatalf("deploy over a master started differently: %s", fourth.Result)
	}
	if pid := tb.sh(0, "cat "+tb.deployTo+"/shared/gunicorn.pid"); pid == masters[0] {
		t.Errorf("the master started with another command line was only sent a HUP")
	}
	if body := tb.sh(0, "curl -s -H 'Host: www.notes.test' http://"+tb.fleet.Hosts[0].Addr+":8000/health/"); !strings.Contains(body, "release="+fourth.ReleaseID) {
		t.Errorf("after the restart the host answers %q, want release %s", body, fourth.ReleaseID)
	}
}

// TestDjangoFailedFirstDeployDoesNotServe: a first deploy whose health
// fails has no release to go back to: its app server is stopped, current
// removed, the record says failed (not rolled back), the release is
// marked BAD and revisions.log does not name it.
func TestDjangoFailedFirstDeployDoesNotServe(t *testing.T) {
	tb, proj := newDjangoTestbed(t, 1)
	ctx := context.Background()
	tb.app.Health.Retries, tb.app.Health.Deadline = 3, inventory.Duration(5*time.Second)
	tb.inv.Apps[0] = tb.app
	out := tb.deploy(proj.Hashes[webtest.DjangoBreakHealth], Strategy{Kind: "all", AutoRollback: true})
	if out.Result != store.ReleaseFailed {
		tb.logf(out)
		t.Fatalf("a first deploy whose health fails: %s, want failed", out.Result)
	}
	rel, err := tb.st.ReleaseNamed(ctx, "notes", "test", out.ReleaseID)
	if err != nil || rel.Result != store.ReleaseFailed || len(rel.HostList()) != 0 {
		t.Errorf("the release record: %s on %v (%v), want failed on no host", rel.Result, rel.HostList(), err)
	}
	h := tb.fleet.Hosts[0]
	state := tb.sh(0, fmt.Sprintf(`cd %[1]s; [ -e current ] || [ -L current ] && echo current; [ -s shared/gunicorn.pid ] && kill -0 "$(cat shared/gunicorn.pid)" 2>/dev/null && echo running
curl -s -o /dev/null -w 'http=%%{http_code}\n' -H 'Host: www.notes.test' http://%[2]s:8000/health/; [ -f releases/%[3]s/BAD ] && echo bad; cat revisions.log 2>/dev/null; true`,
		tb.deployTo, h.Addr, out.ReleaseID))
	for _, bad := range []string{"current", "running", out.ReleaseID} {
		if strings.Contains(state, bad) {
			t.Errorf("after the failed first deploy the host shows %q:\n%s", bad, state)
		}
	}
	if !strings.Contains(state, "http=000") || !strings.Contains(state, "bad") {
		t.Errorf("the host still answers, or the release is not marked BAD:\n%s", state)
	}
}
