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
	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/internal/webtest"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// lbBed is three web hosts behind a real balancer (nginx or HAProxy) on a
// fourth host, lb1. The test app restarts its server on reload (not
// gracefully) and the balancer never retries another backend, so only
// draining each batch keeps requests from failing.
type lbBed struct {
	*testbed
	kind string
	addr string        // the balancer's listen address
	down func() string // what the balancer has out of rotation now
	// upstream is nginx's upstream file, conf its configuration; sock is
	// HAProxy's admin socket.
	upstream, conf, sock string
}

// ha sends one command to HAProxy's admin socket and returns the answer.
func (b *lbBed) ha(cmd string) string {
	b.t.Helper()
	return b.sh(3, "printf '%s\\n' "+remote.Quote(cmd)+" | python3 -c 'import socket,sys\ns=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read()); print(s.recv(65536).decode())' "+remote.Quote(b.sock))
}

func newLBBed(t *testing.T, kind string) *lbBed {
	t.Helper()
	switch kind {
	case lbNginx:
		webtest.RequireNginx(t)
	case lbHAProxy:
		testenv.RequireProgram(t, "haproxy", "haproxy")
	}
	tb := newTestbedWith(t, 4, sshtest.WithNames("web1", "web2", "web3", "lb1"))
	b := &lbBed{testbed: tb, kind: kind}
	lb := tb.fleet.Host("lb1")
	b.addr = lb.Addr + ":8081"
	dir := filepath.Join(tb.fleet.Dir, kind)
	os.MkdirAll(dir, 0o755)
	webs := tb.fleet.Hosts[:3]
	opts := map[string]string{"preset": kind, "drain_wait": "1"}
	switch kind {
	case lbNginx:
		upstream, conf := filepath.Join(dir, "upstream.conf"), filepath.Join(dir, "nginx.conf")
		b.upstream, b.conf = upstream, conf
		var servers strings.Builder
		for _, h := range webs {
			fmt.Fprintf(&servers, "    server %s:8080 max_fails=0;\n", h.Addr)
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
`, dir, upstream, b.addr)), 0o644)
		tb.sh(3, "nginx -c "+conf)
		t.Cleanup(func() { tb.sh(3, "nginx -s quit -c "+conf+" || true") })
		opts["upstream_file"], opts["upstream"] = upstream, "app"
		opts["reload"] = "nginx -t -q -c " + conf + " && nginx -s reload -c " + conf
		b.down = func() string {
			data, _ := os.ReadFile(upstream)
			var down []string
			for line := range strings.SplitSeq(string(data), "\n") {
				if strings.Contains(line, " down;") { // opsui's mark may follow
					down = append(down, strings.Fields(line)[1])
				}
			}
			return strings.Join(down, " ")
		}
	case lbHAProxy:
		sock, conf := filepath.Join(dir, "admin.sock"), filepath.Join(dir, "haproxy.cfg")
		b.sock = sock
		var servers strings.Builder
		for _, h := range webs {
			fmt.Fprintf(&servers, "  server %s %s:8080\n", h.Name, h.Addr)
		}
		os.WriteFile(conf, []byte(fmt.Sprintf(`global
  daemon
  pidfile %[1]s/haproxy.pid
  stats socket %[2]s mode 600 level admin
defaults
  mode http
  retries 0
  timeout connect 2s
  timeout client 10s
  timeout server 10s
frontend fe
  bind %[3]s
  default_backend app
backend app
  balance roundrobin
%[4]s`, dir, sock, b.addr, servers.String())), 0o644)
		tb.sh(3, "haproxy -f "+conf)
		t.Cleanup(func() { tb.sh(3, "kill $(cat "+dir+"/haproxy.pid) || true") })
		opts["admin_socket"], opts["backend"] = sock, "app"
		b.down = func() string {
			out := tb.sh(3, "echo 'show servers state app' | python3 -c 'import socket,sys\ns=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read()); print(s.recv(65536).decode())' "+sock)
			var down []string
			for line := range strings.SplitSeq(out, "\n") {
				// be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state ...
				if f := strings.Fields(line); len(f) > 6 && f[1] == "app" && f[6] != "0" {
					down = append(down, f[3])
				}
			}
			return strings.Join(down, " ")
		}
	}
	tb.inv.Hosts[3].Roles = []string{"lb"}
	lbSettings := map[string]inventory.RoleSettings{"lb": {Options: opts}}
	tb.settings = func(h inventory.Host) map[string]inventory.RoleSettings {
		if h.Name == "lb1" {
			return lbSettings
		}
		return map[string]inventory.RoleSettings{"web": {Reload: "OPSUI_BIND_ADDR=" + h.Address + "; " + brokenServer,
			HealthURL: "http://" + h.Address + ":8080/REVISION", Options: map[string]string{"backend": h.Address + ":8080"}}}
	}
	tb.app.Health.Retries, tb.app.Health.Deadline = 5, inventory.Duration(5*time.Second)
	return b
}

// deploy deploys main to the web hosts, with lb1 as their balancer.
func (b *lbBed) deploy(s Strategy) *Outcome {
	b.t.Helper()
	p := b.plan("main", s)
	p.Fleet.Hosts = p.Hosts // lb1 has the lb role, the others web
	var webs []inventory.Host
	for _, h := range p.Hosts {
		if h.HasRole("web") {
			webs = append(webs, h)
		}
	}
	p2, err := NewPlan(p.Fleet, p.App, p.Env, webs, p.Source, p.ReleaseID, s)
	if err != nil {
		b.t.Fatal(err)
	}
	p2.KnownGood = p.KnownGood
	out, err := b.deployer().Deploy(context.Background(), p2)
	if err != nil {
		b.t.Fatal(err)
	}
	return out
}

// TestRollingDeployBehindBalancers deploys to three web hosts behind real
// nginx and real HAProxy while requests flow through the balancer: a
// rolling deploy drains each host before its switch (no request fails),
// and a health check failing mid-batch rolls back and leaves every host in
// rotation again.
func TestRollingDeployBehindBalancers(t *testing.T) {
	for _, kind := range []string{lbNginx, lbHAProxy} {
		t.Run(kind, func(t *testing.T) {
			b := newLBBed(t, kind)
			out := b.deploy(Strategy{Kind: "all", AutoRollback: true})
			if out.Result != store.ReleaseSuccess {
				b.logf(out)
				t.Fatalf("first deploy: %s", out.Result)
			}
			// All at once: draining every backend would take the site down.
			if notes := strings.Join(out.Notes, "\n"); !strings.Contains(notes, "not drained: no backend would be left in rotation") {
				t.Errorf("an all-at-once batch was drained:\n%s", notes)
			}
			load := webtest.StartLoad(context.Background(), "http://"+b.addr+"/REVISION", 4)
			time.Sleep(300 * time.Millisecond)
			b.commit("second", map[string]string{"index.html": "v2\n"})
			out = b.deploy(Strategy{Kind: "rolling", Batches: Batches{{N: 1}}, AutoRollback: true})
			time.Sleep(300 * time.Millisecond)
			res := load.Stop()
			t.Logf("through %s: %s", kind, res)
			if out.Result != store.ReleaseSuccess {
				b.logf(out)
				t.Fatalf("rolling deploy: %s", out.Result)
			}
			notes := strings.Join(out.Notes, "\n")
			for _, h := range []string{"web1", "web2", "web3"} {
				if !strings.Contains(notes, "balancer lb1: drained "+h+" (down now: "+h+")") {
					t.Errorf("%s was not drained alone before its switch:\n%s", h, notes)
				}
			}
			if run, err := b.st.Run(context.Background(), out.RunID); err != nil || !strings.Contains(run.Summary, "balancer lb1: restored (down now: none)") {
				t.Errorf("the run's record does not say what the balancer saw: %q %v", run.Summary, err)
			}
			if res.Failed != 0 || res.Total < 20 {
				t.Errorf("%d of %d requests through %s failed", res.Failed, res.Total, kind)
			}
			if down := b.down(); down != "" {
				t.Errorf("%s keeps %q out of rotation after the deploy", kind, down)
			}

			// A release whose health check fails: web1 is switched back, and
			// the balancer ends with every host in rotation.
			load = webtest.StartLoad(context.Background(), "http://"+b.addr+"/REVISION", 4)
			b.commit("broken", map[string]string{"BROKEN": "yes\n"})
			out = b.deploy(Strategy{Kind: "rolling", Batches: Batches{{N: 1}}, AutoRollback: true})
			res = load.Stop()
			t.Logf("through %s, failing release: %s", kind, res)
			if out.Result != store.ReleaseRolledBack {
				b.logf(out)
				t.Fatalf("broken release: %s, want rolled_back", out.Result)
			}
			if down := b.down(); down != "" {
				t.Errorf("%s keeps %q out of rotation after the rollback", kind, down)
			}
			if res.Failed != 0 {
				t.Errorf("%d of %d requests failed while the broken release was rolled back", res.Failed, res.Total)
			}
		})
	}
}
