package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/opsui/opsui/internal/cachetest"
	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/store"
)

// flushPassword has quotes, a space and a $ so that any place it is put
// into a command unquoted would show.
const flushPassword = `s3cr3t 'pw' "$USER"`

// flushCLI is a test fleet of cache hosts, each with its own real server.
type flushCLI struct {
	fleet   *sshtest.Fleet
	db      string
	servers map[string]*cachetest.Server
}

// cacheHost is one host of a flushCLI fleet.
type cacheHost struct {
	name, kind string
	auth       bool              // the Redis server requires flushPassword
	opts       map[string]string // extra options of the host's cache settings
}

// newFlushCLI starts an sshd host and a server per cache host, plus a web
// host, and imports them into a fresh database (environment env, protected
// or not). HOME points at a directory whose known_hosts lists the hosts.
func newFlushCLI(t *testing.T, protected bool, hosts ...cacheHost) *flushCLI {
	t.Helper()
	cachetest.RequireMemcached(t)
	cachetest.RequireRedis(t)
	names := []string{"web1"}
	for _, h := range hosts {
		names = append(names, h.name)
	}
	fleet := sshtest.Start(t, len(names), sshtest.WithNames(names...))
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_DATA_HOME", filepath.Join(home, "data"))
	t.Setenv("SSH_AUTH_SOCK", "")
	t.Setenv("OPSUI_DB", "")
	t.Setenv("OPSUI_TEST_REDIS_PW", flushPassword)
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(fleet.KnownHostsPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "known_hosts"), b, 0o600); err != nil {
		t.Fatal(err)
	}

	fc := &flushCLI{fleet: fleet, servers: map[string]*cachetest.Server{}}
	var doc strings.Builder
	fmt.Fprintf(&doc, "environments:\n  - name: test\n    protected: %v\nroles:\n  cache:\n    service: memcached\nhosts:\n", protected)
	for _, name := range names {
		h := fleet.Host(name)
		fmt.Fprintf(&doc, "  - name: %s\n    address: %s\n    port: %d\n    user: %s\n    env: test\n    identity_file: %s\n",
			h.Name, h.Addr, h.Port, fleet.User, fleet.ClientKeyPath)
		i := slices.IndexFunc(hosts, func(c cacheHost) bool { return c.name == name })
		if i < 0 {
			doc.WriteString("    roles: [web]\n")
			continue
		}
		ch := hosts[i]
		var srv *cachetest.Server
		opts := map[string]string{"address": h.Addr}
		if ch.kind == "redis" {
			pass := ""
			if ch.auth {
				pass = flushPassword
				opts["password_env"] = "OPSUI_TEST_REDIS_PW"
			}
			srv = cachetest.StartRedis(t, h.Addr, pass)
			opts["kind"] = "redis"
		} else {
			srv = cachetest.StartMemcached(t, h.Addr)
		}
		opts["port"] = fmt.Sprint(srv.Port)
		for k, v := range ch.opts {
			opts[k] = v
		}
		fc.servers[name] = srv
		doc.WriteString("    roles: [cache]\n    settings:\n      cache:\n        options:\n")
		for _, k := range slices.Sorted(maps.Keys(opts)) {
			fmt.Fprintf(&doc, "          %s: %q\n", k, opts[k])
		}
	}
	file := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := os.WriteFile(file, []byte(doc.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	fc.db = filepath.Join(t.TempDir(), "opsui.db")
	mustRun(t, fc.db, "inventory", "import", file)
	return fc
}

// assertNoSecret fails when the password is anywhere in the database: in
// any column of any table (runs, run_hosts, run_output ...), or in the
// database's files, WAL included.
func (fc *flushCLI) assertNoSecret(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, fc.db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var tables []string
	if err := s.DB().SelectContext(ctx, &tables, `SELECT name FROM sqlite_master WHERE type = 'table'`); err != nil {
		t.Fatal(err)
	}
	scanned := 0
	for _, table := range tables {
		rows, err := s.DB().QueryxContext(ctx, fmt.Sprintf(`SELECT * FROM %q`, table))
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals, err := rows.SliceScan()
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				var text string
				switch x := v.(type) {
				case string:
					text = x
				case []byte:
					text = string(x)
				}
				if strings.Contains(text, "s3cr3t") {
					t.Errorf("table %s holds the password: %q", table, text)
				}
			}
			scanned++
		}
		rows.Close()
	}
	if scanned == 0 {
		t.Fatal("scanned no rows")
	}
	files, _ := filepath.Glob(fc.db + "*")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "s3cr3t") {
			t.Errorf("%s holds the password", f)
		}
	}
}

// flushTable returns the cells of the result table in out, header first.
func flushTable(t *testing.T, out string) [][]string {
	t.Helper()
	i := strings.Index(out, "\nHOST ")
	if i < 0 {
		t.Fatalf("no result table in:\n%s", out)
	}
	var rows [][]string
	for _, l := range strings.Split(out[i+1:], "\n") {
		if l == "" {
			break
		}
		rows = append(rows, regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(l), -1))
	}
	return rows
}

func TestFlushCLIRealServers(t *testing.T) {
	fc := newFlushCLI(t, false,
		cacheHost{name: "cache1", kind: "memcached"},
		cacheHost{name: "cache2", kind: "redis", auth: true},
		cacheHost{name: "cache3", kind: "redis", opts: map[string]string{"db": "1", "client": "python3"}})
	fc.servers["cache1"].Set(0, "a", "b", "c")
	fc.servers["cache2"].Set(0, "a", "b")
	fc.servers["cache2"].Set(5, "c")
	fc.servers["cache3"].Set(0, "kept")
	fc.servers["cache3"].Set(1, "x", "y", "z", "w")

	out, err := opsuiCmd(t, fc.db, "", "flush", "--yes")
	if err != nil {
		t.Fatalf("flush: %v\n%s", err, out)
	}
	for _, want := range []string{
		"flushing 3 caches of test:",
		"cache2  redis " + fc.servers["cache2"].Address() + "  (password from $OPSUI_TEST_REDIS_PW)",
		"cache1 | ## flush",
		"cache3 | db1:keys=4,",
		"3 ok",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	rows := flushTable(t, out)
	for i, want := range [][]string{
		{"HOST", "CACHE", "KEYS BEFORE → AFTER", "RESULT"},
		{"cache1", "memcached " + fc.servers["cache1"].Address(), "3 → 0", "ok"},
		{"cache2", "redis " + fc.servers["cache2"].Address(), "3 → 0", "ok"},
		{"cache3", "redis " + fc.servers["cache3"].Address() + " db 1", "4 → 0", "ok"},
	} {
		if i >= len(rows) || !slices.Equal(rows[i], want) {
			t.Errorf("table row %d = %q, want %q\n%s", i, rows[min(i, len(rows)-1)], want, out)
		}
	}
	if strings.Contains(out, "web1") {
		t.Errorf("the web host was flushed:\n%s", out)
	}
	if strings.Contains(out, "s3cr3t") {
		t.Errorf("the output shows the password:\n%s", out)
	}
	if left := fc.servers["cache1"].Has(0, "a", "b", "c"); len(left) > 0 {
		t.Errorf("memcached still holds %v", left)
	}
	if n := fc.servers["cache2"].DBSize(0) + fc.servers["cache2"].DBSize(5); n != 0 {
		t.Errorf("redis cache2 still holds %d keys", n)
	}
	if n0, n1 := fc.servers["cache3"].DBSize(0), fc.servers["cache3"].DBSize(1); n0 != 1 || n1 != 0 {
		t.Errorf("redis cache3: db0 %d keys (want 1), db1 %d (want 0)", n0, n1)
	}

	// Recorded as a flush run, with each host's output.
	s, err := store.Open(context.Background(), fc.db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runs, err := s.ListRuns(context.Background(), store.RunFilter{Kind: store.KindFlush})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Result != store.RunOK || runs[0].Env != "test" || !strings.Contains(runs[0].Command, "cache3: redis") {
		t.Fatalf("recorded runs = %+v", runs)
	}
	hosts, _ := s.RunHosts(context.Background(), runs[0].ID)
	if len(hosts) != 3 {
		t.Fatalf("run hosts = %+v", hosts)
	}
	for _, h := range hosts {
		chunks, _ := s.Output(context.Background(), h.ID)
		var got strings.Builder
		for _, c := range chunks {
			got.Write(c.Data)
		}
		if h.Status != store.HostOK || !strings.Contains(got.String(), "## after") {
			t.Errorf("host %s: status %s, output %q", h.Host, h.Status, got.String())
		}
	}
	s.Close()
	fc.assertNoSecret(t)
}

func TestFlushCLIServerDown(t *testing.T) {
	fc := newFlushCLI(t, false,
		cacheHost{name: "cache1", kind: "memcached"},
		cacheHost{name: "cache2", kind: "redis", auth: true})
	fc.servers["cache1"].Set(0, "a")
	fc.servers["cache2"].Stop()

	out, err := opsuiCmd(t, fc.db, "", "flush", "--env", "test", "--yes")
	var hf hostsFailedError
	if !errors.As(err, &hf) || exitCode(err) != 1 {
		t.Fatalf("err = %v, want hosts failed\n%s", err, out)
	}
	refused := "cannot connect to redis at " + fc.servers["cache2"].Address() + ": Connection refused"
	rows := flushTable(t, out)
	// Failures first.
	if len(rows) != 3 || !slices.Equal(rows[1], []string{"cache2", "redis " + fc.servers["cache2"].Address(), "? → ?", "failed: " + refused}) ||
		!slices.Equal(rows[2], []string{"cache1", "memcached " + fc.servers["cache1"].Address(), "1 → 0", "ok"}) {
		t.Errorf("table = %q\n%s", rows, out)
	}
	if !strings.Contains(out, "1 failed (1 command-failed), 1 ok") {
		t.Errorf("summary:\n%s", out)
	}
	if strings.Contains(out, "s3cr3t") {
		t.Errorf("the output shows the password:\n%s", out)
	}
	fc.assertNoSecret(t)
}

func TestFlushCLIConfirmation(t *testing.T) {
	fc := newFlushCLI(t, true, cacheHost{name: "cache1", kind: "memcached"})
	fc.servers["cache1"].Set(0, "a")
	// No terminal and no --yes: a protected environment is refused.
	out, err := opsuiCmd(t, fc.db, "test\n", "flush")
	if err == nil || !strings.Contains(err.Error(), "test is protected: confirm on a terminal or pass --yes") || exitCode(err) != 2 {
		t.Fatalf("err = %v\n%s", err, out)
	}
	if got := fc.servers["cache1"].Has(0, "a"); len(got) != 1 {
		t.Errorf("the cache was flushed without confirmation")
	}
	s, err := store.Open(context.Background(), fc.db)
	if err != nil {
		t.Fatal(err)
	}
	runs, _ := s.ListRuns(context.Background(), store.RunFilter{Kind: store.KindFlush})
	s.Close()
	if len(runs) != 0 {
		t.Errorf("a refused flush was recorded: %+v", runs)
	}
	if out, err := opsuiCmd(t, fc.db, "", "flush", "--yes"); err != nil || !strings.Contains(out, "1 → 0") {
		t.Errorf("flush --yes of a protected environment: %v\n%s", err, out)
	}
}

func TestFlushCLISelection(t *testing.T) {
	fc := newFlushCLI(t, false, cacheHost{name: "cache1", kind: "memcached"})
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"flush", "--host", "web1", "--yes"}, "host web1 has no role cache (its roles: web)"},
		{[]string{"flush", "--host", "cache9", "--yes"}, `unknown host "cache9" (did you mean "cache1"?)`},
		{[]string{"flush", "--env", "prod", "--yes"}, `unknown environment "prod"`},
		{[]string{"flush", "--role", "db", "--yes"}, "no host of test has the role db"},
	}
	for _, tt := range tests {
		out, err := opsuiCmd(t, fc.db, "", tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("opsui %s: err = %v, want %q\n%s", strings.Join(tt.args, " "), err, tt.want, out)
		}
	}
}
