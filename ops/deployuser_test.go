package ops

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/demoapp"
	"github.com/opsui/opsui/internal/remotetest"
	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/internal/webtest"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/logs"
	"github.com/opsui/opsui/store"
)

// userEnv is a fleet of real sshd hosts that log in as the ordinary user
// sshtest.DeployUser, with a fleet file imported into a store and a
// Service wired to them.
type userEnv struct {
	*remotetest.Env
	svc      *Service
	deployTo string
}

// newUserEnv starts n hosts logging in as the deploy user and imports the
// fleet file doc, in which %[1]s is the deploy user, %[2]s deploy_to and
// HOSTS stands for the hosts' entries (indented as a list under hosts:),
// each in environment test with roles [web] and the web role's settings
// given by settings.
func newUserEnv(t *testing.T, n int, doc string, settings func(h *sshtest.Host, deployTo string) string) *userEnv {
	t.Helper()
	e := &userEnv{Env: remotetest.Start(t, n, sshtest.WithDeployUser())}
	e.deployTo = e.Fleet.LoginHome + "/srv/shop"
	var hosts strings.Builder
	for _, h := range e.Fleet.Hosts {
		fmt.Fprintf(&hosts, "  - name: %s\n    address: %s\n    port: %d\n    user: %s\n    env: test\n    roles: [web]\n    identity_file: %s\n",
			h.Name, h.Addr, h.Port, e.Fleet.User, e.Fleet.ClientKeyPath)
		if settings != nil {
			fmt.Fprintf(&hosts, "    settings:\n      web:\n%s", settings(h, e.deployTo))
		}
	}
	text := strings.Replace(fmt.Sprintf(doc, e.Fleet.User, e.deployTo), "HOSTS\n", hosts.String(), 1)
	f, err := inventory.DecodeYAML("fleet.yaml", []byte(text))
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	st := openStore(t)
	if err := st.SaveFleet(t.Context(), f); err != nil {
		t.Fatal(err)
	}
	e.svc = &Service{Store: st, Conn: e.Pool, Operator: "alice", Args: []string{"test"}}
	return e
}

// deploy previews a deploy of ref and runs it with strategy.
func (e *userEnv) deploy(t *testing.T, ref string, s deploy.Strategy) *deploy.Outcome {
	t.Helper()
	pv, err := e.svc.PreviewDeploy(t.Context(), "shop", "test", ref)
	if err != nil {
		t.Fatal(err)
	}
	p, err := pv.Plan.WithStrategy(s)
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.svc.Deploy(t.Context(), p, IO{})
	if err != nil {
		t.Fatalf("deploy %s: %v", ref, err)
	}
	return out
}

// sh runs cmd on host i as the deploy user and returns its output.
func (e *userEnv) sh(t *testing.T, i int, cmd string) string {
	t.Helper()
	de := deployEnv{Env: e.Env}
	return strings.TrimSpace(de.sh(t, i, cmd))
}

func failures(out *deploy.Outcome) string {
	var b strings.Builder
	for _, h := range out.Failed() {
		fmt.Fprintf(&b, "\n%s: %s at %s: %v\n  %s", h.Host, h.Status, h.Step, h.Err, strings.Join(h.Tail, "\n  "))
	}
	return b.String() + "\nnotes: " + strings.Join(out.Notes, "; ")
}

const shopFleet = `environments:
  - name: test
apps:
  - name: shop
    repo: REPO
    deploy_to: %[2]s
    keep_releases: 3
    preset: django
    shared: [logs/]
    migrate: ./venv/bin/python manage.py migrate --noinput
    migrate_plan: ./venv/bin/python manage.py showmigrations --plan
    health:
      url: http://127.0.0.1:8000/health/
      expect: release=$RELEASE_ID
      retries: 30
      deadline: 20s
hosts:
HOSTS
`

// TestDjangoAsOrdinaryDeployUser runs the demo Django app with real
// gunicorn on two hosts that opsui reaches as an ordinary user owning
// deploy_to, behind a real nginx under load: a first deploy (with its
// migrations), a rolling deploy, a migrate, a probe, a log tail and a
// rollback all work without root, drop no request, and everything they
// leave on the hosts (releases, the gunicorn master and its workers)
// belongs to the deploy user.
func TestDjangoAsOrdinaryDeployUser(t *testing.T) {
	webtest.RequireNginx(t)
	webtest.RequireGunicorn(t)
	ctx := t.Context()
	repo, err := demoapp.Create(ctx, filepath.Join(t.TempDir(), "shop"))
	if err != nil {
		t.Fatal(err)
	}
	var logFile string
	e := newUserEnv(t, 2, strings.Replace(shopFleet, "REPO", repo.Dir, 1), func(h *sshtest.Host, deployTo string) string {
		logFile = deployTo + "/shared/logs/gunicorn.log"
		return fmt.Sprintf("        health_url: http://%s:8000/health/\n        logs: [%s]\n        options: {bind: \"%s:8000\", workers: \"2\"}\n", h.Addr, logFile, h.Addr)
	})
	if e.Fleet.User == "root" || e.deployTo != e.Fleet.LoginHome+"/srv/shop" {
		t.Fatalf("fleet logs in as %s to %s", e.Fleet.User, e.deployTo)
	}

	first := e.deploy(t, repo.Hash(demoapp.CommitAddOrder), deploy.Strategy{Kind: deploy.StrategyAll, AutoRollback: true})
	if first.Result != store.ReleaseSuccess {
		t.Fatalf("first deploy as %s: %s%s", e.Fleet.User, first.Result, failures(first))
	}
	var backends []string
	for _, h := range e.Fleet.Hosts {
		backends = append(backends, net.JoinHostPort(h.Addr, "8000"))
	}
	lb := webtest.StartNginx(t, "127.0.0.1:0", backends)
	load := webtest.StartLoad(ctx, lb.URL(demoapp.HealthPath), 8, webtest.KeyFields("release"))
	time.Sleep(300 * time.Millisecond)

	second := e.deploy(t, repo.Hash(demoapp.CommitGreeting), deploy.Strategy{Kind: deploy.StrategyRolling, Batches: deploy.Batches{{N: 1}}, AutoRollback: true})
	if second.Result != store.ReleaseSuccess {
		load.Stop()
		t.Fatalf("rolling deploy as %s: %s%s", e.Fleet.User, second.Result, failures(second))
	}

	mp, err := e.svc.PreviewMigrate(ctx, "shop", "test")
	if err != nil || mp.Plan == nil || mp.Release != second.ReleaseID || mp.Total < 2 || len(mp.Pending) != 0 {
		t.Fatalf("migrate preview as %s: %+v %v", e.Fleet.User, mp, err)
	}
	mres, err := e.svc.Migrate(ctx, mp.Plan, IO{})
	if err != nil || mres.Outcome == nil || mres.Outcome.Result != store.ReleaseSuccess {
		t.Fatalf("migrate as %s: %+v %v", e.Fleet.User, mres, err)
	}

	f, err := e.svc.Store.LoadFleet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hosts := f.Select(inventory.Filter{Env: "test"})
	for _, p := range e.svc.Status(ctx, f, hosts) {
		if !p.Reachable || p.Release != second.ReleaseID || p.Commit != repo.Hash(demoapp.CommitGreeting) {
			t.Errorf("probe of %s as %s: reachable %v release %s commit %s (%v)", p.Host, e.Fleet.User, p.Reachable, p.Release, p.Commit, p.Err)
		}
	}
	tailLogs(t, e, f, hosts, logFile)

	rp, err := e.svc.PreviewRollback(ctx, "shop", "test", "")
	if err != nil || rp.Plan == nil || rp.Target.ReleaseID != first.ReleaseID {
		t.Fatalf("rollback preview: %+v %v", rp, err)
	}
	plan, err := rp.Plan.WithStrategy(deploy.Strategy{Kind: deploy.StrategyRolling, Batches: deploy.Batches{{N: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	back, err := e.svc.Rollback(ctx, plan, IO{})
	if err != nil || back.Result != store.ReleaseSuccess {
		load.Stop()
		t.Fatalf("rollback as %s: %v %v%s", e.Fleet.User, back.Result, err, failures(back))
	}
	time.Sleep(300 * time.Millisecond)
	res := load.Stop()
	t.Logf("load through nginx during the rolling deploy and rollback as %s: %s", e.Fleet.User, res)
	if res.Failed != 0 || res.Total < 50 {
		t.Errorf("%d of %d requests failed", res.Failed, res.Total)
	}
	if _, ok := res.Releases[second.ReleaseID]; !ok {
		t.Errorf("no request was answered by release %s (saw %v)", second.ReleaseID, res.Keys())
	}

	for i, h := range e.Fleet.Hosts {
		run := func(cmd string) (string, error) { return e.sh(t, i, cmd), nil }
		webtest.CheckRelease(t, run, e.deployTo, first.ReleaseID, repo.Hash(demoapp.CommitAddOrder))
		// Everything is the deploy user's: no step ran as root.
		got := e.sh(t, i, `cd "$HOME/srv/shop" && id -u && find . -xdev ! -user "$(id -un)" | head -3 && pid=$(cat shared/gunicorn.pid) && ps -o user= -p "$pid" --ppid "$pid" | sort -u`)
		if uid, users, _ := strings.Cut(got, "\n"); uid == "0" || users != e.Fleet.User {
			t.Errorf("%s: uid, files not the deploy user's, gunicorn's users:\n%s", h.Name, got)
		}
	}
}

// tailLogs follows the web role's log on every host and waits for a line
// from each, written by the deploy user's gunicorn.
func tailLogs(t *testing.T, e *userEnv, f *inventory.Fleet, hosts []inventory.Host, file string) {
	t.Helper()
	sources, without, err := e.svc.LogSources(f, hosts, LogsQuery{})
	if err != nil || len(without) != 0 || len(sources) != len(hosts) {
		t.Fatalf("log sources: %+v without %v, %v", sources, without, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var mu sync.Mutex
	seen := map[string]bool{}
	err = e.svc.TailLogs(ctx, sources, logs.Options{SinceLines: 20}, func(l logs.Line) {
		mu.Lock()
		defer mu.Unlock()
		if l.File == file && strings.Contains(l.Text, "gunicorn") || strings.Contains(l.Text, "Booting worker") {
			seen[l.Host] = true
		}
		if len(seen) == len(hosts) {
			cancel()
		}
	})
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != len(hosts) {
		t.Errorf("log tail as %s saw gunicorn's log on %v of %d hosts (%v)", e.Fleet.User, seen, len(hosts), err)
	}
}
