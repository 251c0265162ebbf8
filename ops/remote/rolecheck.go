package remote

import (
	"strings"

	"github.com/opsui/opsui/inventory"
)

// dbCheck is the db role's default check, by its service: pg_isready for
// PostgreSQL (and a service left unnamed, as before services were read),
// mysqladmin ping for MySQL and MariaDB (it exits 0 while the server
// runs, even when it refuses the login), and none for SQLite, which has no
// server: "no check", never "failed". Any other service has no default
// check: options.check names one.
func dbCheck(s inventory.RoleSettings) HealthCheck {
	o := s.Options
	svc := strings.ToLower(s.Service)
	switch {
	case strings.Contains(svc, "sqlite"):
		return HealthCheck{Desc: "db: sqlite has no server to check"}
	case strings.Contains(svc, "mysql") || strings.Contains(svc, "mariadb"):
		args := "mysqladmin ping --connect-timeout=3"
		if v := o["host"]; v != "" {
			args += " -h " + Quote(v)
		}
		if v := o["port"]; v != "" {
			args += " -P " + Quote(v)
		}
		return HealthCheck{Command: "command -v mysqladmin >/dev/null 2>&1 || { echo 'mysqladmin is not installed'; exit 127; }; " + args,
			Desc: "db: " + args}
	case svc == "" || strings.Contains(svc, "postgres") || svc == "pg":
		args := "pg_isready -t 3"
		if v := o["host"]; v != "" {
			args += " -h " + Quote(v)
		}
		if v := o["port"]; v != "" {
			args += " -p " + Quote(v)
		}
		return HealthCheck{Command: "command -v pg_isready >/dev/null 2>&1 || { echo 'pg_isready is not installed'; exit 127; }; " + args,
			Desc: "db: " + args}
	}
	return HealthCheck{Desc: "db: no default check for service " + s.Service + " (options.check names one)"}
}

// lbCheck is the lb role's default check, by its preset: HAProxy's
// runtime API "show info" on its admin socket; for nginx, the test its
// default reload runs first (nginx -t -q: the configuration the next
// reload reads, the upstream file opsui writes included, parses), through
// sudo -n with Debian's path when the role says sudo: true, as the reload
// runs it. An nginx reloaded by a command of the role's own (another
// configuration) and custom drain commands have no default check.
func lbCheck(s inventory.RoleSettings) HealthCheck {
	preset, _ := inventory.RolePreset("lb", s)
	if sock := s.Options["admin_socket"]; sock != "" && (preset == inventory.BalancerHAProxy || preset == "") {
		return HealthCheck{Command: "command -v socat >/dev/null 2>&1 || { echo 'socat is not installed'; exit 127; }; " +
			"echo 'show info' | socat stdio " + Quote("UNIX-CONNECT:"+sock) + " | grep -E '^(Uptime|CurrConns|Idle_pct):'",
			Desc: "lb: haproxy show info on " + sock}
	}
	switch {
	case preset != inventory.BalancerNginx:
		return HealthCheck{}
	case s.Options["reload"] != "":
		return HealthCheck{Desc: "lb: no default check with a reload of the role's own (options.check names one)"}
	case s.Sudo:
		return HealthCheck{Command: "sudo -n " + inventory.Nginx + " -t -q 2>&1", Desc: "lb: sudo " + inventory.Nginx + " -t -q"}
	}
	return HealthCheck{Command: "n=$(command -v nginx || echo " + inventory.Nginx + "); [ -x \"$n\" ] || { echo 'nginx is not installed'; exit 127; }; \"$n\" -t -q 2>&1",
		Desc: "lb: nginx -t -q"}
}
