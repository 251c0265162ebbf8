package demofleet

import (
	"fmt"
	"net"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
)

// App is the demo app's name in the inventory.
const App = "shop"

// Where things are in a demo directory.
const (
	KeyFile      = "keys/id_ed25519"               // the client key opsui uses
	KnownHosts   = "data/opsui/known_hosts"        // opsui's known_hosts with XDG_DATA_HOME=<dir>/data
	DataHome     = "data"                          // XDG_DATA_HOME of opsui run on the demo
	HomeDir      = "home"                          // HOME of opsui run on the demo: no ~/.ssh of the user's
	DBFile       = "opsui.db"                      // the demo's opsui database
	FleetFile    = "fleet.yaml"                    // the demo's fleet, as imported
	RepoDir      = "shop"                          // the demo app's git repository
	HostsDir     = "hosts"                         // one directory per host
	PidFile      = "fleet.pid"                     // the process serving the fleet
	LogFile      = "fleet.log"                     // its log
	deployToPath = "srv/shop"                      // deploy_to, under a host's directory
	nginxDir     = "nginx"                         // an lb host's nginx prefix, under its directory
	sshPort      = 2222                            // every host's SSH port, each on its own address
	webPort      = 8000                            // gunicorn on a web host
	cachePort    = 11211                           // memcached on a cache host
	lbPort       = 8080                            // nginx on an lb host
	subnetFirst  = 200                             // addresses are 127.0.<subnetFirst+k>.<i>
	subnetCount  = 50                              // k < subnetCount
	pidFileGlob  = "hosts/*/srv/shop/shared/*.pid" // gunicorn masters
)

// Host is one demo host.
type Host struct {
	Name    string
	Env     string
	Roles   []string
	IP      string
	SSHPort int
	Port    int    // its service's port: gunicorn, memcached or nginx
	Dir     string // its home and working directory
}

// SSHAddr is where the host's SSH server listens.
func (h Host) SSHAddr() string { return net.JoinHostPort(h.IP, strconv.Itoa(h.SSHPort)) }

// ServiceAddr is where the host's service listens.
func (h Host) ServiceAddr() string { return net.JoinHostPort(h.IP, strconv.Itoa(h.Port)) }

// DeployTo is the app's deploy_to on the host.
func (h Host) DeployTo() string { return filepath.Join(h.Dir, deployToPath) }

func (h Host) has(role string) bool {
	for _, r := range h.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// hostSpec is a host before it has an address.
type hostSpec struct {
	name, env string
	roles     []string
}

// specs are the demo hosts: two web, a db, a cache and an lb per
// environment. The first web host of each runs the migrations.
var specs = []hostSpec{
	{"stg-web1", "staging", []string{"web", "db-migrate"}},
	{"stg-web2", "staging", []string{"web"}},
	{"stg-db1", "staging", []string{"db"}},
	{"stg-cache1", "staging", []string{"cache"}},
	{"stg-lb1", "staging", []string{"lb"}},
	{"web1", "production", []string{"web", "db-migrate"}},
	{"web2", "production", []string{"web"}},
	{"db1", "production", []string{"db"}},
	{"cache1", "production", []string{"cache"}},
	{"lb1", "production", []string{"lb"}},
}

// Layout places the demo hosts of dir in the subnet 127.0.<200+k>.0/24;
// when shared is set (no loopback address but 127.0.0.1 works, as on
// macOS) every host is on 127.0.0.1 with ports of its own from base.
func Layout(dir string, k int, shared bool, base int) []Host {
	hosts := make([]Host, len(specs))
	for i, s := range specs {
		h := Host{Name: s.name, Env: s.env, Roles: s.roles, Dir: filepath.Join(dir, HostsDir, s.name),
			IP: fmt.Sprintf("127.0.%d.%d", subnetFirst+k, i+1), SSHPort: sshPort}
		switch s.roles[0] {
		case "web":
			h.Port = webPort
		case "cache":
			h.Port = cachePort
		case "lb":
			h.Port = lbPort
		}
		if shared {
			h.IP, h.SSHPort = "127.0.0.1", base+10*i
			if h.Port != 0 {
				h.Port = base + 10*i + 1
			}
		}
		hosts[i] = h
	}
	return hosts
}

// Inventory returns the demo fleet: the environments (production
// protected), the app with the Django preset, and every host with the
// settings that make its service bind its own address.
func Inventory(dir string, hosts []Host) *inventory.Fleet {
	f := &inventory.Fleet{
		Environments: []inventory.Environment{
			{Name: "staging", Strategy: "all"},
			{Name: "production", Protected: true, Strategy: "rolling", BatchSize: 1},
		},
		Apps: []inventory.App{{
			Name: App, Repo: filepath.Join(dir, RepoDir), DeployTo: "/srv/shop", KeepReleases: 5,
			Preset: "django", Shared: []string{"logs/"},
			Migrate:     "./venv/bin/python manage.py migrate --noinput",
			MigratePlan: "./venv/bin/python manage.py showmigrations --plan",
			Health: &inventory.HealthCheck{URL: "http://127.0.0.1:8000/health/", Expect: "release=$RELEASE_ID",
				Retries: 30, Deadline: inventory.Duration(40 * time.Second)},
		}},
		// A team's wiki page of commands, one keypress away (README:
		// Runbooks): read-only looks an on-call engineer takes first.
		Runbooks: []inventory.Runbook{
			{Name: "gunicorn", Description: "the app server's processes on each web host", Roles: []string{"web"},
				Run: "pgrep -af gunicorn || echo 'no gunicorn running'"},
			{Name: "disk", Description: "free space and inodes where the releases are", Run: "df -h . && df -hi . | tail -n 1",
				Timeout: inventory.Duration(20 * time.Second)},
			{Name: "errors", Description: "the last lines of the app's log on each web host", Roles: []string{"web"}, Confirm: true,
				Run: "tail -n 5 " + filepath.Join(deployToPath, "shared", "logs", "shop.log") + " 2>&1"},
		},
	}
	username := "demo"
	if u, err := user.Current(); err == nil {
		username = u.Username
	}
	for _, h := range hosts {
		ih := inventory.Host{Name: h.Name, Address: h.IP, Port: h.SSHPort, User: username, Env: h.Env,
			Roles: h.Roles, DeployTo: h.DeployTo(), IdentityFile: filepath.Join(dir, KeyFile),
			Settings: map[string]inventory.RoleSettings{}}
		shared := filepath.Join(h.DeployTo(), "shared")
		switch {
		case h.has("web"):
			workers := "1"
			if h.Env == "production" {
				workers = "2"
			}
			ih.Tags = []string{"demo"}
			ih.Settings["web"] = inventory.RoleSettings{Service: "gunicorn",
				HealthURL: "http://" + h.ServiceAddr() + "/health/",
				Logs: []string{filepath.Join(shared, "logs", "access.log"), filepath.Join(shared, "logs", "gunicorn.log"),
					filepath.Join(shared, "logs", "shop.log")},
				Options: map[string]string{"bind": h.ServiceAddr(), "workers": workers}}
		case h.has("db"):
			db := dbPath(h)
			ih.Settings["db"] = inventory.RoleSettings{Service: "sqlite",
				Options: map[string]string{"check": dbCheck(db)}}
		case h.has("cache"):
			ih.Settings["cache"] = inventory.RoleSettings{Service: "memcached",
				Logs: []string{filepath.Join(h.Dir, "memcached.log")},
				Options: map[string]string{"address": h.IP, "port": strconv.Itoa(h.Port),
					"check": "printf 'stats\\r\\nquit\\r\\n' | nc -q1 " + h.IP + " " + strconv.Itoa(h.Port) +
						" | grep -E 'STAT (uptime|curr_items|get_hits) '"}}
		case h.has("lb"):
			prefix := filepath.Join(h.Dir, nginxDir)
			conf := filepath.Join(prefix, "nginx.conf")
			nginx := "nginx -p " + prefix + "/ -c " + conf + " -e " + filepath.Join(prefix, "logs", "error.log")
			ih.Settings["lb"] = inventory.RoleSettings{Service: "nginx",
				Logs:   []string{filepath.Join(prefix, "logs", "access.log"), filepath.Join(prefix, "logs", "error.log")},
				Reload: nginx + " -t -q && " + nginx + " -s reload",
				Options: map[string]string{"preset": "nginx", "upstream": App,
					"upstream_file":    filepath.Join(prefix, "upstream.conf"),
					"maintenance_file": filepath.Join(prefix, maintenanceFile),
					"reload":           nginx + " -t -q && " + nginx + " -s reload",
					"check":            lbCheck(h.ServiceAddr(), filepath.Join(prefix, maintenanceFile))}}
		}
		f.Hosts = append(f.Hosts, ih)
	}
	return f
}

// lbCheck asks the app's health through the balancer at addr: a 200 is
// healthy, and so is the 503 of maintenance mode while opsui maintenance
// holds the balancer's maintenance file (it is empty otherwise), said as
// such; anything else fails.
func lbCheck(addr, maintenance string) string {
	return `code=$(curl -sS -m 3 -o /dev/null -w '%{http_code} in %{time_total}s' http://` + addr + `/health/) || { echo "nginx: $code"; exit 1; }
case $code in
200*) echo "nginx: HTTP $code" ;;
503*) if [ -s ` + remote.Quote(maintenance) + ` ]; then echo "nginx: HTTP $code: maintenance mode"; else echo "nginx: HTTP $code" >&2; exit 1; fi ;;
*) echo "nginx: HTTP $code" >&2; exit 1 ;;
esac`
}

// dbPath is the sqlite database a db host holds; the web hosts of its
// environment use it (SHOP_DB_PATH).
func dbPath(h Host) string { return filepath.Join(h.Dir, "shop.sqlite3") }

func dbCheck(db string) string {
	return `/usr/bin/python3 -c 'import sqlite3, sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
n = c.execute("select count(*) from django_migrations").fetchone()[0]
print("sqlite %s: %d migrations applied" % (sys.argv[1].rsplit("/", 1)[-1], n))' ` + db
}
