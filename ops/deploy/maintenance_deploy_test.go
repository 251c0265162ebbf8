package deploy

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/demoapp"
	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/internal/webtest"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/store"
)

// watchStatuses asks url until stop is closed and counts the answers by
// status, keeping a 503's body.
func watchStatuses(url string, stop <-chan struct{}) (wait func() (map[int]int, string, string)) {
	var mu sync.Mutex
	seen, body, retry := map[int]int{}, "", ""
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			status, h, b := get(nil, url)
			mu.Lock()
			seen[status]++
			if status == 503 {
				body, retry = b, h.Get("Retry-After")
			}
			mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return func() (map[int]int, string, string) {
		<-done
		mu.Lock()
		defer mu.Unlock()
		return seen, body, retry
	}
}

// TestDeployWithMaintenance deploys the demo shop (Django, real gunicorn)
// to two web hosts behind a real nginx on lb1: a rolling deploy whose
// migration drops a column goes through with --maintenance (the site
// answers 503 while it runs, the safety note says why it was let
// through), and maintenance is off after the last switch; a deploy whose
// health check fails is rolled back and leaves maintenance off too.
func TestDeployWithMaintenance(t *testing.T) {
	webtest.RequireDjango(t)
	webtest.RequireGunicorn(t)
	webtest.RequireNginx(t)
	tb := newTestbedWith(t, 3, sshtest.WithNames("web1", "web2", "lb1"))
	ctx := context.Background()
	repo := tb.useDemoShop()

	lb := tb.fleet.Hosts[2]
	dir := filepath.Join(tb.fleet.Dir, "nginx")
	os.MkdirAll(dir, 0o755)
	upstream, conf, file := filepath.Join(dir, "upstream.conf"), filepath.Join(dir, "nginx.conf"), filepath.Join(dir, "maintenance.conf")
	os.WriteFile(upstream, []byte(fmt.Sprintf("upstream app {\n    server %s:8000 max_fails=0;\n    server %s:8000 max_fails=0;\n}\n",
		tb.fleet.Hosts[0].Addr, tb.fleet.Hosts[1].Addr)), 0o644)
	os.WriteFile(file, nil, 0o644)
	os.WriteFile(conf, []byte(fmt.Sprintf(`user root; daemon on; pid %[1]s/nginx.pid; error_log %[1]s/error.log;
events { worker_connections 512; }
http {
  access_log off; client_body_temp_path %[1]s/body; proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fcgi; uwsgi_temp_path %[1]s/uwsgi; scgi_temp_path %[1]s/scgi;
  include %[2]s;
  server { listen %[3]s:8081; include %[4]s; location / { proxy_pass http://app; } }
}
`, dir, upstream, lb.Addr, file)), 0o644)
	tb.sh(2, "nginx -c "+conf)
	t.Cleanup(func() { tb.sh(2, "nginx -s quit -c "+conf+" || true") })
	tb.inv.Hosts[2].Roles = []string{"lb"}
	tb.settings = func(h inventory.Host) map[string]inventory.RoleSettings {
		if h.Name == "lb1" {
			return map[string]inventory.RoleSettings{"lb": {Options: map[string]string{"preset": "nginx", "upstream_file": upstream, "upstream": "app",
				"maintenance_file": file, "drain_wait": "0.5", "reload": "nginx -t -q -c " + conf + " && nginx -s reload -c " + conf}}}
		}
		return map[string]inventory.RoleSettings{"web": {HealthURL: "http://" + net.JoinHostPort(h.Address, "8000") + "/health/",
			Options: map[string]string{"bind": h.Address + ":8000", "workers": "1", "backend": h.Address + ":8000"}}}
	}
	t.Cleanup(func() {
		for i := range 2 {
			tb.sh(i, `kill "$(cat `+tb.deployTo+`/shared/gunicorn.pid 2>/dev/null)" 2>/dev/null; true`)
		}
	})
	// plan plans ref for the web hosts, lb1 their balancer.
	plan := func(ref string, s Strategy) *Plan {
		p := tb.plan(ref, s)
		p.Fleet.Hosts = p.Hosts
		var webs []inventory.Host
		for _, h := range p.Hosts {
			if h.HasRole("web") {
				webs = append(webs, h)
			}
		}
		p2, err := NewPlan(p.Fleet, p.App, p.Env, webs, p.Source, p.ReleaseID, s)
		if err != nil {
			t.Fatal(err)
		}
		p2.KnownGood = p.KnownGood
		return p2
	}
	deploy := func(p *Plan) *Outcome {
		out, err := tb.deployer().Deploy(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	if first := deploy(plan(repo.Hash(demoapp.CommitAddOrder), Strategy{Kind: StrategyAll})); first.Result != store.ReleaseSuccess {
		tb.logf(first)
		t.Fatalf("first deploy: %s", first.Result)
	}
	tb.git("checkout", "-q", "-b", "drop", repo.Hash(demoapp.CommitGreeting))
	drop := tb.commit("drop Order.quantity", dropQuantity)
	rolling := Strategy{Kind: StrategyRolling, Batches: Batches{{N: 1}}, AutoRollback: true}
	p := plan(drop, rolling)
	p.Maintenance = true
	p.MaintenanceMessage, p.MaintenanceRetryAfter = "Back at 04:00 UTC: \"orders\" {moved}", 90*time.Second
	var dry strings.Builder
	p.Describe(&dry)
	if !strings.Contains(dry.String(), `maintenance: every balancer answers 503 (Retry-After 1m30s)`) || !strings.Contains(dry.String(), `orders`) {
		t.Errorf("the dry run does not say what the balancers answer:\n%s", dry.String())
	}
	stop := make(chan struct{})
	wait := watchStatuses("http://"+lb.Addr+":8081/health/", stop)
	out := deploy(p)
	close(stop)
	seen, body, retry := wait()
	t.Logf("through nginx during the deploy: %v", seen)
	notes := strings.Join(out.Notes, "\n")
	if out.Result != store.ReleaseSuccess || len(out.Warnings) > 0 {
		tb.logf(out)
		t.Fatalf("rolling deploy of a breaking migration with --maintenance: %s %v\n%s", out.Result, out.Warnings, notes)
	}
	if seen[503] == 0 || body != p.MaintenanceMessage+"\n" || retry != "90" {
		t.Errorf("no request through nginx saw the deploy's maintenance page during the migration: %v %q, Retry-After %q", seen, body, retry)
	}
	on, off := strings.Index(notes, "maintenance on: every balancer"), strings.Index(notes, "maintenance off: the balancers")
	if on < 0 || off < on {
		t.Errorf("maintenance on, then off, not in the deploy's notes:\n%s", notes)
	}
	c, allowed, ok, err := RecordedMigrationCheck(ctx, tb.st, "app", "test", out.ReleaseID)
	if err != nil || !ok || c.Verdict() != VerdictBreaking || !strings.Contains(allowed, "--maintenance by tester") {
		t.Errorf("the release's safety note: %v allowed %q %v %v", c.Verdict(), allowed, ok, err)
	}
	if cols := orderColumns(tb); strings.Contains(cols, "quantity") {
		t.Errorf("the deploy did not migrate: shop_order has %s", cols)
	}
	m, err := tb.st.MaintenanceOf(ctx, "app", "test")
	if err != nil || m.On || m.RunID != out.RunID || m.Operator != "tester" {
		t.Errorf("the maintenance record after the deploy: %+v %v (run %d)", m, err, out.RunID)
	}
	if got := tb.sh(2, "head -n 1 "+file); !strings.HasPrefix(got, maintMarker+"off") {
		t.Errorf("lb1's maintenance file after the deploy: %q", got)
	}
	if status, _, _ := get(t, "http://"+lb.Addr+":8081/health/"); status != 200 {
		t.Errorf("through nginx after the deploy: %d", status)
	}

	// A release whose health check fails: rolled back, maintenance off.
	p = plan(repo.Hash(demoapp.CommitBreakHealth), rolling)
	p.Maintenance, p.AllowBreakingMigrations = true, true
	out = deploy(p)
	if out.Result != store.ReleaseRolledBack {
		tb.logf(out)
		t.Fatalf("a failing health check with --maintenance: %s, want rolled_back", out.Result)
	}
	if m, _ := tb.st.MaintenanceOf(ctx, "app", "test"); m.On {
		t.Errorf("a rolled-back deploy left maintenance on: %+v", m)
	}
	if got := tb.sh(2, "head -n 1 "+file); !strings.HasPrefix(got, maintMarker+"off") {
		t.Errorf("lb1's maintenance file after the rollback: %q", got)
	}
}
