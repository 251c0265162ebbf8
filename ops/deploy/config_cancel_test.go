package deploy

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// TestConfigReleaseCancelledRestoresThePreviousEnv: a rolling config
// release cancelled (ctrl+c) while its second batch reloads puts the
// previous shared/.env back on every host it wrote, the first batch's
// included, reloads them, records the release rolled back and puts the
// stored fleet back.
func TestConfigReleaseCancelledRestoresThePreviousEnv(t *testing.T) {
	tb := newTestbed(t, 2)
	ctx := context.Background()
	second := tb.fleet.Hosts[1].Name
	tb.app.Env = map[string]inventory.EnvValue{"MODE": {Value: "a"}}
	tb.app.EnvPerEnvironment = map[string]map[string]inventory.EnvValue{"test": {"FLAVOR": {Value: "one"}}}
	tb.inv.Apps = []inventory.App{tb.app}
	tb.settings = func(h inventory.Host) map[string]inventory.RoleSettings {
		reload := "OPSUI_BIND_ADDR=" + h.Address + "; " + appServer
		if h.Name == second {
			reload = `[ ! -e "$SHARED_DIR/slow" ] || { rm -f "$SHARED_DIR/slow"; sleep 30; }; ` + reload
		}
		return map[string]inventory.RoleSettings{"web": {Reload: reload, HealthURL: "http://" + h.Address + ":8080/REVISION"}}
	}
	f := *tb.inv
	f.Hosts = tb.hosts()
	if err := tb.st.SaveFleet(ctx, &f); err != nil {
		t.Fatal(err)
	}
	if out := tb.deploy("main", Strategy{Kind: "all", AutoRollback: true}); out.Result != store.ReleaseSuccess {
		tb.logf(out)
		t.Fatalf("deploy: %s", out.Result)
	}
	tb.sh(1, "touch "+tb.deployTo+"/shared/slow")
	cb := &configBed{testbed: tb}
	cp, err := cb.configPlan(ConfigRequest{Action: store.ConfigSet, Set: map[string]inventory.EnvValue{"FLAVOR": {Value: "two"}},
		Strategy: Strategy{Kind: StrategyRolling, Batches: Batches{{N: 1}}, AutoRollback: true}})
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d := tb.deployer()
	emit := d.Emit
	d.Emit = func(ev remote.Event) {
		emit(ev)
		if ev.Host == second && ev.Kind == remote.EventStage && ev.Line == "reload" {
			time.AfterFunc(time.Second, cancel) // inside its slow reload
		}
	}
	out, err := d.ExecuteConfig(cctx, cp)
	if err != nil {
		t.Fatal(err)
	}
	if out.Result != store.ReleaseRolledBack {
		tb.logf(out)
		t.Fatalf("cancelled config release: %s, want rolled_back", out.Result)
	}
	for i := range tb.fleet.Hosts {
		if env := tb.sh(i, "cat "+tb.deployTo+"/shared/.env"); !strings.Contains(env, "FLAVOR=one") {
			t.Errorf("host %d's shared/.env after the cancel:\n%s", i, env)
		}
	}
	if notes := strings.Join(out.Notes, "\n"); !strings.Contains(notes, "the config release was cancelled: restoring the previous shared/.env on 2 hosts") ||
		!strings.Contains(notes, "the fleet edit is reverted") {
		t.Errorf("notes:\n%s", notes)
	}
	if f, err := tb.st.LoadFleet(ctx); err != nil || f.Apps[0].EnvPerEnvironment["test"]["FLAVOR"].Value != "one" {
		t.Errorf("the stored fleet after the cancel: %+v, %v; want FLAVOR=one", f.Apps, err)
	}
	if r, err := tb.st.ReleaseOfRun(ctx, out.RunID); err != nil || r.Result != store.ReleaseRolledBack {
		t.Errorf("the record: %+v, %v", r.Result, err)
	}
}
