package ops

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/demoapp"
	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/internal/webtest"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// supervisordConf is a per-host supervisord of the deploy user, in its
// home (each host's own): /etc/supervisor is shared by every test host.
const supervisordConf = `[unix_http_server]
file=%[1]s/supervisor/supervisor.sock
chmod=0700
[supervisord]
logfile=%[1]s/supervisor/supervisord.log
pidfile=%[1]s/supervisor/supervisord.pid
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[supervisorctl]
serverurl=unix://%[1]s/supervisor/supervisor.sock
[include]
files=%[1]s/supervisor/conf.d/*.conf
`

// TestDjangoUnderSupervisord: the demo Django app's gunicorn runs as a
// program of a real supervisord (Debian's) on each host, reached as an
// ordinary user: the program section opsui renders is installed first, as
// opsui setup will; a deploy starts it, the next reloads it through
// supervisorctl signal HUP (same master, new release), a rollback too; the
// master killed with SIGKILL is restarted by supervisord and still serves
// current; under nginx and load no request fails across the rolling
// deploy, the rollback and the auto-rollback of a release whose health
// check fails. Once with a supervisord of the deploy user's own, once with
// root's, which the deploy user reaches only through sudo -n with the
// lines opsui setup --print-sudoers prints (role sudo: true).
func TestDjangoUnderSupervisord(t *testing.T) {
	t.Run("user's supervisord", func(t *testing.T) { testDjangoUnderSupervisord(t, false) })
	t.Run("root's supervisord through sudo", func(t *testing.T) { testDjangoUnderSupervisord(t, true) })
}

func testDjangoUnderSupervisord(t *testing.T, sudo bool) {
	webtest.RequireNginx(t)
	ctx := t.Context()
	// The health deadline is short, for the broken release's sake, but not
	// under a first start on a loaded machine (8 s failed there once).
	se := newSupervisordEnv(t, sudo, func(repoDir string) string {
		return strings.NewReplacer("REPO", repoDir, "deadline: 20s", "deadline: 15s",
			// The app's environment reaches the program's master: the demo shows SHOP_HOSTNAME in /health/.
			"    shared: [logs/]\n", "    shared: [logs/]\n    env: {SHOP_HOSTNAME: served-with-env}\n").Replace(shopFleet)
	})
	e, repo, ctl := se.userEnv, se.repo, se.ctl
	if sudo {
		if rules, _, err := se.fleet.SudoRules("shop", "test"); err != nil || len(rules) != 4 || len(rules[0].Hosts) != 2 {
			t.Fatalf("sudo rules: %+v %v", rules, err)
		}
	}

	pid := func(i int) string {
		t.Helper()
		return e.sh(t, i, ctl+"pid shop-web")
	}
	serves := func(i int, release string) {
		t.Helper()
		h := e.Fleet.Hosts[i]
		var body string
		testenv.WaitFor(t, 20*time.Second, h.Name+" serving release "+release, func() bool {
			body = e.sh(t, i, "curl -s http://"+h.Addr+":8000/health/ || true")
			return strings.Contains(body, "release="+release)
		})
	}

	first := e.deploy(t, repo.Hash(demoapp.CommitAddOrder), deploy.Strategy{Kind: deploy.StrategyAll, AutoRollback: true})
	if first.Result != store.ReleaseSuccess {
		t.Fatalf("first deploy under supervisord: %s%s", first.Result, failures(first))
	}
	masters := []string{pid(0), pid(1)}
	for i, h := range e.Fleet.Hosts {
		if body := e.sh(t, i, "curl -s http://"+h.Addr+":8000/health/"); !strings.Contains(body, "host=served-with-env") {
			t.Errorf("%s: the app's env did not reach gunicorn under supervisord: %s", h.Name, body)
		}
	}
	var backends []string
	for _, h := range e.Fleet.Hosts {
		backends = append(backends, h.Addr+":8000")
	}
	lb := webtest.StartNginx(t, "127.0.0.1:0", backends)
	load := webtest.StartLoad(ctx, lb.URL("/"), 8, webtest.KeyFields("release"))
	time.Sleep(300 * time.Millisecond)
	second := e.deploy(t, repo.Hash(demoapp.CommitGreeting), deploy.Strategy{Kind: deploy.StrategyRolling, Batches: deploy.Batches{{N: 1}}, AutoRollback: true})
	if second.Result != store.ReleaseSuccess {
		t.Log(e.sh(t, 0, "ps -eo pid,ppid,args 2>&1; tail -n 30 "+e.deployTo+"/shared/logs/shop-web.log"))
		t.Fatalf("second deploy under supervisord: %s%s", second.Result, failures(second))
	}
	for i := range e.Fleet.Hosts {
		serves(i, second.ReleaseID)
		if got := pid(i); got != masters[i] || got == "0" {
			t.Errorf("host %d: gunicorn master %s after the reload, was %s: a HUP keeps the master", i, got, masters[i])
		}
	}

	time.Sleep(300 * time.Millisecond)
	noFailures(t, "the rolling deploy", load.Stop(), second.ReleaseID)

	// The master dies; supervisord starts a new one, in current.
	e.sh(t, 0, "kill -KILL "+masters[0])
	testenv.WaitFor(t, 20*time.Second, "supervisord restarting the master", func() bool {
		p := pid(0)
		return p != masters[0] && p != "0"
	})
	serves(0, second.ReleaseID)
	testenv.WaitFor(t, 10*time.Second, "the master supervisord restarted serving with the app's env", func() bool {
		return strings.Contains(e.sh(t, 0, "curl -s http://"+e.Fleet.Hosts[0].Addr+":8000/health/ || true"), "host=served-with-env")
	})
	t.Logf("web1: master %s killed with SIGKILL, supervisord started %s, which serves release %s", masters[0], pid(0), second.ReleaseID)

	rp, err := e.svc.PreviewRollback(ctx, "shop", "test", "")
	if err != nil || rp.Plan == nil {
		t.Fatalf("rollback preview: %+v %v", rp, err)
	}
	load = webtest.StartLoad(ctx, lb.URL("/"), 8, webtest.KeyFields("release"))
	time.Sleep(300 * time.Millisecond)
	back, err := e.svc.Rollback(ctx, rp.Plan, IO{})
	if err != nil || back.Result != store.ReleaseSuccess {
		t.Fatalf("rollback under supervisord: %v %v%s", back.Result, err, failures(back))
	}
	for i := range e.Fleet.Hosts {
		serves(i, first.ReleaseID)
	}
	// A release whose health check fails is rolled back on its first host,
	// reloaded through supervisord again.
	broken := e.deploy(t, repo.Hash(demoapp.CommitBreakHealth), deploy.Strategy{Kind: deploy.StrategyRolling, Batches: deploy.Batches{{N: 1}}, AutoRollback: true})
	if broken.Result != store.ReleaseRolledBack {
		t.Fatalf("broken deploy under supervisord: %s, want rolled back%s", broken.Result, failures(broken))
	}
	for i := range e.Fleet.Hosts {
		serves(i, first.ReleaseID)
	}
	time.Sleep(300 * time.Millisecond)
	noFailures(t, "the rollback and the auto-rollback", load.Stop(), first.ReleaseID)
	testenv.WaitFor(t, 10*time.Second, "supervisord saying shop-web runs", func() bool {
		return strings.Contains(e.sh(t, 0, ctl+"status shop-web || true"), "RUNNING")
	})
	want := e.Fleet.User + "\n" + e.Fleet.User // supervisord, gunicorn's master
	if sudo {
		want = "root\n" + e.Fleet.User
	}
	for i := range e.Fleet.Hosts {
		if got := e.sh(t, i, `ps -o user= -p "$(cat "$HOME/supervisor/supervisord.pid")"; ps -o user= -p "$(`+ctl+`pid shop-web)"`); got != want {
			t.Errorf("host %d: supervisord and the master run as %q, want %q", i, got, want)
		}
	}
	workersChangeUnderSupervisord(t, e, pid, repo.Hash(demoapp.CommitAddOrder))
	envSetUnderSupervisord(t, e, pid, sudo)
}

// workersChangeUnderSupervisord: a worker count changed in the fleet
// applies at the next deploy's reload of ref, with the same master: the
// program reads bind and workers from shared/opsui_server.conf.py, which
// the deploy writes, not from its installed command line.
func workersChangeUnderSupervisord(t *testing.T, e *userEnv, pid func(int) string, ref string) {
	t.Helper()
	before := pid(0)
	if _, err := e.svc.Store.UpdateFleet(t.Context(), func(f *inventory.Fleet) error {
		set := f.Hosts[0].Settings["web"]
		set.Options["workers"] = "3"
		f.Hosts[0].Settings["web"] = set
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	out := e.deploy(t, ref, deploy.Strategy{Kind: deploy.StrategyAll, AutoRollback: true})
	if out.Result != store.ReleaseSuccess {
		t.Fatalf("deploy with 3 workers: %s%s", out.Result, failures(out))
	}
	var n string
	testenv.WaitFor(t, 20*time.Second, "3 gunicorn workers under the same master", func() bool {
		n = e.sh(t, 0, "pgrep -P "+before+" | wc -l")
		return n == "3"
	})
	if got := pid(0); got != before {
		t.Errorf("the master is %s after the reload, was %s: a HUP keeps it", got, before)
	}
}

// noFailures checks that no request failed during what and that release
// answered some.
func noFailures(t *testing.T, what string, res webtest.LoadResult, release string) {
	t.Helper()
	t.Logf("load through nginx during %s: %s", what, res)
	if res.Failed != 0 || res.Total < 50 {
		t.Errorf("%d of %d requests failed during %s", res.Failed, res.Total, what)
	}
	if _, ok := res.Releases[release]; !ok {
		t.Errorf("no request was answered by release %s during %s (saw %v)", release, what, res.Keys())
	}
}

// supervisordEnv is two hosts logging in as the ordinary user, each with
// a supervisord of its own (root's, through sudo -n, when sudo) running
// the shop's web program as opsui renders it, stopped at the test's end.
type supervisordEnv struct {
	*userEnv
	repo  *demoapp.Repo
	fleet *inventory.Fleet
	ctl   string // supervisorctl on the hosts' supervisord, with sudo -n when sudo
}

// newSupervisordEnv makes a supervisordEnv of the fleet file fleet makes
// of the demo repository's directory.
func newSupervisordEnv(t *testing.T, sudo bool, fleet func(repoDir string) string) supervisordEnv {
	t.Helper()
	webtest.RequireGunicorn(t)
	testenv.RequireFile(t, "/usr/bin/supervisord", "supervisor")
	ctx := t.Context()
	repo, err := demoapp.Create(ctx, filepath.Join(t.TempDir(), "shop"))
	if err != nil {
		t.Fatal(err)
	}
	var conf string
	e := newUserEnv(t, 2, fleet(repo.Dir), func(h *sshtest.Host, deployTo string) string {
		conf = filepath.Dir(filepath.Dir(deployTo)) + "/supervisor/supervisord.conf"
		set := ""
		if sudo {
			set = "        sudo: true\n"
		}
		return set + fmt.Sprintf("        health_url: http://%s:8000/health/\n        process: supervisord\n        options: {bind: \"%s:8000\", workers: \"2\", wsgi: %q, supervisor_conf: %s}\n",
			h.Addr, h.Addr, demoapp.WSGIApp, conf)
	})
	f, err := e.svc.Store.LoadFleet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ctl := "/usr/bin/supervisorctl -c " + remote.Quote(conf) + " "
	sv := ""
	if sudo {
		sv = "sudo -n "
		rules, _, err := f.SudoRules("shop", "test")
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, r := range rules {
			lines = append(lines, r.Line())
		}
		for _, c := range []string{"/usr/bin/supervisord -c " + conf, ctl + "update", ctl + "pid shop-web"} {
			lines = append(lines, e.Fleet.User+" ALL=(root) NOPASSWD: "+strings.TrimSpace(c))
		}
		sshtest.Sudoers(t, lines...)
		ctl = sv + ctl
	}
	for i, h := range f.Hosts {
		program, err := deploy.SupervisorProgram(f, f.Apps[0], h, e.Fleet.User)
		if err != nil {
			t.Fatal(err)
		}
		// What opsui setup is to do: supervisord checks that the log
		// directory exists when it reads the program.
		out := e.sh(t, i, fmt.Sprintf(`set -e; mkdir -p "$HOME/supervisor/conf.d" %s/shared/logs; printf %%s %s > "$HOME/supervisor/supervisord.conf"
%s/usr/bin/supervisord -c %s </dev/null >/dev/null 2>&1
printf %%s %s > "$HOME/supervisor/conf.d/shop-web.conf"
for i in $(seq 50); do [ -S "$HOME/supervisor/supervisor.sock" ] && break; sleep 0.1; done
%s update; %s status shop-web || true`, remote.Quote(e.deployTo), remote.Quote(fmt.Sprintf(supervisordConf, e.Fleet.LoginHome)), sv, remote.Quote(conf), remote.Quote(program), ctl, ctl))
		if !strings.Contains(out, "shop-web") {
			t.Fatalf("%s: supervisord has no program shop-web: %s", h.Name, out)
		}
	}
	t.Cleanup(func() {
		for i := range e.Fleet.Hosts {
			e.sh(t, i, sv+`kill -TERM "$(cat "$HOME/supervisor/supervisord.pid")" 2>/dev/null; true`)
		}
	})
	return supervisordEnv{userEnv: e, repo: repo, fleet: f, ctl: ctl}
}
