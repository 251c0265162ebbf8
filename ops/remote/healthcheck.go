package remote

import (
	"fmt"
	"strings"

	"github.com/opsui/opsui/inventory"
)

// HealthCheck is a shell command run on a host to tell whether its service
// is healthy, with a description for people.
type HealthCheck struct {
	Command string // run by sh -c on the host; "" means no check
	Desc    string // e.g. "http http://127.0.0.1:8000/health/"
}

// HealthCheckFor returns the service check of host h: for the first of its
// roles that has one, the role's Options["check"] when set (any role), else
// by role: web (or any role with a health_url) an HTTP GET of health_url
// from the host; db pg_isready (Options host, port); cache a stats request
// to memcached (Options port, default 11211) or a redis PING (Options
// kind: redis); lb the haproxy runtime API's "show info" when Options
// admin_socket is set. A host with none gets the zero HealthCheck.
func HealthCheckFor(f *inventory.Fleet, h inventory.Host) HealthCheck {
	for _, role := range h.Roles {
		s := f.SettingsFor(h, role)
		if c := s.Options["check"]; c != "" {
			return HealthCheck{Command: c, Desc: role + " check: " + c}
		}
		if hc := roleCheck(role, s); hc.Command != "" {
			return hc
		}
	}
	return HealthCheck{}
}

func roleCheck(role string, s inventory.RoleSettings) HealthCheck {
	opt := func(k, def string) string {
		if v := s.Options[k]; v != "" {
			return v
		}
		return def
	}
	switch {
	case s.HealthURL != "":
		return HTTPCheck(s.HealthURL)
	case role == "db":
		args := "pg_isready -t 3"
		if v := opt("host", ""); v != "" {
			args += " -h " + Quote(v)
		}
		if v := opt("port", ""); v != "" {
			args += " -p " + Quote(v)
		}
		return HealthCheck{Command: "command -v pg_isready >/dev/null 2>&1 || { echo 'pg_isready is not installed'; exit 127; }; " + args,
			Desc: "db: " + args}
	case role == "cache" && (opt("kind", "") == "redis" || strings.Contains(s.Service, "redis")):
		port := opt("port", "6379")
		return HealthCheck{Command: "command -v redis-cli >/dev/null 2>&1 || { echo 'redis-cli is not installed'; exit 127; }; redis-cli -p " + Quote(port) + " ping",
			Desc: "cache: redis PING on port " + port}
	case role == "cache":
		return memcachedCheck(opt("port", "11211"))
	case role == "lb" && opt("admin_socket", "") != "":
		sock := opt("admin_socket", "")
		return HealthCheck{Command: "command -v socat >/dev/null 2>&1 || { echo 'socat is not installed'; exit 127; }; " +
			"echo 'show info' | socat stdio " + Quote("UNIX-CONNECT:"+sock) + " | grep -E '^(Uptime|CurrConns|Idle_pct):'",
			Desc: "lb: haproxy show info on " + sock}
	}
	return HealthCheck{}
}

// HTTPCheck GETs url from the host itself with curl, else python3, else
// wget; the output names the client used, and exit status 127 says the host
// has none.
func HTTPCheck(url string) HealthCheck {
	py := `import sys, urllib.request
r = urllib.request.urlopen(sys.argv[1], timeout=3)
print("python3: HTTP", r.status)`
	cmd := fmt.Sprintf(`u=%s; if command -v curl >/dev/null 2>&1; then curl -fsS -o /dev/null -m 3 -w 'curl: HTTP %%{http_code}\n' "$u"; `+
		`elif command -v python3 >/dev/null 2>&1; then python3 -c %s "$u" 2>&1 | tail -n 1; `+
		`elif command -v wget >/dev/null 2>&1; then wget -q -O /dev/null -T 3 "$u" && echo 'wget: ok'; `+
		`else echo 'no HTTP client on the host (curl, python3, wget)'; exit 127; fi`, Quote(url), Quote(py))
	return HealthCheck{Command: cmd, Desc: "http " + url}
}

// memcachedCheck asks memcached on port for its stats, with nc or python3.
func memcachedCheck(port string) HealthCheck {
	py := `import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)
s.sendall(b"stats\r\nquit\r\n")
d = b""
while True:
    c = s.recv(4096)
    if not c:
        break
    d += c
sys.stdout.write(d.decode())`
	cmd := fmt.Sprintf(`command -v nc >/dev/null 2>&1 || command -v python3 >/dev/null 2>&1 || { echo 'neither nc nor python3 on the host'; exit 127; }; `+
		`if command -v nc >/dev/null 2>&1; then printf 'stats\r\nquit\r\n' | nc -w 2 127.0.0.1 %s; `+
		`else python3 -c %s %s; fi | tr -d '\r' | grep -E '^STAT (uptime|curr_connections) '`,
		Quote(port), Quote(py), Quote(port))
	return HealthCheck{Command: cmd, Desc: "cache: memcached stats on port " + port}
}
