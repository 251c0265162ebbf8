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

// TestRollingDeployDrainsBatchesFromNginx deploys to two web hosts behind
// a real nginx on a third host (role lb) while requests flow through it.
// The test app restarts its server on reload (not graceful), and nginx does
// not retry another backend: only draining each batch from the balancer
// before its switch keeps every request from failing. Afterwards the
// upstream has no host down.
func TestRollingDeployDrainsBatchesFromNginx(t *testing.T) {
	webtest.RequireNginx(t)
	tb := newTestbedWith(t, 3, sshtest.WithNames("web1", "web2", "lb1"))
	lbHost := tb.fleet.Host("lb1")
	dir := filepath.Join(tb.fleet.Dir, "nginx")
	os.MkdirAll(dir, 0o755)
	upstream := filepath.Join(dir, "upstream.conf")
	conf := filepath.Join(dir, "nginx.conf")
	var servers strings.Builder
	for _, h := range tb.fleet.Hosts[:2] {
		fmt.Fprintf(&servers, "    server %s:8080 max_fails=0;\n", h.Addr)
	}
	os.WriteFile(upstream, []byte("upstream app {\n"+servers.String()+"}\n"), 0o644)
	os.WriteFile(conf, []byte(fmt.Sprintf(`daemon on; pid %[1]s/nginx.pid; error_log %[1]s/error.log;
events { worker_connections 512; }
http {
  access_log off; client_body_temp_path %[1]s/body; proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fcgi; uwsgi_temp_path %[1]s/uwsgi; scgi_temp_path %[1]s/scgi;
  include %[2]s;
  server { listen %[3]s:8081; location / { proxy_pass http://app; proxy_next_upstream off; } }
}
`, dir, upstream, lbHost.Addr)), 0o644)
	tb.sh(2, "nginx -c "+conf)
	t.Cleanup(func() { tb.sh(2, "nginx -s quit -c "+conf+" || true") })

	tb.inv.Hosts[2].Roles = []string{"lb"}
	tb.inv.Hosts[2].Settings = map[string]inventory.RoleSettings{"lb": {Options: map[string]string{
		"preset": "nginx", "upstream_file": upstream, "upstream": "app",
		"reload": "nginx -t -q -c " + conf + " && nginx -s reload -c " + conf}}}
	tb.settings = func(h inventory.Host) map[string]inventory.RoleSettings {
		if h.Name == "lb1" {
			return tb.inv.Hosts[2].Settings
		}
		s := map[string]inventory.RoleSettings{"web": {Reload: "OPSUI_BIND_ADDR=" + h.Address + "; " + appServer,
			HealthURL: "http://" + h.Address + ":8080/REVISION", Options: map[string]string{"backend": h.Address + ":8080"}}}
		return s
	}
	deployLB := func(s Strategy) *Outcome {
		t.Helper()
		p := tb.plan("main", s)
		var webs []inventory.Host
		for _, h := range p.Hosts {
			if h.HasRole("web") {
				webs = append(webs, h)
			}
		}
		p.Fleet.Hosts = p.Hosts
		p2, err := NewPlan(p.Fleet, p.App, p.Env, webs, p.Source, p.ReleaseID, s)
		if err != nil {
			t.Fatal(err)
		}
		p2.KnownGood = p.KnownGood
		out, err := tb.deployer().Deploy(context.Background(), p2)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	tb.inv.Hosts[0].Roles, tb.inv.Hosts[1].Roles = []string{"web"}, []string{"web"}
	if out := deployLB(Strategy{Kind: "all", AutoRollback: true}); out.Result != store.ReleaseSuccess {
		tb.logf(out)
		t.Fatalf("first deploy: %s", out.Result)
	}
	load := webtest.StartLoad(context.Background(), "http://"+lbHost.Addr+":8081/REVISION", 4)
	time.Sleep(300 * time.Millisecond)
	tb.commit("second", map[string]string{"index.html": "v2\n"})
	out := deployLB(Strategy{Kind: "rolling", Batches: "1", AutoRollback: true})
	time.Sleep(300 * time.Millisecond)
	res := load.Stop()
	t.Logf("through nginx: %s", res)
	if out.Result != store.ReleaseSuccess {
		tb.logf(out)
		t.Fatalf("rolling deploy: %s", out.Result)
	}
	notes := strings.Join(out.Notes, "\n")
	for _, want := range []string{"balancer lb1: drained web1 (down now: web1)", "balancer lb1: drained web2 (down now: web2)", "balancer lb1: restored (down now: none)"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if res.Failed != 0 || res.Total < 20 {
		t.Errorf("%d of %d requests through the balancer failed", res.Failed, res.Total)
	}
	if b, _ := os.ReadFile(upstream); strings.Contains(string(b), "down") || strings.Count(string(b), "server ") != 2 {
		t.Errorf("upstream after the deploy:\n%s", b)
	}
}
