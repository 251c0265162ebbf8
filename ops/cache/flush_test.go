package cache

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/cachetest"
	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
)

// flushEnv is a fleet of real sshd hosts with a pool and a target per host.
type flushEnv struct {
	fleet   *sshtest.Fleet
	pool    *remote.Pool
	targets map[string]remote.Target
}

func newFlushEnv(t *testing.T, names ...string) *flushEnv {
	t.Helper()
	f := sshtest.Start(t, len(names), sshtest.WithNames(names...))
	p := remote.NewPool(remote.Options{KnownHostsFiles: []string{f.KnownHostsPath}, DialTimeout: 10 * time.Second, KeepAlive: -1})
	t.Cleanup(func() { p.Close() })
	e := &flushEnv{fleet: f, pool: p, targets: map[string]remote.Target{}}
	for _, h := range f.Hosts {
		e.targets[h.Name] = remote.Target{Name: h.Name, Addr: h.Address(), User: f.User, IdentityFiles: []string{f.ClientKeyPath}}
	}
	return e
}

// events collects a run's events, safe for concurrent use.
type events struct {
	mu  sync.Mutex
	all []remote.Event
}

func (e *events) emit(ev remote.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
}

func (e *events) text(host string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	for _, ev := range e.all {
		if ev.Host == host && (ev.Kind == remote.EventStdout || ev.Kind == remote.EventStderr) {
			b.WriteString(ev.Line + "\n")
		}
	}
	return b.String()
}

// TestFlushRealServers flushes real memcached and Redis servers through
// real sshd hosts, with every client the built-in commands know, a
// password on standard input, one Redis database, a custom command, and
// servers that are down or refuse the password.
func TestFlushRealServers(t *testing.T) {
	cachetest.RequireMemcached(t)
	cachetest.RequireRedis(t)
	const password = "pa ss'w\"rd $HOME;x" // quotes, spaces and a $ travel intact
	type setup struct {
		host string
		kind string // memcached or redis
		pass string // requirepass of the server
		opts map[string]string
		keys map[int][]string // keys put in, by Redis database (0 for memcached)
		down bool             // the server is stopped before the flush
		// want
		before, after int64
		errWant       string
		survive       map[int][]string // keys that must remain, by database
	}
	five := []string{"k1", "k2", "k3", "k4", "k5"}
	setups := []setup{
		{host: "mc-nc", kind: "memcached", opts: map[string]string{"client": "nc"}, keys: map[int][]string{0: five}, before: 5, after: 0},
		{host: "mc-py", kind: "memcached", opts: map[string]string{"client": "python3"}, keys: map[int][]string{0: five[:3]}, before: 3, after: 0},
		{host: "rd-cli", kind: "redis", opts: map[string]string{"client": "redis-cli"}, keys: map[int][]string{0: five[:3], 3: five[3:]}, before: 5, after: 0},
		{host: "rd-py-db", kind: "redis", pass: password, opts: map[string]string{"client": "python3", "db": "1", "password_env": "TEST_REDIS_PW"},
			keys: map[int][]string{0: {"keep"}, 1: five[:3]}, before: 3, after: 0, survive: map[int][]string{0: {"keep"}}},
		{host: "rd-cli-auth", kind: "redis", pass: password, opts: map[string]string{"password_env": "TEST_REDIS_PW"},
			keys: map[int][]string{0: five[:2], 2: five[2:3]}, before: 3, after: 0},
		{host: "rd-cli-db", kind: "redis", opts: map[string]string{"db": "2"},
			keys: map[int][]string{0: {"keep"}, 2: five[:4]}, before: 4, after: 0, survive: map[int][]string{0: {"keep"}}},
		{host: "mc-down", kind: "memcached", down: true, before: Unknown, after: Unknown, errWant: "cannot connect to memcached at %s: Connection refused"},
		{host: "rd-down", kind: "redis", opts: map[string]string{"client": "python3"}, down: true, before: Unknown, after: Unknown, errWant: "cannot connect to redis at %s: Connection refused"},
		{host: "rd-wrongpw", kind: "redis", pass: "other", opts: map[string]string{"password_env": "TEST_REDIS_PW"}, keys: map[int][]string{0: {"stay"}},
			before: Unknown, after: Unknown, errWant: "redis at %s refused INFO keyspace: ", survive: map[int][]string{0: {"stay"}}},
		{host: "custom", kind: "redis", opts: map[string]string{"flush": `echo '## before'; echo 7; echo '## flush'; echo OK; echo '## after'; echo 0`},
			before: 7, after: 0},
	}
	var names []string
	for _, s := range setups {
		names = append(names, s.host)
	}
	e := newFlushEnv(t, names...)

	fleet := &inventory.Fleet{Roles: map[string]inventory.RoleSettings{"cache": {Service: "memcached"}}}
	servers := map[string]*cachetest.Server{}
	for _, s := range setups {
		h := e.fleet.Host(s.host)
		var srv *cachetest.Server
		if s.kind == "memcached" {
			srv = cachetest.StartMemcached(t, h.Addr)
		} else {
			srv = cachetest.StartRedis(t, h.Addr, s.pass)
		}
		servers[s.host] = srv
		for db, keys := range s.keys {
			srv.Set(db, keys...)
		}
		if s.down {
			srv.Stop()
		}
		opts := map[string]string{"kind": s.kind, "address": h.Addr, "port": fmt.Sprint(srv.Port)}
		for k, v := range s.opts {
			opts[k] = v
		}
		fleet.Hosts = append(fleet.Hosts, inventory.Host{Name: s.host, Address: h.Addr, Roles: []string{"cache"},
			Settings: map[string]inventory.RoleSettings{"cache": {Options: opts}}})
	}
	specs, err := Plan(fleet, fleet.Hosts, "cache", env(map[string]string{"TEST_REDIS_PW": password}))
	if err != nil {
		t.Fatal(err)
	}
	var targets []remote.Target
	for _, n := range names {
		targets = append(targets, e.targets[n])
	}
	var evs events
	rep, err := Flush(context.Background(), e.pool, targets, specs, remote.RunOptions{Timeout: 60 * time.Second}, evs.emit)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Hosts) != len(setups) {
		t.Fatalf("%d results for %d hosts", len(rep.Hosts), len(setups))
	}
	for i, s := range setups {
		r, srv := rep.Hosts[i], servers[s.host]
		out := evs.text(s.host)
		t.Logf("%s: %s, keys %s, err %v\n%s", s.host, r.Server, r.Keys(), r.Err, out)
		if strings.Contains(out, password) {
			t.Errorf("%s: the output shows the password:\n%s", s.host, out)
		}
		if r.Host != s.host || r.Before != s.before || r.After != s.after {
			t.Errorf("%s: result %s keys %s, want %d → %d (err %v)\n%s", s.host, r.Host, r.Keys(), s.before, s.after, r.Err, out)
		}
		if s.errWant != "" {
			want := s.errWant
			if strings.Contains(want, "%s") {
				want = fmt.Sprintf(want, srv.Address())
			}
			if r.OK() || r.Err == nil || !strings.Contains(r.Err.Error(), want) {
				t.Errorf("%s: status %s, err %v; want an error with %q\n%s", s.host, r.Status, r.Err, want, out)
			}
			if r.Err != nil && strings.Contains(r.Err.Error(), password) {
				t.Errorf("%s: the error shows the password: %v", s.host, r.Err)
			}
		} else if !r.OK() {
			t.Errorf("%s: failed: %v\n%s", s.host, r.Err, out)
		}
		if s.down || s.opts["flush"] != "" {
			continue
		}
		for db, keys := range s.keys {
			left := srv.Has(db, keys...)
			want := s.survive[db]
			if s.errWant != "" {
				want = keys
			}
			if !slices.Equal(left, want) {
				t.Errorf("%s: db %d holds %v after the flush, want %v", s.host, db, left, want)
			}
		}
		if s.kind == "redis" && s.errWant == "" && len(s.survive) == 0 {
			for db := range s.keys {
				if n := srv.DBSize(db); n != 0 {
					t.Errorf("%s: db %d still has %d keys", s.host, db, n)
				}
			}
		}
	}
	if rep.Run.OK != len(setups)-3 || rep.Run.Failed != 3 {
		t.Errorf("run: %s", rep.Run.Summary())
	}
	if got := len(rep.Failed()); got != 3 {
		t.Errorf("Failed() = %d hosts, want 3", got)
	}
}

// TestFlushMissingClient: a host without the client it is told to use
// fails with a message that says so.
func TestFlushMissingClient(t *testing.T) {
	e := newFlushEnv(t, "c1")
	specs := []Spec{{Host: "c1", Kind: Memcached, Address: "127.0.0.1", Port: 1, DB: AllDBs, Client: ClientNC}}
	// A PATH without nc (printf and echo are shell builtins).
	opts := remote.RunOptions{Env: map[string]string{"PATH": "/nonexistent"}}
	rep, err := Flush(context.Background(), e.pool, []remote.Target{e.targets["c1"]}, specs, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Hosts[0]
	if r.OK() || r.Err == nil || r.Err.Error() != "this host has no nc to reach memcached at 127.0.0.1:1: install one or set options.flush" {
		t.Errorf("status %s, err %v", r.Status, r.Err)
	}
}
