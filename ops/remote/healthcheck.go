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
// from the host; db by its service (dbCheck: pg_isready, mysqladmin ping,
// none for sqlite); cache a stats request to memcached (Options port,
// default 11211) or a redis PING (Options kind: redis); lb by its preset
// (lbCheck: HAProxy's "show info", nginx -t). A host with none gets a
// HealthCheck without a command, whose Desc says why when a role does.
func HealthCheckFor(f *inventory.Fleet, h inventory.Host) HealthCheck {
	var none HealthCheck // a role that says why it has no check (sqlite)
	for _, role := range h.Roles {
		s := f.SettingsFor(h, role)
		if c := s.Options["check"]; c != "" {
			return HealthCheck{Command: c, Desc: role + " check: " + c}
		}
		hc := roleCheck(role, s, soleAppHealth(f))
		if hc.Command != "" {
			return hc
		}
		if none.Desc == "" {
			none = hc
		}
	}
	return none
}

// soleAppHealth is the health request of the fleet's only app, which the
// status panel makes the way the deploy does (its URL for web hosts that
// name none, its Host and headers always): with several apps, a host's app
// is not known, and the role's own URL is asked bare.
func soleAppHealth(f *inventory.Fleet) inventory.HealthCheck {
	if len(f.Apps) == 1 && f.Apps[0].Health != nil {
		return *f.Apps[0].Health
	}
	return inventory.HealthCheck{}
}

func roleCheck(role string, s inventory.RoleSettings, appHealth inventory.HealthCheck) HealthCheck {
	opt := func(k, def string) string {
		if v := s.Options[k]; v != "" {
			return v
		}
		return def
	}
	switch {
	case s.HealthURL != "":
		return HTTPCheck(s.HealthURL, appHealth.RequestHeaders()...)
	case role == "web" && appHealth.URL != "":
		return HTTPCheck(appHealth.URL, appHealth.RequestHeaders()...)
	case role == "db":
		return dbCheck(s) // rolecheck.go
	case role == "cache" && (opt("kind", "") == "redis" || strings.Contains(s.Service, "redis")):
		port := opt("port", "6379")
		return HealthCheck{Command: "command -v redis-cli >/dev/null 2>&1 || { echo 'redis-cli is not installed'; exit 127; }; redis-cli -p " + Quote(port) + " ping",
			Desc: "cache: redis PING on port " + port}
	case role == "cache":
		return memcachedCheck(opt("port", "11211"))
	case role == "lb":
		return lbCheck(s)
	}
	return HealthCheck{}
}

// HTTPCheck GETs url from the host itself with curl, else python3, else
// wget, sending headers ("Name: value" lines, a Host among them to name
// the site as the app's ALLOWED_HOSTS expect); the output names the client
// used, and exit status 127 says the host has none.
func HTTPCheck(url string, headers ...string) HealthCheck {
	// python3 says why in one line and exits non-zero on an HTTP error, as
	// curl -f does: a traceback piped through tail would exit 0.
	py := `import sys, urllib.error, urllib.request
h = dict(l.split(": ", 1) for l in sys.argv[2:])
try:
    r = urllib.request.urlopen(urllib.request.Request(sys.argv[1], headers=h), timeout=3)
    print("python3: HTTP", r.status)
except urllib.error.HTTPError as e:
    print("python3: HTTP", e.code, e.reason)
    sys.exit(22)
except Exception as e:
    print("python3:", e)
    sys.exit(7)`
	var curlH, pyH, wgetH string
	for _, h := range headers {
		curlH += " -H " + Quote(h)
		pyH += " " + Quote(h)
		wgetH += " --header=" + Quote(h)
	}
	cmd := fmt.Sprintf(`u=%s; if command -v curl >/dev/null 2>&1; then curl -fsS -o /dev/null -m 3 -w 'curl: HTTP %%{http_code}\n'%s "$u"; `+
		`elif command -v python3 >/dev/null 2>&1; then python3 -c %s "$u"%s 2>&1; `+
		`elif command -v wget >/dev/null 2>&1; then wget -q -O /dev/null -T 3%s "$u" && echo 'wget: ok'; `+
		`else echo 'no HTTP client on the host (curl, python3, wget)'; exit 127; fi`, Quote(url), curlH, Quote(py), pyH, wgetH)
	desc := "http " + url
	if len(headers) > 0 && strings.HasPrefix(headers[0], "Host: ") {
		desc += " (" + headers[0] + ")"
	}
	return HealthCheck{Command: cmd, Desc: desc}
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
