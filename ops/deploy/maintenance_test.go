package deploy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/internal/webtest"
	"github.com/opsui/opsui/inventory"
)

// maintBed is two web hosts running real gunicorn behind two real
// balancers (lb1, lb2: nginx or HAProxy), each on its own sshd host,
// configured for maintenance as the README says: nginx's server block
// includes the maintenance file, HAProxy's frontend has the rule that
// reads it as a map and the message file.
type maintBed struct {
	*testbed
	lbAddr map[string]string // balancer -> its listen address
	file   map[string]string // balancer -> its maintenance file
	conf   map[string]string // balancer -> its nginx.conf
	webs   []string          // the backends, host:port
}

// maintApp is the WSGI app gunicorn serves on the web hosts.
const maintApp = `def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok from backend\n"]
`

func newMaintBed(t *testing.T, kind string) *maintBed {
	t.Helper()
	if kind == lbHAProxy {
		testenv.RequireProgram(t, "haproxy", "haproxy")
	} else {
		webtest.RequireNginx(t)
	}
	webtest.RequireGunicorn(t)
	tb := newTestbedWith(t, 4, sshtest.WithNames("web1", "web2", "lb1", "lb2"))
	b := &maintBed{testbed: tb, lbAddr: map[string]string{}, file: map[string]string{}, conf: map[string]string{}}
	for i := range 2 {
		h := tb.fleet.Hosts[i]
		dir := filepath.Join(tb.fleet.Dir, "app-"+h.Name)
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "maintapp.py"), []byte(maintApp), 0o644)
		tb.sh(i, fmt.Sprintf("%s --daemon --pid %s/gunicorn.pid -w 2 -b %s:8080 --chdir %s maintapp:app", webtest.GunicornPath, dir, h.Addr, dir))
		t.Cleanup(func() { tb.sh(i, "kill $(cat "+dir+"/gunicorn.pid) 2>/dev/null; true") })
		b.webs = append(b.webs, h.Addr+":8080")
	}
	for _, w := range b.webs {
		until(t, "http://"+w+"/", 200)
	}
	settings := map[string]map[string]inventory.RoleSettings{}
	for i := 2; i < 4; i++ {
		h := tb.fleet.Hosts[i]
		dir := filepath.Join(tb.fleet.Dir, kind+"-"+h.Name)
		os.MkdirAll(dir, 0o755)
		tb.inv.Hosts[i].Roles = []string{"lb"}
		if kind == lbHAProxy {
			settings[h.Name] = b.startHAProxy(i, dir)
			continue
		}
		upstream, conf, file := filepath.Join(dir, "upstream.conf"), filepath.Join(dir, "nginx.conf"), filepath.Join(dir, "maintenance.conf")
		b.lbAddr[h.Name], b.file[h.Name], b.conf[h.Name] = h.Addr+":8081", file, conf
		var servers strings.Builder
		for _, w := range b.webs {
			fmt.Fprintf(&servers, "    server %s max_fails=0;\n", w)
		}
		os.WriteFile(upstream, []byte("upstream app {\n"+servers.String()+"}\n"), 0o644)
		os.WriteFile(file, nil, 0o644) // the README's `touch`: nginx refuses to include a missing file
		os.WriteFile(conf, []byte(fmt.Sprintf(`user root; daemon on; pid %[1]s/nginx.pid; error_log %[1]s/error.log;
events { worker_connections 512; }
http {
  access_log off; client_body_temp_path %[1]s/body; proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fcgi; uwsgi_temp_path %[1]s/uwsgi; scgi_temp_path %[1]s/scgi;
  include %[2]s;
  server {
    listen %[3]s;
    include %[4]s;
    location / { proxy_pass http://app; proxy_next_upstream off; }
  }
}
`, dir, upstream, b.lbAddr[h.Name], file)), 0o644)
		tb.sh(i, "nginx -c "+conf)
		t.Cleanup(func() { tb.sh(i, "nginx -s quit -c "+conf+" || true") })
		settings[h.Name] = map[string]inventory.RoleSettings{"lb": {Options: map[string]string{"preset": "nginx",
			"upstream_file": upstream, "maintenance_file": file, "drain_wait": "0.5",
			"reload": "nginx -t -q -c " + conf + " && nginx -s reload -c " + conf}}}
	}
	tb.settings = func(h inventory.Host) map[string]inventory.RoleSettings {
		if s, ok := settings[h.Name]; ok {
			return s
		}
		return map[string]inventory.RoleSettings{"web": {Options: map[string]string{"backend": h.Address + ":8080"}}}
	}
	return b
}

// haproxyMaintenanceConf is haproxy.cfg with the README's maintenance
// rule: %[1]s the directory, %[2]s the listen address, %[3]s the
// maintenance file (its map), %[4]s the backends' server lines.
const haproxyMaintenanceConf = `global
  daemon
  pidfile %[1]s/haproxy.pid
  stats socket %[1]s/admin.sock mode 600 level admin expose-fd listeners
defaults
  mode http
  timeout connect 2s
  timeout client 10s
  timeout server 10s
frontend fe
  bind %[2]s
  http-request return status 503 content-type "text/plain; charset=utf-8" file %[3]s.message hdr Retry-After "%%[str(retry),map(%[3]s)]" if { str(on),map(%[3]s,off) -m str on }
  default_backend app
backend app
  balance roundrobin
%[4]s`

// startHAProxy starts HAProxy on lb host i and returns its lb settings:
// a reload that checks the configuration, then replaces the process
// seamlessly (-x takes the listening sockets over).
func (b *maintBed) startHAProxy(i int, dir string) map[string]inventory.RoleSettings {
	h := b.fleet.Hosts[i]
	conf, file := filepath.Join(dir, "haproxy.cfg"), filepath.Join(dir, "maintenance.map")
	b.lbAddr[h.Name], b.file[h.Name], b.conf[h.Name] = h.Addr+":8081", file, conf
	var servers strings.Builder
	for n, w := range b.webs {
		fmt.Fprintf(&servers, "  server web%d %s\n", n+1, w)
	}
	os.WriteFile(file, nil, 0o644) // the README's touch: HAProxy reads both at start
	os.WriteFile(file+".message", nil, 0o644)
	os.WriteFile(conf, []byte(fmt.Sprintf(haproxyMaintenanceConf, dir, b.lbAddr[h.Name], file, servers.String())), 0o644)
	b.sh(i, "haproxy -f "+conf)
	b.t.Cleanup(func() { b.sh(i, "kill $(cat "+dir+"/haproxy.pid) 2>/dev/null; true") })
	return map[string]inventory.RoleSettings{"lb": {Options: map[string]string{"preset": "haproxy",
		"admin_socket": dir + "/admin.sock", "maintenance_file": file, "drain_wait": "0.5",
		"reload": "haproxy -c -q -f " + conf + " && haproxy -f " + conf + " -x " + dir + "/admin.sock -sf $(cat " + dir + "/haproxy.pid)"}}}
}

// options are the MaintenanceOptions of the bed's environment.
func (b *maintBed) options(notes *[]string) MaintenanceOptions {
	f := *b.inv
	f.Hosts = b.hosts()
	return MaintenanceOptions{Conn: b.pool, Fleet: &f, App: "app", Env: "test", Targets: b.targets, About: "by tester",
		Note: func(host, line string) { *notes = append(*notes, host+": "+line) }}
}

// get sends one request on a new connection (t may be nil: it is not
// used, so a goroutine may call it).
func get(_ testing.TB, url string) (int, http.Header, string) {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, nil, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

// until asks url until it answers status (nginx -s reload returns before
// the new workers take requests), failing after a generous deadline.
func until(t *testing.T, url string, status int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if got, _, _ := get(t, url); got == status {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered %d", url, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMaintenanceOnOffUnderLoad: under load through both balancers,
// maintenance on makes every request through them answer 503 with the
// message (quotes, semicolons, braces, $, a backslash and a line break
// kept as written) and Retry-After, while the gunicorn backends still
// answer 200 directly; off brings 200 back; no request failed any other
// way.
func TestMaintenanceOnOffUnderLoad(t *testing.T) {
	for _, kind := range []string{lbNginx, lbHAProxy} {
		t.Run(kind, func(t *testing.T) { testMaintenanceOnOff(t, kind) })
	}
}

func testMaintenanceOnOff(t *testing.T, kind string) {
	b := newMaintBed(t, kind)
	ctx := context.Background()
	var loads []*webtest.Load
	for _, lb := range []string{"lb1", "lb2"} {
		until(t, "http://"+b.lbAddr[lb]+"/", 200)
		loads = append(loads, webtest.StartLoad(ctx, "http://"+b.lbAddr[lb]+"/", 2))
	}
	msg := "Back at 04:00 \"UTC\"; don't {panic} $host \\ 100% %[str(x)]\nsecond line; return 200; ünïcode"
	var notes []string
	done, err := SetMaintenance(ctx, b.options(&notes), MaintenanceState{On: true, Message: msg, RetryAfter: 2 * time.Minute})
	if err != nil || len(done) != 2 || !done[0].Changed || !done[1].Changed {
		t.Fatalf("maintenance on: %v %v\n%s", done, err, strings.Join(notes, "\n"))
	}
	for _, lb := range []string{"lb1", "lb2"} {
		until(t, "http://"+b.lbAddr[lb]+"/", 503)
		for _, path := range []string{"/", "/orders/1?x=\"y\"", "/health/"} {
			status, hdr, body := get(t, "http://"+b.lbAddr[lb]+path)
			if status != 503 || body != msg+"\n" || hdr.Get("Retry-After") != "120" || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
				t.Errorf("%s%s in maintenance: %d %q Retry-After %q Content-Type %q", lb, path, status, body, hdr.Get("Retry-After"), hdr.Get("Content-Type"))
			}
		}
	}
	for _, w := range b.webs {
		if status, _, body := get(t, "http://"+w+"/"); status != 200 || body != "ok from backend\n" {
			t.Errorf("backend %s in maintenance: %d %q, want 200", w, status, body)
		}
	}
	st, err := ReadMaintenance(ctx, b.options(&notes))
	if err != nil || len(st) != 2 || !st[0].On || !st[1].On || !strings.Contains(st[0].Line, "on by tester") {
		t.Errorf("read back: %+v %v", st, err)
	}

	if _, err := SetMaintenance(ctx, b.options(&notes), MaintenanceState{}); err != nil {
		t.Fatalf("maintenance off: %v", err)
	}
	for _, lb := range []string{"lb1", "lb2"} {
		until(t, "http://"+b.lbAddr[lb]+"/", 200)
		if status, _, body := get(t, "http://"+b.lbAddr[lb]+"/"); status != 200 || body != "ok from backend\n" {
			t.Errorf("%s after off: %d %q", lb, status, body)
		}
	}
	for i, l := range loads {
		res := l.Stop()
		t.Logf("through lb%d: %s", i+1, res)
		for status, n := range res.ByStatus {
			if status != 200 && status != 503 {
				t.Errorf("through lb%d: %d requests answered %d (want only 200 and 503)", i+1, n, status)
			}
		}
		if res.ByStatus[503] == 0 || res.ByStatus[200] == 0 {
			t.Errorf("through lb%d: the load saw no 503 or no 200: %v", i+1, res.ByStatus)
		}
	}
	if st, _ := ReadMaintenance(ctx, b.options(&notes)); len(st) != 2 || st[0].On || st[1].On {
		t.Errorf("read back after off: %+v", st)
	}
}

// TestMaintenanceIsAllOrNone: lb2's nginx cannot take the maintenance
// file (its server block is missing: the include sits where return is not
// allowed), so nginx -t refuses it; lb1, already changed, is put back as
// it was, and the error names lb2.
func TestMaintenanceIsAllOrNone(t *testing.T) {
	b := newMaintBed(t, lbNginx)
	ctx := context.Background()
	// lb2 includes the maintenance file at the http level, where nginx
	// refuses return and location.
	conf, _ := os.ReadFile(b.conf["lb2"])
	bad := strings.Replace(string(conf), "    include "+b.file["lb2"]+";\n", "", 1)
	bad = strings.Replace(bad, "  server {", "  include "+b.file["lb2"]+";\n  server {", 1)
	os.WriteFile(b.conf["lb2"], []byte(bad), 0o644)
	b.sh(3, "nginx -t -q -c "+b.conf["lb2"]+" && nginx -s reload -c "+b.conf["lb2"])
	before, _ := os.ReadFile(b.file["lb1"])

	var notes []string
	hosts, err := SetMaintenance(ctx, b.options(&notes), MaintenanceState{On: true, Message: "down", RetryAfter: time.Minute})
	if len(hosts) != 2 || !hosts[0].PutBack || hosts[0].Changed || hosts[1].Err == nil {
		t.Errorf("what each balancer did: %+v", hosts)
	}
	if err == nil || !strings.Contains(err.Error(), "balancer lb2: maintenance on failed") || !strings.Contains(err.Error(), "put back as they were: lb1") {
		t.Fatalf("a failing lb2: %v\n%s", err, strings.Join(notes, "\n"))
	}
	if after, _ := os.ReadFile(b.file["lb1"]); string(after) != string(before) {
		t.Errorf("lb1's maintenance file after the put-back: %q, want %q", after, before)
	}
	if _, err := os.Stat(b.file["lb1"] + ".message"); !os.IsNotExist(err) {
		t.Errorf("lb1's message file was left behind: %v", err)
	}
	if after, _ := os.ReadFile(b.file["lb2"]); len(after) != 0 {
		t.Errorf("lb2's maintenance file after nginx refused it: %q", after)
	}
	for _, lb := range []string{"lb1", "lb2"} {
		until(t, "http://"+b.lbAddr[lb]+"/", 200)
		if status, _, _ := get(t, "http://"+b.lbAddr[lb]+"/"); status != 200 {
			t.Errorf("%s after the failed maintenance on: %d", lb, status)
		}
	}
}

// TestMaintenanceStateCheck refuses what the balancers could not send.
func TestMaintenanceStateCheck(t *testing.T) {
	for _, c := range []struct {
		st   MaintenanceState
		want string
	}{
		{MaintenanceState{On: true, Message: "ok \"quoted\"; fine\nline", RetryAfter: time.Minute}, ""},
		{MaintenanceState{On: true, Message: "bell\a", RetryAfter: time.Minute}, "control character U+0007"},
		{MaintenanceState{On: true, Message: strings.Repeat("x", MaxMaintenanceMessage+1), RetryAfter: time.Minute}, "at most 4096"},
		{MaintenanceState{On: true, Message: "x", RetryAfter: 1500 * time.Millisecond}, "whole seconds"},
		{MaintenanceState{On: true, Message: "x", RetryAfter: 0}, "whole seconds"},
		{MaintenanceState{On: true, Message: "\xff", RetryAfter: time.Minute}, "not UTF-8"},
		{MaintenanceState{}, ""},
	} {
		err := c.st.Check()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: %v, want %q", c.st, err, c.want)
		}
	}
}

// TestMaintenanceNeedsCapableBalancers: maintenance (and deploy
// --maintenance, before anything runs) is refused when a balancer of the
// environment cannot answer 503, naming it and what it lacks; an
// environment without balancers is refused too.
func TestMaintenanceNeedsCapableBalancers(t *testing.T) {
	lb := func(name string, opts map[string]string) inventory.Host {
		return inventory.Host{Name: name, Address: "10.0.0.1", Env: "production", Roles: []string{"lb"},
			Settings: map[string]inventory.RoleSettings{"lb": {Options: opts}}}
	}
	f := &inventory.Fleet{Hosts: []inventory.Host{
		lb("lb1", map[string]string{"preset": "nginx", "upstream_file": "/etc/nginx/up.conf", "maintenance_file": "/etc/nginx/m.conf"}),
		lb("lb2", map[string]string{"preset": "nginx", "upstream_file": "/etc/nginx/up.conf"}),
		lb("lb3", map[string]string{"preset": "haproxy", "admin_socket": "/run/haproxy/admin.sock"}),
	}}
	p := &Plan{Fleet: f, App: inventory.App{Name: "shop"}, Env: inventory.Environment{Name: "production"}, Maintenance: true}
	err := checkMaintenance(p)
	for _, want := range []string{"deploy shop --maintenance", "balancer lb2 has no options.maintenance_file", "balancer lb3 has no options.maintenance_file"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("refusal lacks %q: %v", want, err)
		}
	}
	if err != nil && strings.Contains(err.Error(), "lb1") {
		t.Errorf("the capable lb1 is named: %v", err)
	}
	f.Hosts = f.Hosts[:1]
	if err := checkMaintenance(p); err != nil {
		t.Errorf("every balancer capable: %v", err)
	}
	p.Env.Name = "staging"
	if err := checkMaintenance(p); err == nil || !strings.Contains(err.Error(), "staging has no load balancer") {
		t.Errorf("no balancer: %v", err)
	}
}

// TestMaintenanceReloadsUnderSudo: a balancer whose role says sudo: true
// and names no reload checks and reloads root's nginx through sudo (made
// sudo -n by the prelude: the lines opsui setup --print-sudoers lists);
// its own reload is run as written.
func TestMaintenanceReloadsUnderSudo(t *testing.T) {
	for _, tc := range []struct {
		set  inventory.RoleSettings
		want string
	}{
		{inventory.RoleSettings{Sudo: true, Options: map[string]string{"preset": "nginx", "maintenance_file": "/etc/nginx/m.conf"}},
			"sudo /usr/sbin/nginx -t -q && sudo /usr/sbin/nginx -s reload"},
		{inventory.RoleSettings{Options: map[string]string{"preset": "nginx", "maintenance_file": "/etc/nginx/m.conf"}}, "nginx -t -q && nginx -s reload"},
		{inventory.RoleSettings{Sudo: true, Options: map[string]string{"preset": "nginx", "maintenance_file": "/etc/nginx/m.conf", "reload": "sudo /usr/local/sbin/nginx -s reload"}},
			"sudo /usr/local/sbin/nginx -s reload"},
	} {
		f := &inventory.Fleet{Hosts: []inventory.Host{{Name: "lb1", Address: "10.0.0.1", Env: "production", Roles: []string{"lb"},
			Settings: map[string]inventory.RoleSettings{"lb": tc.set}}}}
		lbs, err := maintenanceLBs(MaintenanceOptions{Fleet: f, App: "shop", Env: "production"})
		if err != nil || len(lbs) != 1 || lbs[0].reload != tc.want {
			t.Errorf("sudo %v, reload %q: %+v %v, want %q", tc.set.Sudo, tc.set.Options["reload"], lbs, err, tc.want)
		}
	}
}
