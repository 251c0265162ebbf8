package deploy

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/store"
)

// cloneFleet is a deep copy of f, through YAML as the store keeps it.
func cloneFleet(t *testing.T, f *inventory.Fleet) *inventory.Fleet {
	t.Helper()
	b, err := inventory.EncodeYAML(f)
	if err != nil {
		t.Fatal(err)
	}
	g, err := inventory.DecodeYAML("fleet.yaml", b)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestPlanChangesNamesWhatChanged(t *testing.T) {
	base := &inventory.Fleet{Environments: []inventory.Environment{{Name: "test"}},
		Roles: map[string]inventory.RoleSettings{"web": {Reload: "echo reload"}},
		Apps:  []inventory.App{{Name: "app", Repo: "/nonexistent", DeployTo: "/srv/app"}},
		Hosts: []inventory.Host{
			{Name: "web1", Address: "127.0.1.1", Env: "test", Roles: []string{"web"}},
			{Name: "web2", Address: "127.0.1.2", Env: "test", Roles: []string{"web"}},
			{Name: "lb1", Address: "127.0.1.9", Env: "test", Roles: []string{"lb"}},
			{Name: "db1", Address: "127.0.1.8", Env: "test", Roles: []string{"db"}},
		}}
	base = cloneFleet(t, base)
	hosts := SelectHosts(base, "test", HostSelection{})
	p, err := NewPlan(base, base.Apps[0], base.Environments[0], hosts, Source{Commit: "c0ffee"}, "R1", DefaultStrategy(base.Environments[0]))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Changes(cloneFleet(t, base)); len(got) != 0 {
		t.Fatalf("an unchanged inventory: %q", got)
	}
	for _, tc := range []struct {
		name   string
		change func(f *inventory.Fleet)
		want   string
	}{
		{"address", func(f *inventory.Fleet) { f.Hosts[0].Address = "127.0.1.7" }, "host web1: address 127.0.1.1 → 127.0.1.7"},
		{"deploy_to", func(f *inventory.Fleet) { f.Hosts[1].DeployTo = "/srv/other" }, `host web2: deploy_to "" → /srv/other`},
		{"roles", func(f *inventory.Fleet) { f.Hosts[1].Roles = []string{"web", "worker"} }, "host web2: roles [web] → [web worker]"},
		{"settings", func(f *inventory.Fleet) {
			f.Hosts[0].Settings = map[string]inventory.RoleSettings{"web": {HealthURL: "http://127.0.1.1/"}}
		}, "host web1: settings changed"},
		{"removed", func(f *inventory.Fleet) { f.Hosts = slices.Delete(f.Hosts, 1, 2) }, "host web2 was removed"},
		{"moved away", func(f *inventory.Fleet) { f.Hosts[1].Env = "" }, "host web2 was removed"},
		{"added", func(f *inventory.Fleet) { f.Hosts[3].Roles = []string{"db", "worker"} }, "host db1 was added"},
		{"balancer", func(f *inventory.Fleet) { f.Hosts[2].Address = "127.0.1.10" }, "balancer lb1: address 127.0.1.9 → 127.0.1.10"},
		{"protected", func(f *inventory.Fleet) { f.Environments[0].Protected = true }, "environment test: protected false → true"},
		{"env strategy", func(f *inventory.Fleet) { f.Environments[0].Strategy = "canary" }, `environment test: strategy "" → canary`},
		{"app", func(f *inventory.Fleet) { f.Apps[0].DeployTo = "/srv/new" }, "app app: deploy_to /srv/app → /srv/new"},
		{"role defaults", func(f *inventory.Fleet) { f.Roles["web"] = inventory.RoleSettings{Reload: "kill -HUP 1"} }, "the defaults of role web changed"},
	} {
		f := cloneFleet(t, base)
		tc.change(f)
		got := p.Changes(f)
		if !slices.Contains(got, tc.want) {
			t.Errorf("%s: changes %q, want %q among them", tc.name, got, tc.want)
		}
	}
}

// TestExecuteRefusesAPlanWhoseFleetChanged previews a deploy of real
// hosts from the stored inventory, changes the inventory, and runs the
// plan: Execute refuses it, listing every change, and no host is touched.
// The plan previewed again runs.
func TestExecuteRefusesAPlanWhoseFleetChanged(t *testing.T) {
	tb := newTestbed(t, 2)
	ctx := context.Background()
	inv := cloneFleet(t, tb.inv)
	inv.Hosts = tb.hosts()
	if err := tb.st.SaveFleet(ctx, inv); err != nil {
		t.Fatal(err)
	}
	preview := func() *Plan {
		f, err := tb.st.LoadFleet(ctx)
		if err != nil {
			t.Fatal(err)
		}
		app, _ := f.App("app")
		env, _ := f.Environment("test")
		hosts := SelectHosts(f, "test", HostSelection{})
		p, err := PreviewDeploy(ctx, tb.st, DeployRequest{Fleet: f, App: app, Env: env, Hosts: hosts, Ref: "main",
			Strategy: Strategy{Kind: StrategyRolling, MaxFail: Count{N: 1}, AutoRollback: true}}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := preview()
	if len(p.Hosts) != 2 || p.MaxFail != 1 || len(p.Batches) != 2 || p.Source.Branch != "main" || p.LastRelease != "" {
		t.Fatalf("plan %+v", p)
	}
	if err := CheckPlan(ctx, tb.st, p); err != nil {
		t.Fatalf("an unchanged inventory: %v", err)
	}

	// Between the preview and the confirmation, someone imports a fleet
	// file: the second host moves to another deploy_to, and the
	// environment becomes protected (the wizard asked no typed challenge).
	changed := cloneFleet(t, inv)
	changed.Hosts[1].DeployTo = filepath.Join(tb.deployTo, "elsewhere")
	changed.Environments[0].Protected = true
	if err := tb.st.SaveFleet(ctx, changed); err != nil {
		t.Fatal(err)
	}
	out, err := tb.deployer().Execute(ctx, p)
	var fc *FleetChangedError
	if out != nil || !errors.As(err, &fc) {
		t.Fatalf("Execute: %+v, %v; want a FleetChangedError", out, err)
	}
	for _, want := range []string{"the fleet changed since the preview of app on test", "host " + tb.fleet.Hosts[1].Name + `: deploy_to "" → ` + changed.Hosts[1].DeployTo,
		"environment test: protected false → true", "preview again"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal lacks %q: %v", want, err)
		}
	}
	if len(fc.Changes) != 2 {
		t.Errorf("changes %q, want 2", fc.Changes)
	}
	if rs, err := tb.st.ListReleases(ctx, "app", "test", 10); err != nil || len(rs) != 0 {
		t.Errorf("releases recorded: %+v %v", rs, err)
	}
	for i := range tb.fleet.Hosts {
		if got := tb.sh(i, "ls -A "+tb.deployTo+" 2>/dev/null; true"); got != "" {
			t.Errorf("host %d was touched: %s", i, got)
		}
	}

	// Previewed again, it runs; a release recorded since a preview is a
	// change too.
	stale := p
	p = preview()
	out, err = tb.deployer().Execute(ctx, p)
	if err != nil || out.Result != store.ReleaseSuccess {
		t.Fatalf("the plan previewed again: %+v %v", out, err)
	}
	if _, rev := tb.current(0); rev != p.Source.Commit {
		t.Errorf("host 0 serves %s, want %s", rev, p.Source.Commit)
	}
	err = CheckPlan(ctx, tb.st, stale)
	if !errors.As(err, &fc) || !strings.Contains(err.Error(), "release "+p.ReleaseID+" (deploy of ") {
		t.Errorf("a stale plan after a deploy: %v", err)
	}
}
