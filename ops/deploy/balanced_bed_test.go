package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/internal/webtest"
	"github.com/opsui/opsui/inventory"
)

// newBalancedBed is web1 and web2 serving the demo shop with gunicorn
// behind a real nginx on lb1 that neither retries another backend nor
// forgives a failure (every dropped request shows), lb1 being their
// balancer with the nginx preset; it returns the bed, nginx's address and
// its upstream file.
func newBalancedBed(t *testing.T) (cb *configBed, addr, upstream string) {
	webtest.RequireNginx(t)
	webtest.RequireDjango(t)
	webtest.RequireGunicorn(t)
	tb := newTestbedWith(t, 3, sshtest.WithNames("web1", "web2", "lb1"))
	lb := tb.fleet.Host("lb1")
	addr = lb.Addr + ":8081"
	dir := filepath.Join(tb.fleet.Dir, "nginx")
	os.MkdirAll(dir, 0o755)
	upstream = filepath.Join(dir, "upstream.conf")
	conf := filepath.Join(dir, "nginx.conf")
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
	cb = setUpConfigBed(t, tb, func(h inventory.Host) map[string]inventory.RoleSettings {
		if h.Name == "lb1" {
			return lbSettings
		}
		return djangoWeb(h)
	})
	return cb, addr, upstream
}
