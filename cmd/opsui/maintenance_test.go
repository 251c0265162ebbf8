package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/webtest"
)

// TestMaintenanceCLI: `opsui maintenance on` asks for a protected
// environment's name, prints each balancer's part and the state in the
// header's words; the listing, check and audit say the same; off ends it.
func TestMaintenanceCLI(t *testing.T) {
	webtest.RequireNginx(t)
	fleet, _ := execFleet(t, 1, true)
	h := fleet.Hosts[0]
	dir := filepath.Join(fleet.Dir, "nginx")
	os.MkdirAll(dir, 0o755)
	conf, file := filepath.Join(dir, "nginx.conf"), filepath.Join(dir, "maintenance.conf")
	os.WriteFile(file, nil, 0o644)
	os.WriteFile(filepath.Join(dir, "upstream.conf"), []byte("upstream shop { server 127.0.0.1:9 max_fails=0; }\n"), 0o644)
	os.WriteFile(conf, []byte(fmt.Sprintf(`user root; daemon on; pid %[1]s/nginx.pid; error_log %[1]s/error.log;
events { worker_connections 64; }
http {
  access_log off; client_body_temp_path %[1]s/body; proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fcgi; uwsgi_temp_path %[1]s/uwsgi; scgi_temp_path %[1]s/scgi;
  include %[1]s/upstream.conf;
  server { listen %[2]s:8081; include %[3]s; location / { proxy_pass http://shop; } }
}
`, dir, h.Addr, file)), 0o644)
	doc := fmt.Sprintf(`environments:
  - name: production
    protected: true
apps:
  - name: shop
    repo: /nonexistent
    deploy_to: /srv/shop
hosts:
  - name: %s
    address: %s
    port: %d
    user: %s
    identity_file: %s
    env: production
    roles: [lb]
    settings:
      lb:
        options:
          preset: nginx
          upstream_file: %s/upstream.conf
          maintenance_file: %s
          drain_wait: "0"
          reload: nginx -t -q -c %s && nginx -s reload -c %s
`, h.Name, h.Addr, h.Port, fleet.User, fleet.ClientKeyPath, dir, file, conf, conf)
	fleetPath := filepath.Join(t.TempDir(), "fleet.yaml")
	os.WriteFile(fleetPath, []byte(doc), 0o600)
	db := filepath.Join(t.TempDir(), "opsui.db")
	mustRun(t, db, "inventory", "import", fleetPath)
	mustRun(t, db, "exec", "--host", h.Name, "--confirm-env", "production", "--", "nginx -c "+conf)
	t.Cleanup(func() {
		opsuiCmd(t, db, "", "exec", "--host", h.Name, "--confirm-env", "production", "--", "nginx -s quit -c "+conf)
	})

	if out := mustRun(t, db, "maintenance"); !strings.Contains(out, "no app is in maintenance") {
		t.Errorf("before: %q", out)
	}
	// Protected: without a terminal and --yes, nothing happens.
	if out, err := opsuiCmd(t, db, "", "maintenance", "on", "shop", "--env", "production"); err == nil || !strings.Contains(err.Error(), "production is protected") {
		t.Fatalf("on without --yes: %v\n%s", err, out)
	}
	if out, err := opsuiCmd(t, db, "", "maintenance", "on", "shop", "--env", "production", "--retry-after", "90s500ms", "--yes"); err == nil || !strings.Contains(err.Error(), "whole seconds") {
		t.Fatalf("a fractional --retry-after: %v\n%s", err, out)
	}
	out := mustRun(t, db, "maintenance", "on", "shop", "--env", "production", "--message", "Back at 04:00; \"really\"", "--retry-after", "10m", "--yes")
	for _, want := range []string{h.Name + " | maintenance on: " + file + " written, nginx reloaded", "MAINTENANCE shop/production since ",
		"Retry-After 600s", "| Back at 04:00; \"really\""} {
		if !strings.Contains(out, want) {
			t.Errorf("maintenance on lacks %q:\n%s", want, out)
		}
	}
	// nginx -s reload returns before the new workers answer: ask until they do.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + h.Addr + ":8081/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 503 && resp.Header.Get("Retry-After") == "600" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx never answered 503 with Retry-After 600: %v %v", resp, err)
		}
	}
	list := mustRun(t, db, "maintenance")
	if !strings.Contains(list, "MAINTENANCE shop/production since ") || !strings.Contains(list, "| Back at 04:00") {
		t.Errorf("the listing:\n%s", list)
	}
	if out := mustRun(t, db, "maintenance", "check", "shop", "--env", "production"); !strings.Contains(out, h.Name+": maintenance on (# opsui maintenance: on since") {
		t.Errorf("check:\n%s", out)
	}
	if out := mustRun(t, db, "audit"); !strings.Contains(out, "maintenance") || !strings.Contains(out, "Back at 04:00") {
		t.Errorf("audit:\n%s", out)
	}
	out = mustRun(t, db, "maintenance", "off", "shop", "--env", "production")
	if !strings.Contains(out, "shop/production: maintenance off since ") {
		t.Errorf("off:\n%s", out)
	}
	if out := mustRun(t, db, "maintenance"); !strings.Contains(out, "no app is in maintenance") {
		t.Errorf("after off: %q", out)
	}

	// deploy --maintenance's own answer is checked before anything runs.
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"--maintenance-message", "back soon"}, "go with --maintenance"},
		{[]string{"--maintenance", "--maintenance-retry-after", "1500ms"}, "whole seconds"},
		{[]string{"--maintenance", "--maintenance-message", "a\x01b"}, "control character"},
	} {
		args := append([]string{"deploy", "shop", "--env", "production", "--yes"}, tc.args...)
		if out, err := opsuiCmd(t, db, "", args...); err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("deploy %q: %v, want a usage error saying %q\n%s", tc.args, err, tc.says, out)
		}
	}
}
