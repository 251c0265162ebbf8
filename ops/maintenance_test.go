package ops

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/remotetest"
	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/internal/webtest"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// maintFleet is shop in production behind two nginx balancers; %[1]s is
// the lb hosts' entries.
const maintFleet = `environments:
  - name: production
    protected: true
apps:
  - name: shop
    repo: /nonexistent
    deploy_to: /srv/shop
hosts:
  - name: web1
    address: 127.0.0.1
    env: production
    roles: [web]
%[1]s`

// maintEnv is two sshd hosts, lb1 and lb2, each running a real nginx whose
// server block includes the maintenance file, and a Service over them.
type maintEnv struct {
	*remotetest.Env
	svc  *Service
	conf map[string]string // balancer -> nginx.conf
	file map[string]string // balancer -> maintenance file
}

func newMaintEnv(t *testing.T) *maintEnv {
	t.Helper()
	webtest.RequireNginx(t)
	e := &maintEnv{Env: remotetest.Start(t, 2, sshtest.WithNames("lb1", "lb2")), conf: map[string]string{}, file: map[string]string{}}
	var hosts strings.Builder
	for i, h := range e.Fleet.Hosts {
		dir := filepath.Join(t.TempDir(), h.Name)
		os.MkdirAll(dir, 0o755)
		conf, file := filepath.Join(dir, "nginx.conf"), filepath.Join(dir, "maintenance.conf")
		e.conf[h.Name], e.file[h.Name] = conf, file
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
		e.run(t, i, "nginx -c "+conf)
		t.Cleanup(func() { e.run(t, i, "nginx -s quit -c "+conf+" || true") })
		fmt.Fprintf(&hosts, `  - name: %s
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
`, h.Name, h.Addr, h.Port, e.Fleet.User, e.Fleet.ClientKeyPath, dir, file, conf, conf)
	}
	f, err := inventory.DecodeYAML("fleet.yaml", []byte(fmt.Sprintf(maintFleet, hosts.String())))
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t)
	if err := st.SaveFleet(t.Context(), f); err != nil {
		t.Fatal(err)
	}
	e.svc = &Service{Store: st, Conn: e.Pool, Operator: "ann@laptop", Args: []string{"test"}}
	return e
}

func (e *maintEnv) run(t *testing.T, i int, cmd string) {
	t.Helper()
	res, err := remote.Run(context.Background(), e.Pool, e.Targets[i:i+1], cmd, remote.RunOptions{}, nil)
	if err != nil || res.OK != 1 {
		t.Fatalf("%s: %s: %v %+v", e.Targets[i].Name, cmd, err, res.Hosts)
	}
}

func (e *maintEnv) target(t *testing.T) Target {
	t.Helper()
	tg, err := e.svc.Target(t.Context(), Scope{App: "shop", Env: "production"})
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// TestMaintenanceIsRecorded: maintenance on and off are runs of kind
// maintenance with each balancer's part, in the audit log, and the state
// row the header reads, in the words `opsui maintenance` prints; a
// balancer that fails leaves the state as it was and the run failed; a
// message the balancers cannot send is refused with nothing recorded.
func TestMaintenanceIsRecorded(t *testing.T) {
	e := newMaintEnv(t)
	ctx := t.Context()
	msg := `Back at 04:00 "UTC"; sorry`
	m, rec, err := e.svc.Maintenance(ctx, MaintenanceRequest{Target: e.target(t), On: true, Message: msg, RetryAfter: 10 * time.Minute}, nil)
	if err != nil || rec == nil || !m.On || m.Message != msg || m.RetryAfter != 600 || m.Operator != "ann@laptop" || m.RunID != rec.RunID() {
		t.Fatalf("maintenance on: %+v %v", m, err)
	}
	run, err := e.svc.Store.Run(ctx, rec.RunID())
	if err != nil || run.Kind != store.KindMaintenance || run.Result != store.RunOK || run.App != "shop" || run.Env != "production" ||
		!strings.Contains(run.Command, msg) {
		t.Fatalf("the run of maintenance on: %+v %v", run, err)
	}
	rows, err := e.svc.Store.RunHosts(ctx, rec.RunID())
	if err != nil || len(rows) != 2 || rows[1].Host != "lb2" || rows[1].Status != store.HostOK {
		t.Fatalf("the run's hosts: %+v %v", rows, err)
	}
	if out := stdoutOf(t, e.svc.Store, rows[1]); !strings.Contains(out, "maintenance on: "+e.file["lb2"]+" written, nginx reloaded") {
		t.Errorf("lb2's recorded output: %q", out)
	}
	on, err := e.svc.MaintenanceStates(ctx, true)
	if err != nil || len(on) != 1 || on[0] != m {
		t.Fatalf("states on: %+v %v", on, err)
	}
	now := m.Since.Time().Add(time.Minute)
	if line := MaintenanceLine(m, now); line != "MAINTENANCE shop/production since "+m.Since.Time().Format("15:04")+" (ann)" {
		t.Errorf("the line: %q", line)
	}
	audit, err := e.svc.Audit(ctx, AuditQuery{})
	if err != nil || len(audit) == 0 || audit[0].Action != store.KindMaintenance || audit[0].Operator != "ann@laptop" || !strings.Contains(audit[0].What, msg) {
		t.Errorf("audit: %+v %v", audit, err)
	}
	read, err := e.svc.BalancerMaintenance(ctx, e.target(t))
	if err != nil || len(read) != 2 || !read[0].On || !read[1].On {
		t.Errorf("the balancers say: %+v %v", read, err)
	}

	// Someone broke lb2's nginx.conf: nginx -t refuses it, so off fails,
	// lb1 is put back (on), and the record still says on.
	os.WriteFile(e.conf["lb2"], []byte(mustRead(t, e.conf["lb2"])+"bogus_directive on;\n"), 0o644)
	_, rec, err = e.svc.Maintenance(ctx, MaintenanceRequest{Target: e.target(t), On: false}, nil)
	if err == nil || !strings.Contains(err.Error(), "balancer lb2: maintenance off failed") {
		t.Fatalf("off with lb2 refusing: %v", err)
	}
	if run, _ := e.svc.Store.Run(ctx, rec.RunID()); run.Result == store.RunOK {
		t.Errorf("the failed off was recorded %s", run.Result)
	}
	if now, _ := e.svc.Store.MaintenanceOf(ctx, "shop", "production"); now != m {
		t.Errorf("after a failed off the record says %+v, want %+v", now, m)
	}
	if read, _ := e.svc.BalancerMaintenance(ctx, e.target(t)); len(read) != 2 || !read[0].On {
		t.Errorf("lb1 was not put back on: %+v", read)
	}

	before, _ := e.svc.Store.ListRuns(ctx, store.RunFilter{})
	if _, _, err := e.svc.Maintenance(ctx, MaintenanceRequest{Target: e.target(t), On: true, Message: "bad\x00byte"}, nil); err == nil ||
		!strings.Contains(err.Error(), "control character") {
		t.Errorf("a NUL in the message: %v", err)
	}
	if after, _ := e.svc.Store.ListRuns(ctx, store.RunFilter{}); len(after) != len(before) {
		t.Errorf("a refused maintenance was recorded: %d runs, then %d", len(before), len(after))
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
