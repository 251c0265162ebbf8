// Package pgtest runs a real PostgreSQL server for tests: Debian's
// postgresql package, initdb + pg_ctl as the postgres user (PostgreSQL
// refuses to run as root) in a temporary directory it owns, on a free
// loopback port with its socket in that directory. One server per test
// binary, started on first use and stopped by [Main] (or, without it, by a
// watchdog once the test binary has exited); each test gets a
// database of its own ([New]). Without PostgreSQL the test is skipped, or
// fails under OPSUI_TEST_REQUIRE_SSHD=1 (internal/testenv).
//
// The server takes passwords (scram-sha-256) over TCP, serves TLS with a
// self-signed certificate, and refuses the role [TLSOnlyRole] without TLS,
// so tests can meet each way a connection fails.
package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/opsui/opsui/internal/testenv"
)

// Password is the superuser's password on the test server (tests only).
const Password = "opsui-test"

// TLSOnlyRole is a role the server refuses unless the connection uses TLS.
const TLSOnlyRole = "tlsonly"

const install = "postgresql"

// Server is a PostgreSQL server started for the tests.
type Server struct {
	Port   int
	Dir    string // the temporary directory: data/, sock/, log
	bin    string // the directory of initdb, pg_ctl and postgres
	asUser bool   // run the programs as the postgres user (we are root)
	admin  *sql.DB
	n      atomic.Int64
}

// The binary's one server: a test binary is one process, and starting a
// server costs about a second, so its tests share it.
var shared struct {
	once sync.Once
	srv  *Server
	err  error
	skip string
}

// Main runs the tests and then stops the server if one was started; call it
// from TestMain: os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if shared.srv != nil {
		shared.srv.stop()
	}
	return code
}

// Shared returns the binary's server, starting it on first use.
func Shared(t testing.TB) *Server {
	t.Helper()
	shared.once.Do(func() {
		bin, why := findBin()
		if why != "" {
			shared.skip = why
			return
		}
		shared.srv, shared.err = start(bin)
	})
	if shared.skip != "" {
		testenv.Missing(t, shared.skip, install)
	}
	if shared.err != nil {
		t.Fatalf("start PostgreSQL: %v", shared.err)
	}
	return shared.srv
}

// New returns the URL of a new, empty database on the shared server (as
// its superuser), dropped when the test ends.
func New(t testing.TB) string {
	t.Helper()
	return Shared(t).NewDatabase(t)
}

var unsafeName = regexp.MustCompile(`[^a-z0-9_]+`)

// NewDatabase creates a database named after the test and returns its URL.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := unsafeName.ReplaceAllString(strings.ToLower(t.Name()), "_")
	name = fmt.Sprintf("t%d_%s", s.n.Add(1), name)
	if len(name) > 60 {
		name = name[:60]
	}
	s.Exec(t, `CREATE DATABASE "`+name+`"`)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := s.admin.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return s.URL("postgres", Password, name)
}

// URL is the address of database on the server as user with password
// over TCP, without TLS.
func (s *Server) URL(user, password, database string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Host: "127.0.0.1:" + strconv.Itoa(s.Port),
		Path: "/" + database, RawQuery: "sslmode=disable"}
	return u.String()
}

// Exec runs statements as the superuser in the database "postgres".
func (s *Server) Exec(t testing.TB, query string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.admin.ExecContext(ctx, query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// findBin finds Debian's PostgreSQL programs (the newest version), else
// the ones on PATH; it says what is missing when it cannot run them.
func findBin() (string, string) {
	var bin string
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			bin = d
			break
		}
	}
	if bin == "" {
		p, err := exec.LookPath("initdb")
		if err != nil {
			return "", "PostgreSQL (initdb, pg_ctl) is not installed"
		}
		bin = filepath.Dir(p)
	}
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("runuser"); err != nil {
			return "", "runuser is not installed (PostgreSQL must run as the user postgres)"
		}
		if _, err := user.Lookup("postgres"); err != nil {
			return "", "there is no user postgres to run PostgreSQL as"
		}
	}
	return bin, ""
}

func pgMajor(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// run runs one of the server's programs, as postgres when we are root.
func (s *Server) run(name string, args ...string) error {
	prog := filepath.Join(s.bin, name)
	cmd := exec.Command(prog, args...)
	if s.asUser {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", prog}, args...)...)
	}
	cmd.Dir = s.Dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// start makes a cluster in a new directory and starts it on a free port.
func start(bin string) (*Server, error) {
	dir, err := os.MkdirTemp("", "opsui-pgtest-")
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, bin: bin, asUser: os.Geteuid() == 0}
	if err := s.setup(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		if s.Port, err = testenv.FreePort("127.0.0.1"); err != nil {
			return nil, err
		}
		if err = s.Start(); err == nil {
			break
		}
		if attempt == 2 { // another process took the port each time, or the server cannot start
			os.RemoveAll(dir)
			return nil, err
		}
	}
	s.watchdog()
	if s.admin, err = sql.Open("pgx", s.URL("postgres", Password, "postgres")); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// setup runs initdb and writes the server's TLS key and pg_hba.conf.
func (s *Server) setup() error {
	for _, d := range []string{"sock"} {
		if err := os.Mkdir(filepath.Join(s.Dir, d), 0o700); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "pw"), []byte(Password+"\n"), 0o600); err != nil {
		return err
	}
	if s.asUser {
		if err := chownTree(s.Dir, "postgres"); err != nil {
			return err
		}
	}
	if err := s.run("initdb", "-D", "data", "-U", "postgres", "--pwfile=pw", "-A", "scram-sha-256",
		"--auth-local=trust", "-E", "UTF8", "--no-locale", "--no-sync"); err != nil {
		return err
	}
	data := filepath.Join(s.Dir, "data")
	if err := writeCert(data); err != nil {
		return err
	}
	hba := "local all all trust\n" +
		"hostnossl all " + TLSOnlyRole + " 127.0.0.1/32 reject\n" +
		"host all all 127.0.0.1/32 scram-sha-256\n"
	if err := os.WriteFile(filepath.Join(data, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		return err
	}
	if s.asUser {
		return chownTree(data, "postgres")
	}
	return nil
}

// Start starts the server and waits until it accepts connections.
func (s *Server) Start() error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "+
		"-c full_page_writes=off -c max_connections=200 -c ssl=on", s.Port, filepath.Join(s.Dir, "sock"))
	return s.run("pg_ctl", "-D", "data", "-l", "log", "-w", "-t", "60", "-o", opts, "start")
}

func (s *Server) stop() {
	if s.admin != nil {
		s.admin.Close()
	}
	_ = s.run("pg_ctl", "-D", "data", "-m", "immediate", "-w", "stop")
	os.RemoveAll(s.Dir)
}

// watchdog stops the server and removes its directory once this process
// is gone, however it ended (a test binary without Main, a timeout, a
// crash): a shell in its own process group, its output discarded so `go
// test` does not wait for it.
func (s *Server) watchdog() {
	stop := fmt.Sprintf("%s -D %s/data -m immediate -w stop", filepath.Join(s.bin, "pg_ctl"), s.Dir)
	if s.asUser {
		stop = "runuser -u postgres -- " + stop
	}
	script := fmt.Sprintf("while kill -0 %d 2>/dev/null; do sleep 1; done; %s >/dev/null 2>&1; rm -rf %s", os.Getpid(), stop, s.Dir)
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err == nil {
		go cmd.Wait() //nolint:errcheck // reaps it if this process outlives it
	}
}

func chownTree(dir, name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}
