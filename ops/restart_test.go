package ops

import (
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/demoapp"
	"github.com/opsui/opsui/internal/testenv"
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
	ctx := t.Context()
	se := newSupervisordEnv(t, sudo, func(repoDir string) string { return strings.Replace(shopFleet, "REPO", repoDir, 1) })
	e, repo, ctl := se.userEnv, se.repo, se.ctl
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
