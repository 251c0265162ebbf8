package deploy

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/webtest"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/store"
)

// TestConfigReleaseUnderLoadDropsNoRequest: two web hosts serve the demo
// shop with gunicorn behind a real nginx on lb1 (no retry of another
// backend, no max_fails grace), and requests flow through it the whole
// time: a rolling env set, then a rolling env set of a value that breaks
// the health check (rolled back on its first batch), fail no request, and
// no request is ever answered with the bad value (its host was drained).
func TestConfigReleaseUnderLoadDropsNoRequest(t *testing.T) {
	cb, addr, upstream := newBalancedBed(t)

	// The first deploy, to the web hosts (lb1 is their balancer).
	p := cb.plan("env", Strategy{Kind: "all", AutoRollback: true})
	p.Fleet.Hosts = p.Hosts
	webs := SelectHosts(p.Fleet, "test", HostSelection{})
	p, err := NewPlan(p.Fleet, p.App, p.Env, webs, p.Source, p.ReleaseID, p.Strategy)
	if err != nil {
		t.Fatal(err)
	}
	first, err := cb.deployer().Deploy(context.Background(), p)
	if err != nil || first.Result != store.ReleaseSuccess {
		cb.logf(first)
		t.Fatalf("deploy: %v", err)
	}

	load := webtest.StartLoad(context.Background(), "http://"+addr+"/envcheck/", 6, webtest.KeyFields("flavor"))
	time.Sleep(300 * time.Millisecond)
	rolling := Strategy{Kind: StrategyRolling, Batches: Batches{{N: 1}}, AutoRollback: true}
	set := cb.configRelease(ConfigRequest{Action: store.ConfigSet, Strategy: rolling, Set: map[string]inventory.EnvValue{"SHOP_FLAVOR": {Value: "two"}}})
	if set.Result != store.ReleaseSuccess {
		load.Stop()
		cb.logf(set)
		t.Fatalf("env set: %s", set.Result)
	}
	notes := strings.Join(set.Notes, "\n")
	for _, h := range []string{"web1", "web2"} {
		if !strings.Contains(notes, "balancer lb1: drained "+h+" (down now: "+h+")") {
			t.Errorf("%s was not drained alone before its new environment:\n%s", h, notes)
		}
	}
	bad := cb.configRelease(ConfigRequest{Action: store.ConfigSet, Strategy: rolling, Set: map[string]inventory.EnvValue{"SHOP_FLAVOR": {Value: "bogus"}}})
	time.Sleep(300 * time.Millisecond)
	res := load.Stop()
	t.Logf("load through nginx: %s", res)
	if bad.Result != store.ReleaseRolledBack {
		cb.logf(bad)
		t.Fatalf("env set of a bad value: %s, want rolled_back", bad.Result)
	}
	if res.Failed != 0 || res.Total < 50 {
		t.Errorf("%d of %d requests through nginx failed during the config releases", res.Failed, res.Total)
	}
	for _, f := range []string{"one", "two"} {
		if _, ok := res.Releases[f]; !ok {
			t.Errorf("no request was answered with flavor %s (saw %v)", f, res.Keys())
		}
	}
	if _, ok := res.Releases["bogus"]; ok {
		t.Errorf("requests were answered with the bad value: its host was in rotation")
	}
	for i := range 2 {
		if got := cb.serves(i, "flavor"); got != "two" {
			t.Errorf("web%d serves flavor %q after the rollback, want two", i+1, got)
		}
	}
	if data, _ := os.ReadFile(upstream); strings.Contains(string(data), " down") {
		t.Errorf("nginx keeps a backend out after the config releases:\n%s", data)
	}
}
