package deploy

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/store"
)

// restart plans and runs a restart of tb's app on every host, as stored.
func (tb *testbed) restart(s Strategy) (*Outcome, error) {
	tb.t.Helper()
	ctx := context.Background()
	f := *tb.inv
	f.Hosts = tb.hosts()
	if err := tb.st.SaveFleet(ctx, &f); err != nil {
		tb.t.Fatal(err)
	}
	stored, err := tb.st.LoadFleet(ctx)
	if err != nil {
		tb.t.Fatal(err)
	}
	app, _ := stored.App(tb.app.Name)
	env, _ := stored.Environment(tb.env.Name)
	rp, err := PlanRestart(ctx, tb.st, RestartRequest{Fleet: stored, App: app, Env: env,
		Hosts: SelectHosts(stored, env.Name, HostSelection{}), Strategy: s})
	if err != nil {
		tb.t.Fatalf("plan the restart: %v", err)
	}
	return tb.deployer().ExecuteRestart(ctx, rp)
}

// TestDjangoRestartUnderLoad: opsui restart re-executes every gunicorn
// master batch by batch, under load directly on each host and through
// nginx, with no failed request; every master pid changes, the release
// stays, and the run is recorded as a restart, its words those of the
// output. A restart whose new master cannot load the app fails the first
// host, leaves its old master serving, and stops before the next batch.
func TestDjangoRestartUnderLoad(t *testing.T) {
	tb, proj := newDjangoTestbed(t, 2)
	ctx := context.Background()
	first, masters, loads := deployUnderLoad(t, tb, proj)

	out, err := tb.restart(Strategy{Kind: StrategyRolling, Batches: Batches{{N: 1}}})
	time.Sleep(300 * time.Millisecond)
	for i, l := range loads {
		res := l.Stop()
		t.Logf("load %d during the restart: %s", i, res)
		if res.Failed != 0 || res.Total < 20 {
			t.Errorf("load %d: %d of %d requests failed during the restart (%v)", i, res.Failed, res.Total, res.Errors)
		}
		if _, ok := res.Releases[first.ReleaseID]; !ok || len(res.Releases) != 1 {
			t.Errorf("load %d saw releases %v, want only %s", i, res.Keys(), first.ReleaseID)
		}
	}
	if err != nil || out.Result != store.ReleaseSuccess {
		if out != nil {
			tb.logf(out)
		}
		t.Fatalf("restart: %v %v", out, err)
	}
	if out.Kind != store.KindRestart {
		t.Errorf("the outcome's kind is %q, want %q", out.Kind, store.KindRestart)
	}
	for i, h := range tb.fleet.Hosts {
		pid, workers := tb.masterOf(i)
		if pid == masters[i] || workers != "2" {
			t.Errorf("%s: master %s -> %s with %s workers, want a new master with 2", h.Name, masters[i], pid, workers)
		}
		if rel, _ := tb.current(i); rel != first.ReleaseID {
			t.Errorf("%s runs %s after the restart, want %s", h.Name, rel, first.ReleaseID)
		}
		want := h.Name + ": restart: re-exec, old master " + masters[i] + " -> new " + pid
		if !containsPrefix(tb.saidLines("re-exec, old master"), want) {
			t.Errorf("the output does not say %q", want)
		}
		masters[i] = pid
	}
	run, err := tb.st.Run(ctx, out.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if run.Kind != store.KindRestart || run.Result != store.RunOK {
		t.Errorf("the run is recorded as %s/%s, want %s/%s", run.Kind, run.Result, store.KindRestart, store.RunOK)
	}
	if rs, _ := tb.st.ListReleases(ctx, tb.app.Name, tb.env.Name, 10); len(rs) != 1 {
		t.Errorf("a restart recorded a release: %d releases", len(rs))
	}

	// A WSGI module that does not exist: the new master's workers cannot
	// load the app, so the first batch fails, the old master serves on.
	tb.setWebOption(func(int) bool { return true }, "wsgi", "mysite.nosuchmodule")
	bad, err := tb.restart(Strategy{Kind: StrategyRolling, Batches: Batches{{N: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if bad.Result != store.ReleaseFailed {
		t.Fatalf("a restart whose new master cannot start: %s, want failed", bad.Result)
	}
	h0, h1 := bad.Hosts[0], bad.Hosts[1]
	if h0.Status != HostFailed || h0.Err == nil || !strings.Contains(h0.Err.Error(), "re-exec failed") ||
		!strings.Contains(h0.Err.Error(), "old master "+masters[0]+" still serves") {
		tb.logf(bad)
		t.Errorf("%s: %s %v, want failed naming the re-exec and the old master", h0.Host, h0.Status, h0.Err)
	}
	if h1.Status != HostSkipped {
		t.Errorf("%s: %s, want not reached (the first batch failed)", h1.Host, h1.Status)
	}
	if !strings.Contains(strings.Join(bad.Notes, "\n"), tb.fleet.Hosts[0].Name+" failed: the restart stopped") {
		t.Errorf("the notes do not say which host stopped the restart: %q", bad.Notes)
	}
	for i := range tb.fleet.Hosts {
		if pid, _ := tb.masterOf(i); pid != masters[i] {
			t.Errorf("%s: master %s replaced by %s", tb.fleet.Hosts[i].Name, masters[i], pid)
		}
	}
}
