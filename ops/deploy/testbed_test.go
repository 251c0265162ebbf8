package deploy

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/demoapp"
	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// testbed is a fleet of real sshd hosts, an app repository, a store and a
// deployer wired to them.
type testbed struct {
	t        testing.TB
	fleet    *sshtest.Fleet
	inv      *inventory.Fleet
	app      inventory.App
	env      inventory.Environment
	repo     string
	st       *store.Store
	pool     *remote.Pool
	targets  map[string]remote.Target
	deployTo string

	// settings gives each host's role settings (default: the test app's
	// server on the host's own address).
	settings func(h inventory.Host) map[string]inventory.RoleSettings

	mu     sync.Mutex
	events []remote.Event
	said   []string
}

// appServer is the reload command of the test app: a static HTTP server of
// the current release on the host's own address, restarted (a new process
// whose working directory is the new release) by every reload.
const appServer = `pid=$SHARED_DIR/http.pid
[ -s "$pid" ] && kill "$(cat "$pid")" 2>/dev/null; sleep 0.1
cd "$DEPLOY_TO/current" || exit 1
setsid python3 -m http.server --bind "$OPSUI_BIND_ADDR" 8080 >"$SHARED_DIR/http.log" 2>&1 </dev/null &
echo $! > "$pid"; echo "serving $(cat REVISION)"`

func newTestbed(t *testing.T, n int) *testbed {
	t.Helper()
	return newTestbedWith(t, n)
}

// newTestbedWith is newTestbed for a test or benchmark, on a fleet started
// with opts (sshtest.WithMaxSessions, ...).
func newTestbedWith(t testing.TB, n int, opts ...sshtest.Option) *testbed {
	t.Helper()
	f := sshtest.Start(t, n, opts...)
	if !f.Isolated {
		t.Skip("deploy tests need isolated hosts (each its own home): run as root")
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	tb := &testbed{t: t, fleet: f, deployTo: filepath.Join(u.HomeDir, "srv", "app"), targets: map[string]remote.Target{}}
	tb.repo = t.TempDir()
	tb.git("init", "-q", "-b", "main")
	tb.git("config", "user.email", "dev@example.com")
	tb.git("config", "user.name", "Dev")
	tb.commit("initial", map[string]string{"index.html": "v1\n", "config/settings.txt": "a=1\n"})

	tb.env = inventory.Environment{Name: "test"}
	tb.app = inventory.App{Name: "app", Repo: tb.repo, DeployTo: tb.deployTo, KeepReleases: 3,
		Shared: []string{"logs/"},
		Health: &inventory.HealthCheck{URL: "http://127.0.0.1:8080/REVISION", Expect: "$COMMIT", Retries: 20, Deadline: inventory.Duration(10 * time.Second)}}
	tb.inv = &inventory.Fleet{Environments: []inventory.Environment{tb.env}, Apps: []inventory.App{tb.app},
		Roles: map[string]inventory.RoleSettings{"web": {Reload: appServer}}}
	for _, h := range f.Hosts {
		tb.inv.Hosts = append(tb.inv.Hosts, inventory.Host{Name: h.Name, Address: h.Addr, Port: h.Port, Env: "test", Roles: []string{"web"}})
		tb.targets[h.Name] = remote.Target{Name: h.Name, Addr: h.Address(), User: f.User, IdentityFiles: []string{f.ClientKeyPath}}
	}
	tb.st, err = store.Open(context.Background(), filepath.Join(t.TempDir(), "opsui.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tb.st.Close() })
	tb.pool = remote.NewPool(remote.Options{KnownHostsFiles: []string{f.KnownHostsPath}, DialTimeout: 5 * time.Second, KeepAlive: -1})
	t.Cleanup(func() { tb.pool.Close() })
	return tb
}

func (tb *testbed) git(args ...string) string {
	tb.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", tb.repo}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes files and commits them, returning the commit hash.
func (tb *testbed) commit(msg string, files map[string]string) string {
	tb.t.Helper()
	for name, body := range files {
		p := filepath.Join(tb.repo, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			tb.t.Fatal(err)
		}
	}
	tb.git("add", "-A")
	tb.git("commit", "-q", "-m", msg)
	return tb.git("rev-parse", "HEAD")
}

func (tb *testbed) deployer() *Deployer {
	return &Deployer{Conn: tb.pool, Store: tb.st, Targets: tb.targets, Operator: "tester", Machine: "testbox",
		Emit: func(ev remote.Event) {
			tb.mu.Lock()
			tb.events = append(tb.events, ev)
			tb.mu.Unlock()
		},
		Say: func(s string) {
			tb.mu.Lock()
			tb.said = append(tb.said, s)
			tb.mu.Unlock()
		}}
}

// hosts returns the inventory hosts, with the web role's bind address set
// to each host's own (the app server's reload reads it).
func (tb *testbed) hosts() []inventory.Host {
	var hs []inventory.Host
	for _, h := range tb.inv.Hosts {
		if tb.settings != nil {
			h.Settings = tb.settings(h)
		} else {
			h.Settings = map[string]inventory.RoleSettings{"web": {Reload: "OPSUI_BIND_ADDR=" + h.Address + "; " + appServer,
				HealthURL: "http://" + h.Address + ":8080/REVISION"}}
		}
		hs = append(hs, h)
	}
	return hs
}

// plan plans a deploy of ref with strategy.
func (tb *testbed) plan(ref string, s Strategy) *Plan {
	tb.t.Helper()
	ctx := context.Background()
	src, err := Resolve(ctx, tb.repo, ref)
	if err != nil {
		tb.t.Fatal(err)
	}
	last := ""
	if r, err := tb.st.ListReleases(ctx, tb.app.Name, tb.env.Name, 1); err == nil && len(r) > 0 {
		last = r[0].ReleaseID
	}
	hs := tb.hosts()
	f := *tb.inv
	f.Hosts = hs
	p, err := NewPlan(&f, tb.app, tb.env, hs, src, NewReleaseID(time.Now(), last), s)
	if err != nil {
		tb.t.Fatal(err)
	}
	if kg, err := tb.st.LatestRelease(ctx, tb.app.Name, tb.env.Name, true); err == nil {
		p.KnownGood = kg.ReleaseID
	}
	return p
}

func (tb *testbed) deploy(ref string, s Strategy) *Outcome {
	tb.t.Helper()
	out, err := tb.deployer().Deploy(context.Background(), tb.plan(ref, s))
	if err != nil {
		tb.t.Fatalf("deploy %s: %v", ref, err)
	}
	return out
}

// useDemoShop points tb at a new demo shop repository (internal/demoapp)
// deployed as app "app" with the Django preset: shared logs/, Django's
// migrate, a health check naming the release; no role defaults.
func (tb *testbed) useDemoShop() *demoapp.Repo {
	tb.t.Helper()
	repo, err := demoapp.Create(context.Background(), filepath.Join(tb.t.TempDir(), "shop"))
	if err != nil {
		tb.t.Fatal(err)
	}
	tb.repo = repo.Dir
	tb.app = inventory.App{Name: "app", Repo: repo.Dir, DeployTo: tb.deployTo, KeepReleases: 3, Preset: PresetDjango,
		Shared:  []string{"logs/"},
		Migrate: "./venv/bin/python manage.py migrate --noinput",
		Health:  &inventory.HealthCheck{URL: "http://127.0.0.1:8000/health/", Expect: "release=$RELEASE_ID", Retries: 30, Deadline: inventory.Duration(20 * time.Second)}}
	tb.inv.Apps = []inventory.App{tb.app}
	tb.inv.Roles = nil
	return repo
}

// deployTolerated deploys ref as deploy does, with
// --allow-breaking-migrations: the notes project's 0002 adds a NOT NULL
// column, which the check calls breaking for a rolling deploy, and the old
// code of these tests only serves /health/, which tolerates it.
func (tb *testbed) deployTolerated(ref string, s Strategy) *Outcome {
	tb.t.Helper()
	p := tb.plan(ref, s)
	p.AllowBreakingMigrations = true
	out, err := tb.deployer().Deploy(context.Background(), p)
	if err != nil {
		tb.t.Fatalf("deploy %s: %v", ref, err)
	}
	return out
}

// sh runs cmd on host i and returns its standard output.
func (tb *testbed) sh(i int, cmd string) string {
	tb.t.Helper()
	t := tb.targets[tb.fleet.Hosts[i].Name]
	out, res := runCapture(context.Background(), tb.pool, t, cmd, nil, 30*time.Second)
	if res.Status != remote.StatusOK {
		tb.t.Fatalf("%s: %s: %v", t.Name, cmd, res.Err)
	}
	return strings.TrimSpace(out)
}

// current returns the release id host i's current points at and its REVISION.
func (tb *testbed) current(i int) (release, revision string) {
	tb.t.Helper()
	out := tb.sh(i, fmt.Sprintf("readlink %s/current; cat %s/current/REVISION", tb.deployTo, tb.deployTo))
	release, revision, _ = strings.Cut(out, "\n")
	return filepath.Base(release), revision
}

func (tb *testbed) statuses(out *Outcome) map[string]store.HostStatus {
	m := map[string]store.HostStatus{}
	for _, h := range out.Hosts {
		m[h.Host] = h.Status
	}
	return m
}

func (tb *testbed) logf(out *Outcome) {
	tb.t.Helper()
	for _, h := range out.Hosts {
		if h.Status != HostOK {
			tb.t.Logf("%s: %s at %s: %v\n  %s", h.Host, h.Status, h.Step, h.Err, strings.Join(h.Tail, "\n  "))
		}
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, s := range tb.said {
		tb.t.Logf("said: %s", s)
	}
}
