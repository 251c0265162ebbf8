package deploy

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// balancerEnvOf is the deploy's view of lb1 for the plan of ref.
func (b *lbBed) balancerEnvOf(p *Plan, runID int64) balancerEnv {
	return balancerEnv{conn: b.pool, fleet: p.Fleet, app: p.App.Name, envName: p.Env.Name, lbs: p.Balancers,
		targets: b.targets, st: b.st, runID: runID, operator: "tester", note: func(s string) { b.t.Log(s) }}
}

// lbPlan is a plan of main on the web hosts, with lb1 as their balancer.
func (b *lbBed) lbPlan() *Plan {
	p := b.plan("main", Strategy{Kind: "rolling", Batches: Batches{{N: 1}}})
	p.Fleet.Hosts = p.Hosts
	p.Balancers = p.Fleet.Select(inventory.Filter{Env: p.Env.Name, Role: RoleLB})
	return p
}

// TestDrainMarksWhatOpsuiDrained drains web1 through real nginx and real
// HAProxy the way a deploy does, and reads what a deploy that died right
// then would leave: nginx's upstream file marks web1's line as opsui's
// (an operator's own down on web3 has no mark) and the store records the
// drain, with its run; putting it back clears both.
func TestDrainMarksWhatOpsuiDrained(t *testing.T) {
	for _, kind := range []string{lbNginx, lbHAProxy} {
		t.Run(kind, func(t *testing.T) {
			b := newLBBed(t, kind)
			ctx := context.Background()
			p := b.lbPlan()
			rec, _, err := b.st.StartRun(ctx, store.NewRun{Kind: store.KindDeploy, App: "app", Env: "test", Operator: "tester"})
			if err != nil {
				t.Fatal(err)
			}
			run := rec.ID
			lbs, err := openBalancers(ctx, b.balancerEnvOf(p, run))
			if err != nil {
				t.Fatal(err)
			}
			web1 := &hostRun{host: p.Fleet.Hosts[0]}
			if err := lbs.drain(ctx, []*hostRun{web1}); err != nil {
				t.Fatal(err)
			}
			if got := b.down(); !strings.Contains(got, b.fleet.Hosts[0].Addr) && got != "web1" {
				t.Fatalf("%s has %q down, want web1", kind, got)
			}
			if kind == lbNginx {
				data, _ := os.ReadFile(b.upstream)
				marked := remote.ParseUpstream(string(data))[b.fleet.Hosts[0].Addr+":8080"]
				if !strings.HasPrefix(marked, DrainMark) || !strings.Contains(marked, "by=tester") {
					t.Errorf("web1's server line carries no opsui mark:\n%s", data)
				}
			}
			open, err := b.st.OpenDrained(ctx, "app", "test")
			if err != nil || len(open) != 1 || open[0].Backend != "web1" || open[0].Balancer != "lb1" || open[0].RunID.Int64 != run {
				t.Fatalf("the store's record of the drain: %+v %v", open, err)
			}
			// A second opsui (the next deploy) sees it as left by run.
			again, err := openBalancers(ctx, b.balancerEnvOf(p, 0))
			if err != nil {
				t.Fatal(err)
			}
			if left := again.lbs[0].left["web1"]; left == "" || len(again.lbs[0].initial) != 0 {
				t.Errorf("web1 is not seen as left drained by opsui: left %v, initial %v", again.lbs[0].left, again.lbs[0].initial)
			}
			if err := again.restore(ctx); err != nil {
				t.Fatal(err)
			}
			if got := b.down(); got != "" {
				t.Errorf("%s keeps %q out after the restore", kind, got)
			}
			if open, _ := b.st.OpenDrained(ctx, "app", "test"); len(open) != 0 {
				t.Errorf("the store still records %+v as drained", open)
			}
		})
	}
}

// TestNextDeployPutsBackWhatADeadRunLeft leaves the balancer as a deploy
// killed mid-batch does (web2 drained by opsui) next to an operator's own
// down (web3): the next deploy warns at its start, puts web2 back and
// keeps web3 down, through real nginx and real HAProxy.
func TestNextDeployPutsBackWhatADeadRunLeft(t *testing.T) {
	for _, kind := range []string{lbNginx, lbHAProxy} {
		t.Run(kind, func(t *testing.T) {
			b := newLBBed(t, kind)
			ctx := context.Background()
			if out := b.deploy(Strategy{Kind: "all", AutoRollback: true}); out.Result != store.ReleaseSuccess {
				b.logf(out)
				t.Fatalf("first deploy: %s", out.Result)
			}
			w2, w3 := b.fleet.Hosts[1], b.fleet.Hosts[2]
			switch kind {
			case lbNginx:
				doc := "upstream app {\n    server " + b.fleet.Hosts[0].Addr + ":8080 max_fails=0;\n" +
					"    server " + w2.Addr + ":8080 max_fails=0 down; " + DrainMark + " run=99 by=someone\n" +
					"    server " + w3.Addr + ":8080 max_fails=0 down;\n}\n"
				if err := os.WriteFile(b.upstream, []byte(doc), 0o644); err != nil {
					t.Fatal(err)
				}
				b.sh(3, "nginx -s reload -c "+b.conf)
			case lbHAProxy:
				b.ha("set server app/web2 state drain")
				b.ha("set server app/web3 state maint")
				// HAProxy keeps no mark: the store's record says web2 is opsui's.
				if err := b.st.RecordDrained(ctx, []store.Drained{{App: "app", Env: "test", Balancer: "lb1", Backend: "web2"}}); err != nil {
					t.Fatal(err)
				}
			}
			before := b.down()
			b.commit("second", map[string]string{"index.html": "v2\n"})
			out := b.deploy(Strategy{Kind: "rolling", Batches: Batches{{N: 1}}, AutoRollback: true})
			if out.Result != store.ReleaseSuccess || len(out.Warnings) > 0 {
				b.logf(out)
				t.Fatalf("deploy after the dead run: %s %v", out.Result, out.Warnings)
			}
			said := strings.Join(b.said, "\n")
			if !strings.Contains(said, "web2 was left drained by an earlier opsui run") || !strings.Contains(said, "web3 marked down by hand: kept down") {
				t.Errorf("the deploy's start does not say what is out of rotation:\n%s", said)
			}
			want := w3.Addr + ":8080"
			if kind == lbHAProxy {
				want = "web3"
			}
			if got := b.down(); got != want {
				t.Errorf("%s has %q down after the deploy (before: %q), want only the operator's %q", kind, got, before, want)
			}
			if open, _ := b.st.OpenDrained(ctx, "app", "test"); len(open) != 0 {
				t.Errorf("the store still records %+v as drained", open)
			}
		})
	}
}

// TestFailedDrainStopsTheSwitch gives nginx a reload that fails as it does
// with a missing pid file: the batch stops before its switch (no host
// changes release), the deploy fails, and the balancer's failures are
// warnings of the outcome, not notes.
func TestFailedDrainStopsTheSwitch(t *testing.T) {
	b := newLBBed(t, lbNginx)
	if out := b.deploy(Strategy{Kind: "all", AutoRollback: true}); out.Result != store.ReleaseSuccess {
		b.logf(out)
		t.Fatalf("first deploy: %s", out.Result)
	}
	rel1, _ := b.current(0)
	lb := b.settings(b.inv.Hosts[3])["lb"]
	lb.Options["reload"] = `echo 'nginx: [error] invalid PID number "" in "/run/nginx.pid"' >&2; exit 1`
	b.commit("second", map[string]string{"index.html": "v2\n"})
	out := b.deploy(Strategy{Kind: "rolling", Batches: Batches{{N: 1}}, AutoRollback: true})
	if out.Result == store.ReleaseSuccess {
		t.Fatalf("a deploy whose drain failed ended %s; notes:\n%s", out.Result, strings.Join(out.Notes, "\n"))
	}
	for i := range 3 {
		if rel, _ := b.current(i); rel != rel1 {
			t.Errorf("web%d was switched to %s although its drain failed", i+1, rel)
		}
	}
	st := b.statuses(out)
	if st["web1"] != HostFailed || out.Hosts[0].Step != "drain" {
		t.Errorf("web1: %s at %q, want failed at drain", st["web1"], out.Hosts[0].Step)
	}
	if w := strings.Join(out.Warnings, "\n"); !strings.Contains(w, "balancer lb1: drain web1 failed") || !strings.Contains(w, "invalid PID number") {
		t.Errorf("warnings: %q", w)
	}

	// With --max-fail 1 the hosts whose drain failed count: web1 and web2
	// fail, web3's batch is not started, none is switched.
	out = b.deploy(Strategy{Kind: "rolling", Batches: Batches{{N: 1}}, MaxFail: Count{N: 1}, AutoRollback: true})
	st = b.statuses(out)
	if out.Result != store.ReleaseFailed || st["web1"] != HostFailed || st["web2"] != HostFailed || st["web3"] != HostSkipped {
		b.logf(out)
		t.Errorf("--max-fail 1: %s %v", out.Result, st)
	}
	for i := range 3 {
		if rel, _ := b.current(i); rel != rel1 {
			t.Errorf("web%d was switched to %s although its drain failed", i+1, rel)
		}
	}
}

// TestHAProxyScriptsUseNoTempFile: the runtime API commands go to HAProxy
// as an argument, never through a file another local user of the
// balancer could predict and swap (the old /tmp/.opsui-ha.$$); the real
// HAProxy tests above show the commands arrive.
func TestHAProxyScriptsUseNoTempFile(t *testing.T) {
	for name, script := range map[string]string{"set": haproxyScript, "read": haproxyReadScript} {
		for _, bad := range []string{"/tmp", "$$", "TMPDIR", "mktemp", ">"} {
			if strings.Contains(strings.NewReplacer(">/dev/null 2>&1", "", ">&2", "").Replace(script), bad) {
				t.Errorf("the HAProxy %s script uses %q:\n%s", name, bad, script)
			}
		}
	}
}

// TestFailedFirstDeployStaysOutOfTheBalancer: a first deploy whose health
// fails on web1 has nothing to switch web1 back to: web1 is left drained
// in the real nginx, current is removed there, and the release is
// recorded failed (not rolled back); the operator is told its app server,
// which the role's own reload started, is theirs to stop.
func TestFailedFirstDeployStaysOutOfTheBalancer(t *testing.T) {
	b := newLBBed(t, lbNginx)
	b.commit("broken", map[string]string{"BROKEN": "yes\n"})
	out := b.deploy(Strategy{Kind: "rolling", Batches: Batches{{N: 1}}, AutoRollback: true})
	if out.Result != store.ReleaseFailed {
		b.logf(out)
		t.Fatalf("a failed first deploy: %s, want failed", out.Result)
	}
	web1 := b.fleet.Host("web1")
	if down := b.down(); down != web1.Addr+":8080" {
		t.Errorf("nginx has %q out of rotation, want web1 (%s:8080) alone", down, web1.Addr)
	}
	if s := b.sh(0, "[ -e "+b.deployTo+"/current ] && echo current || echo none"); s != "none" {
		t.Errorf("web1 keeps current after its failed first deploy: %s", s)
	}
	if notes := strings.Join(out.Notes, "\n"); !strings.Contains(notes, "web1: no earlier release to switch back to") || !strings.Contains(notes, "stop it by hand") {
		t.Errorf("the notes do not say what became of web1:\n%s", notes)
	}
}

// TestNginxReloadUnderSudo: an nginx balancer whose role says sudo: true
// reloads root's nginx through sudo -n with Debian's absolute path (the
// two lines opsui setup --print-sudoers lists); without sudo, or with
// its own reload, the command is as written.
func TestNginxReloadUnderSudo(t *testing.T) {
	b := &balancers{}
	b.app = "shop"
	for _, tc := range []struct {
		lb   lbHost
		want string
	}{
		{lbHost{kind: lbNginx, sudo: true, opts: map[string]string{}}, "sudo /usr/sbin/nginx -t -q && sudo /usr/sbin/nginx -s reload"},
		{lbHost{kind: lbNginx, opts: map[string]string{}}, "nginx -t -q && nginx -s reload"},
		{lbHost{kind: lbNginx, sudo: true, opts: map[string]string{"reload": "sudo /usr/local/sbin/nginx -s reload"}}, "sudo /usr/local/sbin/nginx -s reload"},
	} {
		if got := b.env(&tc.lb, nil)["OPSUI_LB_RELOAD"]; got != tc.want {
			t.Errorf("sudo %v, reload %q: runs %q, want %q", tc.lb.sudo, tc.lb.opts["reload"], got, tc.want)
		}
	}
}
