package deploy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/sshtest"
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
	webtest.RequireNginx(t)
	webtest.RequireDjango(t)
	webtest.RequireGunicorn(t)
	tb := newTestbedWith(t, 3, sshtest.WithNames("web1", "web2", "lb1"))
	lb := tb.fleet.Host("lb1")
	addr := lb.Addr + ":8081"
	dir := filepath.Join(tb.fleet.Dir, "nginx")
	os.MkdirAll(dir, 0o755)
	upstream, conf := filepath.Join(dir, "upstream.conf"), filepath.Join(dir, "nginx.conf")
	var servers strings.Builder
	for _, h := range tb.fleet.Hosts[:2] {
		fmt.Fprintf(&servers, "    server %s:8000 max_fails=0;\n", h.Addr)
	}
	os.WriteFile(upstream, []byte("upstream app {\n"+servers.String()+"}\n"), 0o644)
	os.WriteFile(conf, []byte(fmt.Sprintf(`daemon on; pid %[1]s/nginx.pid; error_log %[1]s/error.log;
events { worker_connections 512; }
http {
  access_log off; client_body_temp_path %[1]s/body; proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fcgi; uwsgi_temp_path %[1]s/uwsgi; scgi_temp_path %[1]s/scgi;
  include %[2]s;
  server { listen %[3]s; location / { proxy_pass http://app; proxy_next_upstream off; } }
}
`, dir, upstream, addr)), 0o644)
	tb.sh(2, "nginx -c "+conf)
	t.Cleanup(func() { tb.sh(2, "nginx -s quit -c "+conf+" || true") })
	tb.inv.Hosts[2].Roles = []string{"lb"}
	lbSettings := map[string]inventory.RoleSettings{"lb": {Options: map[string]string{"preset": lbNginx, "drain_wait": "1",
		"upstream_file": upstream, "upstream": "app", "reload": "nginx -t -q -c " + conf + " && nginx -s reload -c " + conf}}}
	cb := setUpConfigBed(t, tb, func(h inventory.Host) map[string]inventory.RoleSettings {
		if h.Name == "lb1" {
			return lbSettings
		}
		return djangoWeb(h)
	})

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
