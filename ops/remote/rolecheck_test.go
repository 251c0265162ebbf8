package remote

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/pgtest"
	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/inventory"
)

// TestMain stops the PostgreSQL server the role check tests start.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestRoleDefaultChecks: the db role's check follows its service, and the
// lb role's its preset; sqlite and custom drain commands have none.
func TestRoleDefaultChecks(t *testing.T) {
	tests := []struct {
		name, role string
		set        inventory.RoleSettings
		desc       string
		run        bool // a command runs
	}{
		{"db, no service", "db", inventory.RoleSettings{}, "db: pg_isready -t 3", true},
		{"db postgresql", "db", inventory.RoleSettings{Service: "postgresql", Options: map[string]string{"host": "10.0.0.5", "port": "5433"}}, "db: pg_isready -t 3 -h 10.0.0.5 -p 5433", true},
		{"db mysql", "db", inventory.RoleSettings{Service: "mysql", Options: map[string]string{"port": "3307"}}, "db: mysqladmin ping --connect-timeout=3 -P 3307", true},
		{"db mariadb", "db", inventory.RoleSettings{Service: "mariadb"}, "db: mysqladmin ping --connect-timeout=3", true},
		{"db sqlite", "db", inventory.RoleSettings{Service: "sqlite"}, "db: sqlite has no server to check", false},
		{"db mongodb", "db", inventory.RoleSettings{Service: "mongodb"}, "db: no default check for service mongodb (options.check names one)", false},
		{"lb nginx", "lb", inventory.RoleSettings{Options: map[string]string{"upstream_file": "/etc/nginx/shop.conf"}}, "lb: nginx -t -q", true},
		{"lb nginx through sudo", "lb", inventory.RoleSettings{Sudo: true, Options: map[string]string{"preset": "nginx", "upstream_file": "/etc/nginx/shop.conf"}}, "lb: sudo /usr/sbin/nginx -t -q", true},
		{"lb nginx, own reload", "lb", inventory.RoleSettings{Options: map[string]string{"upstream_file": "/x/up.conf", "reload": "nginx -c /x/nginx.conf -s reload"}}, "lb: no default check with a reload of the role's own (options.check names one)", false},
		{"lb haproxy", "lb", inventory.RoleSettings{Options: map[string]string{"preset": "haproxy", "admin_socket": "/run/haproxy/admin.sock"}}, "lb: haproxy show info on /run/haproxy/admin.sock", true},
		{"lb custom", "lb", inventory.RoleSettings{Options: map[string]string{"drain": "x", "enable": "y"}}, "", false},
		{"lb own check", "lb", inventory.RoleSettings{Options: map[string]string{"upstream_file": "/x", "check": "true"}}, "lb check: true", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &inventory.Fleet{Roles: map[string]inventory.RoleSettings{tc.role: tc.set}}
			got := HealthCheckFor(f, inventory.Host{Name: "h", Roles: []string{tc.role}})
			if got.Desc != tc.desc || (got.Command != "") != tc.run {
				t.Errorf("check %q (command %q), want %q (a command: %v)", got.Desc, got.Command, tc.desc, tc.run)
			}
		})
	}
}

// TestProbeDBCheckByService probes real sshd hosts whose db role names
// its service: a real PostgreSQL answers pg_isready (ok), a port nobody
// listens on fails, and an sqlite db host is "none" with the reason, not
// "failed".
func TestProbeDBCheckByService(t *testing.T) {
	testenv.RequireFile(t, "/usr/bin/pg_isready", "postgresql-client")
	pg := pgtest.Shared(t)
	e := newExecEnv(t, 3)
	sets := []inventory.RoleSettings{
		{Service: "postgresql", Options: map[string]string{"host": "127.0.0.1", "port": strconv.Itoa(pg.Port)}},
		{Service: "postgresql", Options: map[string]string{"host": "127.0.0.1", "port": "1"}},
		{Service: "sqlite"},
	}
	var reqs []ProbeRequest
	for i, s := range sets {
		h := inventory.Host{Name: e.targets[i].Name, Roles: []string{"db"}, Settings: map[string]inventory.RoleSettings{"db": s}}
		reqs = append(reqs, ProbeRequest{Target: e.targets[i], DeployTo: t.TempDir(), Check: HealthCheckFor(&inventory.Fleet{Hosts: []inventory.Host{h}}, h)})
	}
	got := NewProber(e.pool, ProbeOptions{Timeout: 10 * time.Second}).ProbeAll(t.Context(), reqs)
	if p := got[0]; p.Health != HealthOK || !strings.Contains(p.HealthDetail, "accepting connections") {
		t.Errorf("PostgreSQL up: %s %q (%s)", p.Health, p.HealthDetail, p.Check)
	}
	if p := got[1]; p.Health != HealthFailed || !strings.Contains(p.HealthDetail, "no response") {
		t.Errorf("PostgreSQL on a port nobody listens on: %s %q (%s)", p.Health, p.HealthDetail, p.Check)
	}
	if p := got[2]; !p.Reachable || p.Health != HealthNone || p.Check != "db: sqlite has no server to check" {
		t.Errorf("sqlite: %s %q (%s)", p.Health, p.HealthDetail, p.Check)
	}
}
