package remote

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/opsui/opsui/inventory"
)

func TestParseProbeOutput(t *testing.T) {
	m := func(name string) string { return probeMark + name + "\n" }
	full := m("load") + "0.52 0.40 0.31 1/234 5678\n" +
		m("mem") + "MemTotal:        8000000 kB\nMemAvailable:    6000000 kB\n" +
		m("disk") + "/dev/sda1 100 61 39 61% /\n" +
		m("now") + "1735732800\n" + // 2025-01-01 12:00:00 UTC
		m("release") + "/srv/shop/releases/20250101110000\n" +
		m("revision") + "0123456789abcdef0123456789abcdef01234567\n" +
		m("mtime") + "1735700000\n" +
		m("health") + "curl: HTTP 200\n" + probeMark + "health-rc 0\n"
	tests := []struct {
		name string
		out  string
		want Probe
	}{
		{"everything", full, Probe{Load1: 0.52, Load5: 0.40, Load15: 0.31, MemUsedPct: 25, DiskUsedPct: 61,
			Release: "20250101110000", Commit: "0123456789abcdef0123456789abcdef01234567", ReleaseAge: time.Hour,
			Health: HealthOK, HealthDetail: "curl: HTTP 200"}},
		{"empty output", "", Probe{Load1: Unknown, Load5: Unknown, Load15: Unknown, MemUsedPct: Unknown, DiskUsedPct: Unknown, Health: HealthNone}},
		{"no current symlink", m("load") + "1 2 3 1/1 1\n" + m("now") + "100\n" + m("release") + m("revision") + "\n" + m("mtime"),
			Probe{Load1: 1, Load5: 2, Load15: 3, MemUsedPct: Unknown, DiskUsedPct: Unknown, Health: HealthNone}},
		{"release not a timestamp: age from mtime", m("now") + "1000\n" + m("release") + "releases/v1.2/\n" + m("mtime") + "400\n",
			Probe{Load1: Unknown, Load5: Unknown, Load15: Unknown, MemUsedPct: Unknown, DiskUsedPct: Unknown,
				Release: "v1.2", ReleaseAge: 600 * time.Second, Health: HealthNone}},
		{"garbled figures", m("load") + "x y z\n" + m("mem") + "MemTotal: 0 kB\n" + m("disk") + "Filesystem\n",
			Probe{Load1: Unknown, Load5: Unknown, Load15: Unknown, MemUsedPct: Unknown, DiskUsedPct: Unknown, Health: HealthNone}},
		{"failed check keeps its last lines", m("health") + "a\nb\n" + probeMark + "health-rc 2\n",
			Probe{Load1: Unknown, Load5: Unknown, Load15: Unknown, MemUsedPct: Unknown, DiskUsedPct: Unknown, Health: HealthFailed, HealthDetail: "a | b"}},
		{"check tool missing", m("health") + "pg_isready is not installed\n" + probeMark + "health-rc 127\n",
			Probe{Load1: Unknown, Load5: Unknown, Load15: Unknown, MemUsedPct: Unknown, DiskUsedPct: Unknown, Health: HealthUnknown, HealthDetail: "pg_isready is not installed"}},
		{"check timed out", m("health") + probeMark + "health-rc 124\n",
			Probe{Load1: Unknown, Load5: Unknown, Load15: Unknown, MemUsedPct: Unknown, DiskUsedPct: Unknown, Health: HealthFailed, HealthDetail: "timed out"}},
		{"check cut short", m("health") + "partial\n",
			Probe{Load1: Unknown, Load5: Unknown, Load15: Unknown, MemUsedPct: Unknown, DiskUsedPct: Unknown, Health: HealthFailed, HealthDetail: "the check did not finish"}},
		{"crlf", strings.ReplaceAll(m("load")+"0.5 0.5 0.5 1/1 1\n", "\n", "\r\n"),
			Probe{Load1: 0.5, Load5: 0.5, Load15: 0.5, MemUsedPct: Unknown, DiskUsedPct: Unknown, Health: HealthNone}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Probe{Health: HealthNone}
			parseProbeOutput([]byte(tc.out), &got)
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestProbeScriptQuotesEveryValue(t *testing.T) {
	s := probeScript(ProbeRequest{DeployTo: "/srv/it's here", Check: HTTPCheck("http://x/?a=1&b=2")})
	for _, want := range []string{`'/srv/it'\''s here/current'`, `'/srv/it'\''s here/current/REVISION'`, `u='\''http://x/?a=1&b=2'\''`} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %s:\n%s", want, s)
		}
	}
}

func TestHealthCheckFor(t *testing.T) {
	f := &inventory.Fleet{Roles: map[string]inventory.RoleSettings{
		"web":   {HealthURL: "http://127.0.0.1:8000/health/"},
		"cache": {Options: map[string]string{"port": "11212"}},
		"lb":    {Options: map[string]string{"check": "nginx -t"}},
	}}
	tests := []struct {
		roles []string
		desc  string
	}{
		{[]string{"web"}, "http http://127.0.0.1:8000/health/"},
		{[]string{"db"}, "db: pg_isready -t 3"},
		{[]string{"cache"}, "cache: memcached stats on port 11212"},
		{[]string{"lb"}, "lb check: nginx -t"},
		{[]string{"worker"}, ""},
		{[]string{"worker", "web"}, "http http://127.0.0.1:8000/health/"},
	}
	for _, tc := range tests {
		if got := HealthCheckFor(f, inventory.Host{Name: "h", Roles: tc.roles}); got.Desc != tc.desc {
			t.Errorf("roles %v: check %q, want %q", tc.roles, got.Desc, tc.desc)
		}
	}
}

// TestHealthCheckForNamesTheSite: with the fleet's only app asking for
// its site by name (health.host, as a strict ALLOWED_HOSTS needs), the
// status panel's request sends it too, and asks the app's URL on web
// hosts whose role names none.
func TestHealthCheckForNamesTheSite(t *testing.T) {
	app := inventory.App{Name: "shop", Health: &inventory.HealthCheck{URL: "http://127.0.0.1:8000/up/", Host: "shop.example",
		Headers: map[string]string{"X-Forwarded-Proto": "https"}}}
	tests := []struct {
		name  string
		roles map[string]inventory.RoleSettings
		apps  []inventory.App
		desc  string
		has   []string
	}{
		{"role URL, the app's site", map[string]inventory.RoleSettings{"web": {HealthURL: "http://127.0.0.1:8000/health/"}}, []inventory.App{app},
			"http http://127.0.0.1:8000/health/ (Host: shop.example)", []string{`'Host: shop.example'`, `'X-Forwarded-Proto: https'`}},
		{"the app's URL", nil, []inventory.App{app}, "http http://127.0.0.1:8000/up/ (Host: shop.example)", []string{`-H 'Host: shop.example'`}},
		{"two apps: the role's URL bare", map[string]inventory.RoleSettings{"web": {HealthURL: "http://127.0.0.1:8000/health/"}},
			[]inventory.App{app, {Name: "blog"}}, "http http://127.0.0.1:8000/health/", nil},
		{"two apps, no URL: no check", nil, []inventory.App{app, {Name: "blog"}}, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &inventory.Fleet{Roles: tc.roles, Apps: tc.apps}
			got := HealthCheckFor(f, inventory.Host{Name: "h", Roles: []string{"web"}})
			if got.Desc != tc.desc {
				t.Errorf("check %q, want %q", got.Desc, tc.desc)
			}
			for _, w := range tc.has {
				if !strings.Contains(got.Command, w) {
					t.Errorf("command lacks %s:\n%s", w, got.Command)
				}
			}
			if len(tc.has) == 0 && strings.Contains(got.Command, "Host:") {
				t.Errorf("command sends a Host header:\n%s", got.Command)
			}
		})
	}
}

// TestProbeSendsTheSiteName: a site that answers 400 to any other Host
// (Django's DisallowedHost) is healthy to a probe that names it, on a real
// host with each of its HTTP clients.
func TestProbeSendsTheSiteName(t *testing.T) {
	t.Parallel()
	e, dirs := probeEnv(t, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "shop.example" || r.Header.Get("X-Forwarded-Proto") != "https" {
			http.Error(w, "Bad Request (400)", http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	p := NewProber(e.pool, ProbeOptions{Timeout: 10 * time.Second})
	named := HTTPCheck(srv.URL+"/", "Host: shop.example", "X-Forwarded-Proto: https")
	// The same request through python3 and wget: the clients a host without
	// curl falls back to.
	viaPython, viaWget := named, named
	viaPython.Command = strings.Replace(named.Command, "command -v curl", "command -v no-such-curl", 1)
	viaWget.Command = strings.Replace(viaPython.Command, "command -v python3", "command -v no-such-python3", 1)
	bareViaPython := HTTPCheck(srv.URL + "/")
	bareViaPython.Command = strings.Replace(bareViaPython.Command, "command -v curl", "command -v no-such-curl", 1)
	for _, tc := range []struct {
		name   string
		check  HealthCheck
		health HealthState
		client string
	}{
		{"bare", HTTPCheck(srv.URL + "/"), HealthFailed, "curl"},
		{"curl", named, HealthOK, "curl: HTTP 200"},
		{"python3", viaPython, HealthOK, "python3: HTTP 200"},
		{"python3 bare", bareViaPython, HealthFailed, "python3: HTTP 400"},
	} {
		got := p.Probe(t.Context(), ProbeRequest{Target: e.targets[0], DeployTo: dirs[0], Check: tc.check})
		if got.Health != tc.health || !strings.Contains(got.HealthDetail, tc.client) {
			t.Errorf("%s: health %s %q, want %s from %s", tc.name, got.Health, got.HealthDetail, tc.health, tc.client)
		}
	}
	if _, err := exec.LookPath("wget"); err == nil {
		got := p.Probe(t.Context(), ProbeRequest{Target: e.targets[0], DeployTo: dirs[0], Check: viaWget})
		if got.Health != HealthOK || !strings.Contains(got.HealthDetail, "wget") {
			t.Errorf("wget: health %s %q", got.Health, got.HealthDetail)
		}
	}
}

// probeEnv is a fleet, its pool and a deploy tree per host under a
// directory the hosts see (their temp directory is the test's).
func probeEnv(t *testing.T, n int) (*execEnv, []string) {
	t.Helper()
	e := newExecEnv(t, n)
	dirs := make([]string, n)
	for i := range dirs {
		dirs[i] = filepath.Join(t.TempDir(), "app")
	}
	return e, dirs
}

// makeRelease lays out deployTo/releases/id with a REVISION and points
// current at it, as a deploy does.
func makeRelease(t *testing.T, deployTo, id, commit string) {
	t.Helper()
	rel := filepath.Join(deployTo, "releases", id)
	if err := os.MkdirAll(rel, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rel, "REVISION"), []byte(commit+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("releases", id), filepath.Join(deployTo, "current")); err != nil {
		t.Fatal(err)
	}
}

func TestProbeReadsReleaseAndHealth(t *testing.T) {
	t.Parallel()
	e, dirs := probeEnv(t, 2)
	id := time.Now().UTC().Add(-2 * time.Hour).Format("20060102150405")
	makeRelease(t, dirs[0], id, "deadbeefcafe")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health/" {
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	p := NewProber(e.pool, ProbeOptions{Timeout: 5 * time.Second})
	got := p.ProbeAll(t.Context(), []ProbeRequest{
		{Target: e.targets[0], DeployTo: dirs[0], Check: HTTPCheck(srv.URL + "/health/")},
		{Target: e.targets[1], DeployTo: dirs[1], Check: HTTPCheck(srv.URL + "/missing/")},
	})
	a, b := got[0], got[1]
	t.Logf("probe: %+v", a)
	if !a.Reachable || a.Release != id || a.Commit != "deadbeefcafe" || a.Host != e.targets[0].Name {
		t.Fatalf("probe of a host with a release: %+v", a)
	}
	if a.ReleaseAge < 2*time.Hour-time.Minute || a.ReleaseAge > 2*time.Hour+time.Minute {
		t.Errorf("release age %v, want about 2h", a.ReleaseAge)
	}
	if a.RTT <= 0 || a.RTT > a.Took || a.Load1 == Unknown || a.MemUsedPct == Unknown || a.DiskUsedPct == Unknown {
		t.Errorf("figures: rtt %v took %v load %v mem %v disk %v", a.RTT, a.Took, a.Load1, a.MemUsedPct, a.DiskUsedPct)
	}
	if a.Health != HealthOK || !strings.Contains(a.HealthDetail, "HTTP 200") {
		t.Errorf("health %s %q", a.Health, a.HealthDetail)
	}
	if !b.Reachable || b.Release != "" || b.Health != HealthFailed {
		t.Errorf("probe of a host without a release and a failing check: %+v", b)
	}
}

func TestProbeKilledHostIsUnreachable(t *testing.T) {
	t.Parallel()
	e, dirs := probeEnv(t, 1)
	p := NewProber(e.pool, ProbeOptions{Timeout: 3 * time.Second})
	req := ProbeRequest{Target: e.targets[0], DeployTo: dirs[0]}
	if got := p.Probe(t.Context(), req); !got.Reachable {
		t.Fatalf("first probe: %+v", got)
	}
	e.fleet.Hosts[0].Kill()
	var got Probe
	for range 2 { // the first may still find the dying connection
		if got = p.Probe(t.Context(), req); got.Class == ClassUnreachable {
			break
		}
	}
	if got.Reachable || got.Class != ClassUnreachable || got.Err == nil {
		t.Errorf("probe of a killed host: class %q err %v", got.Class, got.Err)
	}
}

func TestProbeHungHostTimesOut(t *testing.T) {
	t.Parallel()
	e, _ := probeEnv(t, 2)
	p := NewProber(e.pool, ProbeOptions{Timeout: time.Second})
	reqs := []ProbeRequest{{Target: e.targets[0]}, {Target: e.targets[1]}}
	for _, got := range p.ProbeAll(t.Context(), reqs) {
		if !got.Reachable {
			t.Fatalf("first probe: %+v", got)
		}
	}
	hung := e.fleet.Hosts[1]
	hung.Stop()
	defer hung.Cont()
	start := time.Now()
	got := p.ProbeAll(t.Context(), reqs)
	took := time.Since(start)
	if took > 1500*time.Millisecond {
		t.Errorf("ProbeAll took %v with a hung host and a 1s timeout", took)
	}
	if !got[0].Reachable {
		t.Errorf("the healthy host: %+v", got[0])
	}
	if got[1].Reachable || got[1].Class != ClassTimeout {
		t.Errorf("the hung host: class %q err %v", got[1].Class, got[1].Err)
	}
	// The next probe fails the same way: at once when the first one is
	// still stuck in an SSH call, else at its timeout.
	start = time.Now()
	again := p.Probe(t.Context(), reqs[1])
	if again.Class != ClassTimeout || time.Since(start) > 1500*time.Millisecond {
		t.Errorf("second probe of the hung host: %+v after %v", again, time.Since(start))
	}
}

// countingConn records how many Client calls run at once, and fails them.
type countingConn struct {
	mu        sync.Mutex
	now, peak int
}

func (c *countingConn) Client(ctx context.Context, t Target) (*ssh.Client, error) {
	c.mu.Lock()
	c.now++
	c.peak = max(c.peak, c.now)
	c.mu.Unlock()
	time.Sleep(20 * time.Millisecond)
	c.mu.Lock()
	c.now--
	c.mu.Unlock()
	return nil, errors.New("connection refused")
}

func TestProbeAllCallsShareTheParallelLimit(t *testing.T) {
	conn := &countingConn{}
	p := NewProber(conn, ProbeOptions{Parallel: 3, Timeout: time.Second})
	var wg sync.WaitGroup
	for call := range 3 {
		var reqs []ProbeRequest
		for i := range 10 {
			reqs = append(reqs, ProbeRequest{Target: Target{Name: fmt.Sprintf("h%d-%d", call, i)}})
		}
		wg.Go(func() {
			for i, got := range p.ProbeAll(t.Context(), reqs) {
				if got.Host != reqs[i].Target.Name || got.Reachable || got.Err == nil {
					t.Errorf("probe %d: %+v", i, got)
				}
			}
		})
	}
	wg.Wait()
	if conn.peak > 3 || conn.peak < 2 {
		t.Errorf("%d probes at once with Parallel 3", conn.peak)
	}
}
