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

// TestRestartThroughBalancerDropsNoRequest: two web hosts serve the demo
// shop with gunicorn behind a real nginx on lb1 that neither retries
// another backend nor forgives a failure, with requests flowing through
// it the whole time: a rolling restart drains each host alone, restarts
// its master (a new pid), checks it and puts it back, and no request
// fails; the balancer ends with every backend in rotation.
func TestRestartThroughBalancerDropsNoRequest(t *testing.T) {
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
	p := cb.plan("env", Strategy{Kind: "all", AutoRollback: true})
	p.Fleet.Hosts = p.Hosts
	p, err := NewPlan(p.Fleet, p.App, p.Env, SelectHosts(p.Fleet, "test", HostSelection{}), p.Source, p.ReleaseID, p.Strategy)
	if err != nil {
		t.Fatal(err)
	}
	first, err := cb.deployer().Deploy(context.Background(), p)
	if err != nil || first.Result != store.ReleaseSuccess {
		cb.logf(first)
		t.Fatalf("deploy: %v", err)
	}
	masters := []string{}
	for i := range 2 {
		pid, _ := tb.masterOf(i)
		masters = append(masters, pid)
	}

	load := webtest.StartLoad(context.Background(), "http://"+addr+"/health/", 6)
	time.Sleep(300 * time.Millisecond)
	out, err := tb.restart(Strategy{Kind: StrategyRolling, Batches: Batches{{N: 1}}})
	time.Sleep(300 * time.Millisecond)
	res := load.Stop()
	t.Logf("load through nginx during the restart: %s", res)
	if err != nil || out.Result != store.ReleaseSuccess {
		if out != nil {
			cb.logf(out)
		}
		t.Fatalf("restart: %v", err)
	}
	if res.Failed != 0 || res.Total < 50 {
		t.Errorf("%d of %d requests through nginx failed during the restart (%v)", res.Failed, res.Total, res.Errors)
	}
	notes := strings.Join(out.Notes, "\n")
	for i, h := range []string{"web1", "web2"} {
		if !strings.Contains(notes, "balancer lb1: drained "+h+" (down now: "+h+")") {
			t.Errorf("%s was not drained alone before its restart:\n%s", h, notes)
		}
		if pid, _ := tb.masterOf(i); pid == masters[i] {
			t.Errorf("%s: master %s was not restarted", h, pid)
		}
	}
	if data, _ := os.ReadFile(upstream); strings.Contains(string(data), " down") {
		t.Errorf("nginx keeps a backend out after the restart:\n%s", data)
	}
}
