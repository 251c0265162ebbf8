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
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// TestRestartUnderSupervisord: opsui restart of the demo Django app whose
// gunicorn runs as a supervisord program on two hosts reached as an
// ordinary user: every program is stopped and started (a new master on
// each host), the release stays, the output names both masters, and the
// run is recorded as a restart, in the audit with the words of the run.
// Once with the user's own supervisord, once with root's through sudo -n
// with the lines opsui prints (stop, start and status are among them).
func TestRestartUnderSupervisord(t *testing.T) {
	t.Run("user's supervisord", func(t *testing.T) { testRestartUnderSupervisord(t, false) })
	t.Run("root's supervisord through sudo", func(t *testing.T) { testRestartUnderSupervisord(t, true) })
}

func testRestartUnderSupervisord(t *testing.T, sudo bool) {
	webtest.RequireGunicorn(t)
	testenv.RequireFile(t, "/usr/bin/supervisord", "supervisor")
	ctx := t.Context()
	repo, err := demoapp.Create(ctx, filepath.Join(t.TempDir(), "shop"))
	if err != nil {
		t.Fatal(err)
	}
	var conf string
	e := newUserEnv(t, 2, strings.Replace(shopFleet, "REPO", repo.Dir, 1), func(h *sshtest.Host, deployTo string) string {
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
	pid := func(i int) string {
		t.Helper()
		return e.sh(t, i, ctl+"pid shop-web")
	}

	first := e.deploy(t, repo.Hash(demoapp.CommitAddOrder), deploy.Strategy{Kind: deploy.StrategyAll, AutoRollback: true})
	if first.Result != store.ReleaseSuccess {
		t.Fatalf("first deploy under supervisord: %s%s", first.Result, failures(first))
	}
	masters := []string{pid(0), pid(1)}

	tg, err := e.svc.Target(ctx, Scope{App: "shop", Env: "test"})
	if err != nil {
		t.Fatal(err)
	}
	rp, err := e.svc.PlanRestart(ctx, RestartRequest{Target: tg,
		Strategy: deploy.Strategy{Kind: deploy.StrategyRolling, Batches: deploy.Batches{{N: 1}}}})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	out, err := e.svc.Restart(ctx, rp, IO{Emit: func(ev remote.Event) {
		if ev.Line != "" {
			lines = append(lines, ev.Host+": "+ev.Line)
		}
	}})
	if err != nil || out.Result != store.ReleaseSuccess {
		t.Fatalf("restart under supervisord: %v %v%s", out, err, failures(out))
	}
	for i, h := range e.Fleet.Hosts {
		var now string
		testenv.WaitFor(t, 20*time.Second, h.Name+" running a new master", func() bool {
			now = pid(i)
			return now != masters[i] && now != "0"
		})
		want := h.Name + ": restart: supervisord restarted shop-web, old master " + masters[i] + " -> new " + now
		if !strings.Contains(strings.Join(lines, "\n"), want) {
			t.Errorf("the output does not say %q:\n%s", want, strings.Join(lines, "\n"))
		}
		if body := e.sh(t, i, "curl -s http://"+h.Addr+":8000/health/"); !strings.Contains(body, "release="+first.ReleaseID) {
			t.Errorf("%s answers %q after the restart, want release %s", h.Name, body, first.ReleaseID)
		}
		if log := e.sh(t, i, "tail -n 1 "+e.deployTo+"/revisions.log"); !strings.Contains(log, "alice restarted the app server; release "+first.ReleaseID+" ") {
			t.Errorf("%s: revisions.log ends with %q", h.Name, log)
		}
	}
	run, err := e.svc.Store.Run(ctx, out.RunID)
	if err != nil || run.Kind != store.KindRestart || run.Result != store.RunOK {
		t.Fatalf("the restart's run: %+v %v", run, err)
	}
	entries, err := e.svc.Audit(ctx, AuditQuery{Limit: 1})
	if err != nil || len(entries) != 1 || entries[0].Action != store.KindRestart || entries[0].What != run.Command || entries[0].Result != string(store.RunOK) {
		t.Errorf("the audit's newest entry: %+v %v, want the restart, %q", entries, err, run.Command)
	}
}
