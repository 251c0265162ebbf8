package ops

import (
	"slices"
	"strings"
	"testing"

	"github.com/opsui/opsui/internal/demoapp"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
)

// TestRestartWithWorkers: without --workers a restart takes only the
// web host; with it, the worker hosts too (one under supervisord, one a
// daemon): every worker process is new, on the release it ran, with the
// app's env, and the web host's master is new.
func TestRestartWithWorkers(t *testing.T) {
	w := newWorkerEnv(t)
	ctx := t.Context()
	add := w.repo.Hash(demoapp.CommitAddOrder)
	first := w.deploy(t, add, deploy.Strategy{Kind: deploy.StrategyAll, AutoRollback: true})
	if first.Result != store.ReleaseSuccess {
		t.Fatalf("first deploy: %s%s", first.Result, failures(first))
	}
	w.onRelease(t, "the first deploy", first, first.ReleaseID, add)
	live := func(i int) []string {
		out := w.sh(t, i, `for f in "$HOME"/reports/*; do [ -d "/proc/${f##*/}" ] && echo "${f##*/}"; done; true`)
		ps := strings.Fields(out)
		slices.Sort(ps)
		return ps
	}
	before := [][]string{live(0), live(1)}
	master := w.sh(t, 2, "cat "+w.deployTo+"/shared/gunicorn.pid")

	tg, err := w.svc.Target(ctx, Scope{App: "shop", Env: "test"})
	if err != nil {
		t.Fatal(err)
	}
	rp, err := w.svc.PlanRestart(ctx, RestartRequest{Target: tg})
	if err != nil {
		t.Fatal(err)
	}
	if len(rp.Plan.Hosts) != 1 || rp.Plan.Hosts[0].Name != w.Fleet.Hosts[2].Name {
		t.Errorf("a restart without --workers takes %v, want the web host alone", rp.Plan.Hosts)
	}
	rp, err = w.svc.PlanRestart(ctx, RestartRequest{Target: tg, Workers: true})
	if err != nil || len(rp.Plan.Hosts) != 3 {
		t.Fatalf("a restart with --workers: %v %v, want the three hosts", rp, err)
	}
	out, err := w.svc.Restart(ctx, rp, IO{})
	if err != nil || out.Result != store.ReleaseSuccess {
		t.Fatalf("restart with --workers: %v %v%s", out, err, failures(out))
	}
	w.onRelease(t, "the restart", out, first.ReleaseID, add)
	for i := range 2 {
		now := live(i)
		if len(now) != len(before[i]) || slices.ContainsFunc(now, func(p string) bool { return slices.Contains(before[i], p) }) {
			t.Errorf("host %d's workers %v -> %v: want every one new", i, before[i], now)
		}
	}
	if now := w.sh(t, 2, "cat "+w.deployTo+"/shared/gunicorn.pid"); now == master {
		t.Errorf("the web host's master %s was not restarted", master)
	}
}
